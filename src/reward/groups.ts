import { invalidArgument } from '../errors/base.js'
import type { ProtocolProfile } from '../protocol/profiles.js'
import { DEFAULT_PROFILE } from '../protocol/profiles.js'
import { pySum } from '../_utils/pyMath.js'

function assertRewards(rewards: readonly number[], param: string): void {
  if (!Array.isArray(rewards)) throw invalidArgument(param, 'an array of finite numbers', rewards)
  for (let i = 0; i < rewards.length; i++) {
    const r = rewards[i]
    if (typeof r !== 'number' || !Number.isFinite(r))
      throw invalidArgument(`${param}[${i}]`, 'a finite number', r)
  }
}

/**
 * `(mean, population std)` computed as the reference does: `sum(r)/n`, then
 * `sum((r − mean)²)/n`, then the square root, with CPython 3.12's compensated `sum`.
 */
function meanAndStd(rewards: readonly number[]): { mean: number; std: number } {
  const n = rewards.length
  const mean = pySum(rewards) / n
  const variance = pySum(rewards.map((r) => (r - mean) * (r - mean))) / n
  return { mean, std: Math.sqrt(variance) }
}

/**
 * Population standard deviation (divide by n) of a group's rewards; 0 for fewer than two rewards.
 * Computed in the reference's order (`sum(r)/n`, `sum((r−mean)**2)/n`, `**0.5`) so the value is
 * bit-identical to the Python one.
 *
 * - Spec: docs/protocol.md §2.4 "Zone" (mirrors `compute_sigma` / `_population_std` in the
 *   validator).
 *
 * @param rewards - The M rewards of one submission's rollouts.
 * @returns σ ≥ 0.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` if `rewards` is not an array of finite numbers.
 * @example
 * ```ts
 * import { groupSigma } from 'reliquary'
 * groupSigma([1, 0, 1, 0]) // 0.5
 * ```
 */
export function groupSigma(rewards: readonly number[]): number {
  assertRewards(rewards, 'rewards')
  if (rewards.length < 2) return 0
  return meanAndStd(rewards).std
}

/** Options of {@link isInZone}. */
export type IsInZoneOptions = {
  /** Use the bootstrap threshold (`profile.group.bootstrapSigmaMin`). @default false */
  bootstrap?: boolean | undefined
  /** Thresholds come from here. @default DEFAULT_PROFILE */
  profile?: ProtocolProfile | undefined
}

/**
 * Whether a group's σ passes the zone filter: σ below `profile.group.sigmaEpsilon` (zero variance)
 * never passes, even in bootstrap; otherwise σ ≥ `sigmaMin` (or `bootstrapSigmaMin`).
 *
 * - Spec: docs/protocol.md §2.4 "Zone", §5.6 (mirrors `is_in_zone`).
 *
 * @param sigma - From {@link groupSigma}.
 * @param options - {@link IsInZoneOptions}
 * @returns `true` when the group is in the zone.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` if `sigma` is not a finite number ≥ 0.
 * @example
 * ```ts
 * import { isInZone, groupSigma } from 'reliquary'
 * isInZone(groupSigma([1, 0, 0, 0, 0, 0, 0, 0]))                      // false (σ ≈ 0.331)
 * isInZone(groupSigma([1, 0, 0, 0, 0, 0, 0, 0]), { bootstrap: true }) // true
 * ```
 */
export function isInZone(sigma: number, options: IsInZoneOptions = {}): boolean {
  if (typeof sigma !== 'number' || !Number.isFinite(sigma) || sigma < 0)
    throw invalidArgument('sigma', 'a finite number ≥ 0', sigma)
  const { bootstrap = false, profile = DEFAULT_PROFILE } = options
  if (sigma < profile.group.sigmaEpsilon) return false
  return sigma >= (bootstrap ? profile.group.bootstrapSigmaMin : profile.group.sigmaMin)
}

/** Options of {@link isBootstrapWindow}. */
export type IsBootstrapWindowOptions = {
  /** `profile.group.bootstrapWindows` is the length of the bootstrap period. @default DEFAULT_PROFILE */
  profile?: ProtocolProfile | undefined
  /** `SUBNET_START_BLOCK`; the reference compares it with a window counter. @default 0 */
  subnetStart?: number | undefined
}

/**
 * Whether window `windowN` is a bootstrap window: `0 ≤ windowN − subnetStart < bootstrapWindows`.
 * Bootstrap windows use the relaxed zone threshold.
 *
 * - Spec: docs/protocol.md §5.6 (mirrors `is_bootstrap_window`; note §13.13: the reference compares
 *   a window counter with a constant named as a block).
 *
 * @param windowN - The window number.
 * @param options - {@link IsBootstrapWindowOptions}
 * @returns `true` during bootstrap.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` if `windowN` or `subnetStart` is not a safe integer.
 * @example
 * ```ts
 * import { isBootstrapWindow } from 'reliquary'
 * isBootstrapWindow(99)  // true
 * isBootstrapWindow(100) // false
 * ```
 */
export function isBootstrapWindow(
  windowN: number,
  options: IsBootstrapWindowOptions = {},
): boolean {
  const { profile = DEFAULT_PROFILE, subnetStart = 0 } = options
  if (!Number.isSafeInteger(windowN)) throw invalidArgument('windowN', 'a safe integer', windowN)
  if (!Number.isSafeInteger(subnetStart))
    throw invalidArgument('subnetStart', 'a safe integer', subnetStart)
  if (windowN < subnetStart) return false
  return windowN - subnetStart < profile.group.bootstrapWindows
}

/** Options of {@link groupAdvantages}. */
export type GroupAdvantagesOptions = {
  /** `profile.group.sigmaEpsilon` is the zero-variance cut-off. @default DEFAULT_PROFILE */
  profile?: ProtocolProfile | undefined
  /** The zero-variance cut-off, overriding the profile's (GRPO's `sigmaEpsilon` option). */
  sigmaEpsilon?: number | undefined
}

/**
 * GRPO group-relative advantages `(r − mean) / std` with the population std; all zeros when
 * std < `profile.group.sigmaEpsilon` (the training step then skips the group). An empty group gives
 * `[]`. The arithmetic follows the reference order, so results match it bit for bit.
 *
 * - Spec: docs/protocol.md §7 "Advantage" (mirrors `_compute_advantages` in `reliquary/validator/training.py`).
 *
 * @param rewards - The rewards of one group.
 * @param options - {@link GroupAdvantagesOptions}
 * @returns One advantage per reward.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` if `rewards` is not an array of finite numbers.
 * @example
 * ```ts
 * import { groupAdvantages } from 'reliquary'
 * groupAdvantages([1, 0, 1, 0]) // [1, -1, 1, -1]
 * ```
 */
export function groupAdvantages(
  rewards: readonly number[],
  options: GroupAdvantagesOptions = {},
): number[] {
  assertRewards(rewards, 'rewards')
  const { profile = DEFAULT_PROFILE, sigmaEpsilon = profile.group.sigmaEpsilon } = options
  const n = rewards.length
  if (n === 0) return []
  const { mean, std } = meanAndStd(rewards)
  if (std < sigmaEpsilon) return new Array<number>(n).fill(0)
  return rewards.map((r) => (r - mean) / std)
}
