// The miner's public types, and the records its steps pass to one another.
import type { Hotkey } from '../crypto/sr25519.js'
import type { OnTransferProgress } from '../hub/transferProgress.js'
import type { ProtocolProfile } from '../protocol/profiles.js'
import type { RewardEnvironment } from '../reward/environment.js'
import type { CheatKind } from './cheat.js'
import type { PromptPicker } from './promptPicker.js'
import type { SubmissionRollout } from './submission.js'

/** How a miner behaves: `honest` mines by the protocol; `cheat` is the demo's adversary (see {@link CheatKind}). */
export type MinerStrategy = 'honest' | 'cheat'

/** What a group was: an honest one, or one of the cheating behaviours. */
export type MinerGroupKind = 'honest' | CheatKind

/** Where a miner downloads announced checkpoints from, and what they must match. */
export type MinerHubOptions = {
  /** Hub base URL. @default HUB_DEFAULTS.hubUrl (the public Hugging Face Hub) */
  hubUrl?: string | undefined
  /** Where verified snapshots are kept (`{cacheDir}/{namespace}/{name}/{revision}`). */
  cacheDir: string
  /** The base model every custody link must name, pinned out of band (`downloadCheckpoint`'s `expected.baseModel`). */
  baseModel: { readonly id: string; readonly revision: string }
  /** When set, every custody link must carry this profile id. */
  profileId?: string | undefined
  /** Read token for a private repo (`hf_…`). */
  accessToken?: string | undefined
  /** Refuse a Hub that does not serve commit titles. @default false */
  requireCommitTitle?: boolean | undefined
  /** Download progress of each checkpoint (`downloadCheckpoint`'s `onProgress`). */
  onProgress?: OnTransferProgress | undefined
}

/** One structured log line of a miner. */
export type MinerLogEntry = {
  readonly level: 'debug' | 'info' | 'warn'
  /** Machine-readable event name (`state_wait`, `checkpoint_loaded`, `group_submitted`, …). */
  readonly event: string
  readonly message: string
  readonly data?: Readonly<Record<string, unknown>> | undefined
}

/** Parameters of {@link createMiner}. */
export type CreateMinerParameters = {
  /** Validator base URL, e.g. `http://1.2.3.4:8888`. */
  validatorUrl: string
  /** The miner hotkey: signs commits and envelopes. */
  hotkey: Hotkey
  /** The bootstrap checkpoint directory (weights, config, tokenizer), used while `/state.checkpoint_n` is 0. */
  modelDir: string
  /** The task source; the validator must run the same one. */
  environment: RewardEnvironment
  /** Chooses the prompts; receives each group's rewards once its outcome is final. */
  picker: PromptPicker
  /** E3-ordered profile (drand round ordering, envelope signatures). @default DEFAULT_PROFILE */
  profile?: ProtocolProfile | undefined
  /** Current unix time in seconds (injected clock): the drand round of each envelope. */
  now: () => number
  /** drand chain timing, as the validator uses it. */
  drand: { readonly genesisTime: number; readonly periodSeconds: number }
  /** The validator hotkey (SS58 or public key) that must have signed announced checkpoints. */
  validatorHotkey: string | Uint8Array
  /** Hub access for announced checkpoints. Without it, a validator announcing checkpoint ≥ 1 makes `runWindow` throw. */
  hub?: MinerHubOptions | undefined
  /** Groups attempted per `runWindow` (also bounded by the per-hotkey quota left in the window). */
  groupsPerWindow: number
  /** Seed of the sampling seeds (per window, prompt, group and rollout). */
  seed: number
  /** @default 'honest' */
  strategy?: MinerStrategy | undefined
  /**
   * Skip groups whose (real) rewards are out of the zone instead of submitting them: the
   * validator would answer `out_of_zone`, and each submission costs quota. @default true
   */
  skipOutOfZone?: boolean | undefined
  /**
   * A rollout identical to an earlier one of its group would get the whole group rejected
   * (`hash_duplicate`, docs/protocol.md §4.3 worker step 7); small or collapsed models repeat
   * themselves often. Such a rollout is resampled with a fresh seed up to this many times; if it
   * still repeats, the group is not submitted (`skipped: 'duplicate_rollouts'`). 0 never
   * resamples. Resampling only on exact repeats leaves every other rollout as sampled.
   * @default 4
   */
  duplicateResamples?: number | undefined
  /** `fetch` for the validator and the Hub (a proxy, a test double). @default globalThis.fetch */
  fetch?: typeof fetch | undefined
  /** Receives structured log entries. Never called with secrets. */
  log?: ((entry: MinerLogEntry) => void) | undefined
  /** Delay between `/state` and `/verdicts` polls. @default 1000 */
  pollIntervalMs?: number | undefined
  /** How long `runWindow` waits for the worker verdicts of its submissions. @default 60000 */
  verdictTimeoutMs?: number | undefined
  /**
   * With less than this left in the current drand round, wait for the next round before signing:
   * the validator stamps the round at arrival with tolerance 0. @default 0.25
   */
  roundMarginSeconds?: number | undefined
}

