import { sha256 } from '@noble/hashes/sha2'
import { ReliquaryError } from '../errors/base.js'
import { be64, concatBytes, toHex, utf8 } from '../_utils/bytes.js'
import { pyFloat, pyJsonDumps } from '../_utils/pyJson.js'

/** Commit fields that the reference holds as Python floats (they hash as `0.0`, `1e-05`, …). */
const COMMIT_FLOAT_KEYS: ReadonlySet<string> = /*#__PURE__*/ new Set([
  'total_reward',
  'advantage',
  'token_logprobs',
])

/** One rollout as the merkle leaf reads it. */
export type MerkleRollout = {
  readonly tokens: readonly number[]
  /** The claimed reward (a Python float). */
  readonly reward: number
  /** The commit object, hashed as sorted compact JSON. */
  readonly commit: unknown
}

/**
 * The hex leaf hash of rollout `index`:
 * `SHA256(BE64(i) ‖ json(tokens) ‖ json(float(reward)) ‖ json_sorted(commit))`, with CPython's
 * float formatting (`1.0`, `1e-05`, `1e+16`) and `ensure_ascii` escaping.
 */
export function merkleLeaf(index: number, rollout: MerkleRollout): Uint8Array {
  return sha256(
    concatBytes(
      be64(index),
      utf8(pyJsonDumps(rollout.tokens)),
      utf8(pyJsonDumps(pyFloat(rollout.reward))),
      utf8(pyJsonDumps(rollout.commit, { sortKeys: true, floatKeys: COMMIT_FLOAT_KEYS })),
    ),
  )
}

/**
 * The `merkle_root` a miner attaches to a submission: a binary SHA-256 tree over the rollout
 * leaves (an odd last node is paired with itself), as hex. E1-E3 validators never recompute it;
 * E3 binds it inside the envelope signature.
 *
 * - Spec: docs/protocol.md §3.6 (`_compute_merkle_root`, frozen as `legacy_merkle.py`).
 *
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for an empty group.
 * @example
 * ```ts
 * import { rolloutsMerkleRoot } from 'reliquary'
 * rolloutsMerkleRoot([{ tokens: [1, 2, 3], reward: 1, commit: { tokens: [1, 2, 3] } }])
 * ```
 */
export function rolloutsMerkleRoot(rollouts: readonly MerkleRollout[]): string {
  if (!Array.isArray(rollouts) || rollouts.length === 0) {
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      'Cannot compute a merkle root over an empty rollout group.',
    )
  }
  let level = rollouts.map((r, i) => merkleLeaf(i, r))
  while (level.length > 1) {
    const next: Uint8Array[] = []
    for (let i = 0; i < level.length; i += 2)
      next.push(sha256(concatBytes(level[i]!, level[i + 1] ?? level[i]!)))
    level = next
  }
  return toHex(level[0]!)
}
