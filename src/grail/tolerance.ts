import { invalidArgument } from '../errors/base.js'
import { DEFAULT_PROFILE, type ProtocolProfile } from '../protocol/profiles.js'

/**
 * The sketch tolerance at absolute position `position`: `int(base + growth·√position)`, with the
 * profile's base (5000 in E3, 1000 in E1) and growth 5.0.
 *
 * - Spec: docs/protocol.md §1.8 (`adaptive_sketch_tolerance`; the sequence length is unused there).
 *
 * @example
 * ```ts
 * import { sketchTolerance, e1 } from 'reliquary'
 * sketchTolerance(100, { profile: e1 }) // 1050
 * ```
 */
export function sketchTolerance(
  position: number,
  options: { profile?: ProtocolProfile | undefined } = {},
): number {
  const { toleranceBase, toleranceGrowth } = (options.profile ?? DEFAULT_PROFILE).grail
  return Math.trunc(toleranceBase + toleranceGrowth * Math.sqrt(position))
}

/** Circular distance of two sketches modulo Q, as the reference computes it. */
export function sketchDistance(a: number, b: number, primeQ: number): number {
  const d = Math.abs(a - b)
  return Math.min(d, primeQ - d)
}

/**
 * The drift of one honest proof: the smallest integer tolerance base under which every checked
 * position passes, `max(0, max_p(diff_p − trunc(growth·√p)))`. Collect it over honest proofs
 * (those a validator's own model, or a bf16 miner, would send) and pass the list to
 * {@link calibrateToleranceBase}.
 *
 * - Spec: docs/protocol.md §1.8 (tolerance), §4.5 (the stricter tolerance option).
 *
 * @param positions - The `positions` of a `verifySketch` result.
 * @param options - `profile` for the growth term. @default e3
 * @returns A non-negative number; `Infinity` when a commitment was out of range.
 */
export function sketchDrift(
  positions: readonly { readonly position: number; readonly diff: number }[],
  options: { profile?: ProtocolProfile | undefined } = {},
): number {
  const { toleranceGrowth } = (options.profile ?? DEFAULT_PROFILE).grail
  let drift = 0
  for (const p of positions)
    drift = Math.max(drift, p.diff - Math.trunc(toleranceGrowth * Math.sqrt(p.position)))
  return drift
}

/**
 * A stricter sketch tolerance base calibrated on measured honest drift: the smallest integer base
 * that refuses at most `maxFalseRejectRate` of the given honest proofs. The result holds for the
 * model, precision and challenge count the drifts were measured on, nothing else.
 *
 * @param drifts - {@link sketchDrift} of each honest proof (finite, at least one).
 * @param options - `maxFalseRejectRate` in [0, 1).
 * @returns An integer base for `withHardening(profile, { sketchToleranceBase })`.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for an empty list, a non-finite drift or a rate
 *   outside [0, 1).
 * @example
 * ```ts
 * import { calibrateToleranceBase } from 'reliquary/grail'
 * calibrateToleranceBase([120, 900, 2400, 4100], { maxFalseRejectRate: 0.25 }) // 2400
 * ```
 */
export function calibrateToleranceBase(
  drifts: readonly number[],
  options: { maxFalseRejectRate: number },
): number {
  const rate = options.maxFalseRejectRate
  if (!Array.isArray(drifts) || drifts.length === 0 || drifts.some((d) => !Number.isFinite(d)))
    throw invalidArgument('drifts', 'a non-empty list of finite numbers', drifts)
  if (!(rate >= 0 && rate < 1))
    throw invalidArgument('maxFalseRejectRate', 'a number in [0, 1)', rate)
  const sorted = [...drifts].sort((a, b) => a - b)
  const allowed = Math.floor(rate * sorted.length)
  return Math.max(0, Math.ceil(sorted[sorted.length - 1 - allowed]!))
}