/** One group of a window, as the miner saw it. */
export type MinerGroupReport = {
  readonly promptIdx: number
  readonly kind: MinerGroupKind
  /** The window the group's rollouts were generated and proven in (earlier than the report's window for a replay). */
  readonly provenInWindow: number
  /** The real rewards (`environment.computeReward` on the decoded completions). */
  readonly rewards: readonly number[]
  /** The rewards sent (differ from `rewards` only for `lie_reward`). */
  readonly claimedRewards: readonly number[]
  /** Population σ of the claimed rewards. */
  readonly sigma: number
  /** Why the group was not submitted, or null. */
  readonly skipped: 'out_of_zone' | 'duplicate_rollouts' | 'given_up' | 'prompt_too_long' | null
  readonly merkleRoot: string | null
  readonly drandRound: number | null
  /** The `/submit` answer: HTTP status and `{accepted, reason}` (or the reason the status maps to). */
  readonly response: {
    readonly httpStatus: number
    readonly accepted: boolean
    readonly reason: string
  } | null
  /** `accepted` / `rejected` once final, `pending` while the worker verdict is outstanding, `skipped`. */
  readonly outcome: 'accepted' | 'rejected' | 'pending' | 'skipped'
  /** The final reason (`accepted`, a reject reason, `http_<status>` for an unexpected status), or null. */
  readonly reason: string | null
}

/** Counts of one window (or of every window, in {@link MinerStats.total}). */
export type MinerWindowStats = {
  /** The window number (−1 in totals). */
  readonly windowN: number
  /** Groups posted to `/submit`. */
  readonly submitted: number
  /** Groups with a final `accepted` verdict. */
  readonly accepted: number
  /** Groups with a final reject, by reason. */
  readonly rejected: Readonly<Record<string, number>>
  /** Groups generated but not submitted (local zone filter, unresolved duplicate rollouts, prompt too long). */
  readonly skipped: number
  /** Submitted groups whose worker verdict has not been seen yet. */
  readonly pending: number
  /** accepted / (accepted + rejected); null before any final verdict. */
  readonly acceptanceRate: number | null
}

/** The miner's counters. */
export type MinerStats = {
  /** Per window, ascending. */
  readonly windows: readonly MinerWindowStats[]
  readonly total: MinerWindowStats
}

/** What one {@link Miner.runWindow} did. */
export type MinerWindowReport = {
  readonly windowN: number
  readonly randomness: string
  /** The checkpoint mined with: number, the wire `checkpoint_hash`, its directory, and whether this run downloaded it. */
  readonly checkpoint: {
    readonly n: number
    readonly hash: string
    readonly dir: string
    readonly downloaded: boolean
  }
  readonly groups: readonly MinerGroupReport[]
  /** This window's counters after the run (including groups of earlier runs in the same window). */
  readonly stats: MinerWindowStats
}

/** A running miner (see {@link createMiner}). */
export type Miner = {
  /**
   * Mines the validator's open window once: waits for `/state` to be `open` with randomness (and
   * with quota left for this hotkey), syncs the checkpoint, generates, proves and submits up to
   * `groupsPerWindow` groups, then collects their verdicts. Calls run one after another.
   * @param signal - Aborts waiting, generation and requests; the promise rejects with its reason.
   */
  runWindow(signal?: AbortSignal): Promise<MinerWindowReport>
  /** Counters per window and in total. */
  stats(): MinerStats
  /** Frees the model once the running window (if any) ends; later `runWindow` calls reject. */
  dispose(): void
}

/** Why a generated group was not submitted. @internal */
export type SkipReason = 'out_of_zone' | 'duplicate_rollouts' | 'given_up' | 'prompt_too_long'

/** The miner's mutable record of one group, frozen into a {@link MinerGroupReport}. @internal */
export type GroupRecord = {
  promptIdx: number
  kind: MinerGroupKind
  provenInWindow: number
  rewards: number[]
  claimedRewards: number[]
  sigma: number
  skipped: SkipReason | null
  merkleRoot: string | null
  drandRound: number | null
  windowN: number
  response: { httpStatus: number; accepted: boolean; reason: string } | null
  outcome: 'accepted' | 'rejected' | 'pending' | 'skipped'
  reason: string | null
  /** Whether the picker has been told about this group. */
  observed: boolean
  /** Whether the picker picked this prompt for this group (replays are not picked). */
  picked: boolean
}

/** Honest, signed, proven material of one group, kept by the cheater for later replay. @internal */
export type ReplayMaterial = {
  windowN: number
  promptIdx: number
  rewards: number[]
  rollouts: SubmissionRollout[]
}

/**
 * A generated group; `duplicate` when a rollout kept repeating an earlier one (then `tokens`
 * stops short of M). @internal
 */
export type GeneratedGroup = {
  promptTokens: number[]
  tokens: number[][]
  rewards: number[]
  duplicate: boolean
  /** The picker gave the group up before it was finished (`PromptPicker.keepGenerating`). */
  givenUp?: boolean | undefined
}
