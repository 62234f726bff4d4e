import { randomBytes } from 'node:crypto'
import { signEnvelope } from '../crypto/envelope.js'
import { rolloutsMerkleRoot } from '../crypto/merkle.js'
import type { Hotkey } from '../crypto/sr25519.js'
import { invalidArgument } from '../errors/base.js'
import type { SubmitRequest } from '../protocol/schemas.js'
import { toHex } from '../_utils/bytes.js'

/** One rollout of a `/submit` request: the full token list, the claimed reward and its commit. */
export type SubmissionRollout = {
  /** Prompt followed by completion (the reference sends `commit.tokens` here too). */
  readonly tokens: readonly number[]
  /** The claimed reward (what the validator recomputes). */
  readonly reward: number
  /** The signed commit object (for example from `proveWithModel`). */
  readonly commit: Readonly<Record<string, unknown>>
}

/** Parameters of {@link buildSubmitRequest}. */
export type BuildSubmitRequestParameters = {
  /** The miner hotkey: `miner_hotkey` and the envelope signer. */
  hotkey: Hotkey
  /** `/state.window_n`. */
  windowStart: number
  promptIdx: number
  /** Exactly `profile.group.rolloutsPerGroup` rollouts (the validator answers 422 otherwise). */
  rollouts: readonly SubmissionRollout[]
  /** `""` while `/state.checkpoint_n` is 0, the checkpoint revision verbatim afterwards. */
  checkpointHash: string
  /** The drand round current when the request is sent (`drandRoundAt(now)`; tolerance 0). */
  drandRound: number
  /** `/state.randomness`, verbatim: the envelope binds the validator's window randomness. */
  randomness: string
  /** @default randomNonce() (16 random bytes as hex, like the reference miner) */
  nonce?: string | undefined
}

/**
 * 16 random bytes as lowercase hex: the `nonce` the reference miner attaches
 * (`os.urandom(16).hex()`). The validator does not deduplicate it.
 *
 * @returns 32 hex characters.
 * @example
 * ```ts
 * randomNonce().length // 32
 * ```
 */
export function randomNonce(): string {
  return toHex(randomBytes(16))
}

/**
 * Builds a signed E3 `/submit` body: the merkle root over the rollouts (`{tokens, reward,
 * commit}`, CPython float formatting), then the envelope signature over (hotkey, window, prompt,
 * merkle root, checkpoint hash, drand round, window randomness, nonce).
 *
 * - Spec: docs/protocol.md §3.1 (request layout), §3.5 (envelope), §3.6 (merkle root).
 *
 * @param p - {@link BuildSubmitRequestParameters}
 * @returns The request object, ready for `JSON.stringify`.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for an empty group or malformed numbers;
 *   `INVALID_HEX` for malformed randomness.
 * @example
 * ```ts
 * const body = buildSubmitRequest({
 *   hotkey, windowStart: state.window_n, promptIdx, rollouts, checkpointHash: '',
 *   drandRound: drandRoundAt(Date.now() / 1000), randomness: state.randomness,
 * })
 * await fetch(`${validatorUrl}/submit`, { method: 'POST', body: JSON.stringify(body) })
 * ```
 */
export function buildSubmitRequest(p: BuildSubmitRequestParameters): SubmitRequest {
  if (typeof p !== 'object' || p === null) throw invalidArgument('parameters', 'an object', p)
  if (!Array.isArray(p.rollouts) || p.rollouts.length === 0)
    throw invalidArgument('rollouts', 'a non-empty array of rollouts', p.rollouts)
  const rollouts = p.rollouts.map((r) => ({
    tokens: [...r.tokens],
    reward: r.reward,
    commit: { ...r.commit },
  }))
  const merkleRoot = rolloutsMerkleRoot(rollouts)
  const nonce = p.nonce ?? randomNonce()
  const envelope = {
    minerHotkey: p.hotkey.address,
    windowStart: p.windowStart,
    promptIdx: p.promptIdx,
    merkleRoot,
    checkpointHash: p.checkpointHash,
    drandRound: p.drandRound,
    randomness: p.randomness,
    nonce,
  }
  return {
    miner_hotkey: p.hotkey.address,
    prompt_idx: p.promptIdx,
    window_start: p.windowStart,
    merkle_root: merkleRoot,
    rollouts,
    checkpoint_hash: p.checkpointHash,
    drand_round: p.drandRound,
    nonce,
    envelope_signature: signEnvelope(p.hotkey, envelope),
  }
}
