// The zone as a probability: which success counts pass the zone filter, and how likely a group
// of M rollouts lands in it under a binomial or Beta-binomial model of the prompt's success rate.
import { invalidArgument } from '../errors/base.js'
import type { ProtocolProfile } from '../protocol/profiles.js'
import { groupSigma, isInZone } from '../reward/groups.js'

/**
 * The success counts k ∈ [0, M] whose binary reward group (k ones, M − k zeros) passes the zone
 * filter, computed with the protocol's own {@link groupSigma} and {@link isInZone}.
 *
 * - Spec: docs/protocol.md §2.4 "Zone" (k ∈ [2, 6] for M = 8; [1, 7] in bootstrap).
 *
 * @param rollouts - Group size M (≥ 1).
 * @param options - `bootstrap` and `profile` as in {@link isInZone}.
 * @returns The zone counts, ascending.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` if `rollouts` is not a positive integer.
 * @example
 * ```ts
 * zoneSuccessCounts(8) // [2, 3, 4, 5, 6]
 * zoneSuccessCounts(8, { bootstrap: true }) // [1, 2, 3, 4, 5, 6, 7]
 * ```
 */
export function zoneSuccessCounts(
  rollouts: number,
  options: { bootstrap?: boolean | undefined; profile?: ProtocolProfile | undefined } = {},
): number[] {
  if (!Number.isSafeInteger(rollouts) || rollouts < 1)
    throw invalidArgument('rollouts', 'a positive integer', rollouts)
  const out: number[] = []
  for (let k = 0; k <= rollouts; k++) {
    const rewards = Array.from({ length: rollouts }, (_, i) => (i < k ? 1 : 0))
    if (isInZone(groupSigma(rewards), options)) out.push(k)
  }
  return out
}

function binomialCoefficient(n: number, k: number): number {
  let c = 1
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i
  return c
}

function checkZone(rollouts: number, zone: readonly number[]): void {
  if (!Number.isSafeInteger(rollouts) || rollouts < 1)
    throw invalidArgument('rollouts', 'a positive integer', rollouts)
  if (!Array.isArray(zone) || zone.some((k) => !Number.isSafeInteger(k) || k < 0 || k > rollouts)) {
    throw invalidArgument('zone', `an array of integers in [0, ${rollouts}]`, zone)
  }
}

/**
 * `P(k ∈ zone)` for `k ~ Binomial(M, p)`: the chance that a group of M independent rollouts with
 * success rate `p` lands in the zone.
 *
 * @param p - Success rate in [0, 1].
 * @param rollouts - Group size M.
 * @param zone - Zone success counts, e.g. from {@link zoneSuccessCounts}.
 * @returns A probability in [0, 1].
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for p outside [0, 1] or a bad M / zone.
 * @example
 * ```ts
 * binomialZoneProbability(0.5, 8, [2, 3, 4, 5, 6]) // 238 / 256 ≈ 0.930
 * binomialZoneProbability(0, 8, [2, 3, 4, 5, 6])   // 0
 * ```
 */
export function binomialZoneProbability(
  p: number,
  rollouts: number,
  zone: readonly number[],
): number {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1))
    throw invalidArgument('p', 'a number in [0, 1]', p)
  checkZone(rollouts, zone)
  let total = 0
  for (const k of new Set(zone))
    total += binomialCoefficient(rollouts, k) * p ** k * (1 - p) ** (rollouts - k)
  return Math.min(1, total)
}

/**
 * `P(k ∈ zone)` under the Beta-binomial predictive: `p ~ Beta(α, β)`, then
 * `k ~ Binomial(M, p)`. Accounts for the uncertainty of an estimate; Beta(1, 1) gives every k the
 * same probability 1/(M + 1).
 *
 * @param alpha - Beta α > 0.
 * @param beta - Beta β > 0.
 * @param rollouts - Group size M.
 * @param zone - Zone success counts.
 * @returns A probability in [0, 1].
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for non-positive α / β or a bad M / zone.
 * @example
 * ```ts
 * betaBinomialZoneProbability(1, 1, 8, [2, 3, 4, 5, 6]) // 5 / 9
 * ```
 */
export function betaBinomialZoneProbability(
  alpha: number,
  beta: number,
  rollouts: number,
  zone: readonly number[],
): number {
  if (typeof alpha !== 'number' || !(alpha > 0) || !Number.isFinite(alpha))
    throw invalidArgument('alpha', 'a finite number > 0', alpha)
  if (typeof beta !== 'number' || !(beta > 0) || !Number.isFinite(beta))
    throw invalidArgument('beta', 'a finite number > 0', beta)
  checkZone(rollouts, zone)
  // pmf(k) = C(M,k) · α^(k) · β^(M−k) / (α+β)^(M), rising factorials; computed as a ratio of
  // running products to stay in range.
  let total = 0
  for (const k of new Set(zone)) {
    let v = binomialCoefficient(rollouts, k)
    for (let i = 0; i < k; i++) v *= (alpha + i) / (alpha + beta + i)
    for (let j = 0; j < rollouts - k; j++) v *= (beta + j) / (alpha + beta + k + j)
    total += v
  }
  return Math.min(1, total)
}
