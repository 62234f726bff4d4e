import { randomInt } from 'node:crypto'
import { signCommit } from '../crypto/commitSignature.js'
import type { Hotkey } from '../crypto/sr25519.js'
import { invalidArgument } from '../errors/base.js'
import { DEFAULT_PROFILE, type ProtocolProfile } from '../protocol/profiles.js'
import type { Commit } from '../protocol/schemas.js'
import { groupSigma, isInZone } from '../reward/groups.js'

/**
 * The dishonest behaviours of the demo's cheating miner (`strategy: 'cheat'`), one per group in
 * rotation. Each one is caught by a different E3 admission check (docs/protocol.md §4.3, §10):
 *
 * - `fabricate_sketch`: the GRAIL commitments are random numbers (no proof was computed for these
 *   values) and the commit is re-signed, so the signature still verifies → `grail_fail`;
 * - `lie_reward`: the claimed rewards are a zone-shaped vector instead of the real ones →
 *   `reward_mismatch` (the validator recomputes every reward);
 * - `replay`: a group proven in an earlier window is sent again under a fresh envelope; its
 *   commits carry the old window randomness → `wrong_randomness` (or `hash_duplicate` when its
 *   rollouts were already recorded on a winning prompt).
 */
export type CheatKind = 'fabricate_sketch' | 'lie_reward' | 'replay'

/** The rotation order of {@link CheatKind}s. */
export const CHEAT_KINDS: readonly CheatKind[] = /*#__PURE__*/ Object.freeze([
  'fabricate_sketch',
  'lie_reward',
  'replay',
])

/**
 * A copy of `commit` whose commitments are uniformly random sketches in `[0, Q)`, re-signed with
 * `hotkey` so that the commit signature still verifies: what a miner that skips the proof would
 * send. The validator's recomputed sketches differ from random ones by far more than the
 * tolerance at almost every challenged position, so the group fails `grail_fail`. (Constant or
 * all-zero sketches would not be caught by GRAIL alone: docs/protocol.md §1.8.)
 *
 * @param commit - An honest commit (tokens, beacon and rollout fields are kept).
 * @param hotkey - The miner hotkey that re-signs the binding.
 * @param options - `profile` (the sketch modulus Q). @default DEFAULT_PROFILE
 * @returns The forged commit.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a commit without tokens.
 * @example
 * ```ts
 * const forged = fabricateSketches(await proveWithModel({ ... }), hotkey)
 * ```
 */
export function fabricateSketches(
  commit: Commit,
  hotkey: Hotkey,
  options: { profile?: ProtocolProfile | undefined } = {},
): Commit {
  if (typeof commit !== 'object' || commit === null || !Array.isArray(commit.tokens))
    throw invalidArgument('commit', 'a commit object', commit)
  const Q = (options.profile ?? DEFAULT_PROFILE).grail.primeQ
  const commitments = commit.tokens.map(() => ({ sketch: randomInt(0, Q) }))
  const unsigned = { ...commit, commitments }
  return { ...unsigned, signature: signCommit(hotkey, unsigned) }
}

/**
 * A reward vector shaped to pass the zone filter that differs from `actual` in at least one
 * rollout: about half ones (the largest σ for binary rewards), or its complement when that would
 * equal the real rewards. What a miner lying about its rewards claims.
 *
 * @param actual - The real rewards of the group (length M ≥ 2).
 * @param options - `profile` and `bootstrap` (the zone threshold the claim must pass).
 * @returns The claimed rewards (0/1), in the zone and different from `actual`.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` when M < 2 (no group of one is in the zone).
 * @example
 * ```ts
 * zoneShapedRewards([0, 0, 0, 0, 0, 0, 0, 0]) // [1, 1, 1, 1, 0, 0, 0, 0]
 * zoneShapedRewards([1, 1, 1, 1, 0, 0, 0, 0]) // [0, 0, 0, 0, 1, 1, 1, 1]
 * ```
 */
export function zoneShapedRewards(
  actual: readonly number[],
  options: { profile?: ProtocolProfile | undefined; bootstrap?: boolean | undefined } = {},
): number[] {
  if (!Array.isArray(actual) || actual.length < 2)
    throw invalidArgument('actual', 'an array of at least 2 rewards', actual)
  const M = actual.length
  const half = Math.floor(M / 2)
  let claim: number[] = Array.from({ length: M }, (_, i) => (i < half ? 1 : 0))
  if (claim.every((r, i) => r === actual[i])) claim = claim.map((r) => 1 - r)
  if (!isInZone(groupSigma(claim), { profile: options.profile, bootstrap: options.bootstrap })) {
    throw invalidArgument(
      'actual',
      `a group size whose half-correct vector passes the zone (M = ${M})`,
      actual,
    )
  }
  return claim
}
