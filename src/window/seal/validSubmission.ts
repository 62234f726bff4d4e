import type { RejectReason } from '../../protocol/profiles.js'

/** One rollout of a valid submission, as received. */
export type ValidRollout = {
  readonly tokens: readonly number[]
  readonly reward: number
  readonly commit: Readonly<Record<string, unknown>>
}

/**
 * A submission that passed every admission check (the reference's `ValidSubmission`). Field
 * names follow the SDK; `buildWindowArchive` writes the reference's names.
 */
export type ValidSubmission = {
  readonly hotkey: string
  readonly promptIdx: number
  /** 64-hex merkle root as sent. */
  readonly merkleRoot: string
  /** E3: the miner-attached drand round. */
  readonly drandRound?: number | undefined
  /** E1: the miner-claimed signed round. */
  readonly signedRound?: number | undefined
  /** Population σ of the claimed rewards. */
  readonly sigma: number
  readonly rollouts: readonly ValidRollout[]
  /** `decode(tokens[prompt_length:])` of each rollout (the reward input). */
  readonly completionTexts: readonly string[]
  /** E3 per-rollout hashes, hex SHA-256 over the BE32 ids of `commit.tokens`. */
  readonly rolloutHashes: readonly string[]
  /** The `checkpoint_hash` the miner claimed. */
  readonly claimedCheckpointHash: string
  /** When the request reached the handler (unix seconds), if known. */
  readonly arrivalSeconds: number | undefined
  /** When the worker accepted it (unix seconds), if known. */
  readonly acceptedAtSeconds: number | undefined
  /** Worst-case GRAIL sketch diff over the rollouts, when the verifier reported one. */
  readonly sketchDiffMax: number | null
  /** Worst-case logprob median deviation, when reported. */
  readonly lpDevMax: number | null
  /** Smallest distribution q10, when reported. */
  readonly distQ10Min: number | null
}

/** A worker-stage reject kept for the archive (`RejectedSubmission`). */
export type RejectedSubmission = {
  readonly hotkey: string
  readonly promptIdx: number
  readonly reason: RejectReason
  /** Never surfaced for `grail_fail` (anti-tuning, as the reference). */
  readonly sketchDiffMax: number | null
  readonly lpDevMax: number | null
  readonly distQ10Min: number | null
}
