import { challengeIndices } from '../grail/challenge.js'
import { DEFAULT_PROFILE, type ProtocolProfile } from '../protocol/profiles.js'
import type { RolloutScores } from './scores.js'

/** Python `statistics.median` (mean of the two middle values for an even count). @internal */
export function pyMedian(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const n = s.length
  const m = n >> 1
  return n % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** numpy `quantile(x, q)` with the default linear interpolation. @internal */
export function npQuantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b)
  const h = (s.length - 1) * q
  const lo = Math.floor(h)
  const hi = Math.min(lo + 1, s.length - 1)
  return s[lo]! + (h - lo) * (s[hi]! - s[lo]!)
}

/** The rollout fields the behavioural checks read. */
export type RolloutShape = {
  tokens: ArrayLike<number>
  promptLength: number
  completionLength: number
}

/** Result of {@link checkTermination}. */
export type TerminationResult = {
  ok: boolean
  path: 'cap' | 'eos' | 'none'
  eosProbability: number
  lastTokenIsEos: boolean
}

/**
 * Termination check. E2/E3: a rollout whose total length reaches the protocol cap passes (cap
 * path); otherwise its last token must be in the EOS set and the EOS-set probability at the
 * second-to-last position must be ≥ `minEosProbability` (0.01 in E3, 0.02 in E1, where only the
 * EOS path exists).
 *
 * - Spec: docs/protocol.md §2.1.
 */
export function checkTermination(
  r: RolloutShape,
  scores: RolloutScores,
  eosTokenIds: readonly number[],
  options: { profile?: ProtocolProfile | undefined } = {},
): TerminationResult {
  const profile = options.profile ?? DEFAULT_PROFILE
  const last = r.tokens[r.tokens.length - 1]
  const lastTokenIsEos = last !== undefined && eosTokenIds.includes(last)
  if (
    profile.checks.terminationCapPath &&
    r.promptLength + r.completionLength >= profile.sampling.maxNewTokensCap
  ) {
    return { ok: true, path: 'cap', eosProbability: scores.eosProbability, lastTokenIsEos }
  }
  const ok = lastTokenIsEos && scores.eosProbability >= profile.checks.minEosProbability
  return { ok, path: ok ? 'eos' : 'none', eosProbability: scores.eosProbability, lastTokenIsEos }
}

/** Result of {@link checkLogprobs}. */
export type LogprobResult = { ok: boolean; medianDev: number; positions: number[] }

/**
 * Logprob (importance-sampling deviation) check: at the 32 completion-range challenge positions
 * (drawn with the validator's randomness), `dev = exp(|model_lp − miner_lp|) − 1`; passes iff the
 * median deviation is ≤ `logprobIsEps`. Completions shorter than K, a layout that matches
 * neither accepted form, or an out-of-range position fail with `medianDev = Infinity`.
 *
 * - Spec: docs/protocol.md §2.2 (`verify_logprobs_claim`).
 */
export function checkLogprobs(
  r: RolloutShape & { tokenLogprobs: readonly number[] },
  scores: RolloutScores,
  randomness: string,
  options: { profile?: ProtocolProfile | undefined } = {},
): LogprobResult {
  const profile = options.profile ?? DEFAULT_PROFILE
  const K = profile.grail.challengeK
  const fail = { ok: false, medianDev: Number.POSITIVE_INFINITY, positions: [] }
  if (r.completionLength < profile.checks.logprobMinCompletion) return fail
  // The check itself reads either layout in every era (the E1 schema, not this function, was
  // the one that demanded full length).
  const n = r.tokens.length
  let offset: number
  if (r.tokenLogprobs.length === n) offset = 0
  else if (r.tokenLogprobs.length === r.completionLength) offset = r.promptLength
  else return fail
  const positions = challengeIndices({
    tokens: r.tokens,
    randomness,
    start: r.promptLength,
    end: r.promptLength + r.completionLength,
    k: K,
    profile,
  })
  if (positions.length !== K) return fail
  const devs: number[] = []
  for (const abs of positions) {
    if (abs - 1 < 0 || abs >= scores.logprobs.length) return fail
    const miner = r.tokenLogprobs[abs - offset]
    if (typeof miner !== 'number' || !Number.isFinite(miner)) return fail
    devs.push(Math.exp(Math.abs(scores.logprobs[abs]! - miner)) - 1)
  }
  const medianDev = pyMedian(devs)
  return { ok: medianDev <= profile.checks.logprobIsEps, medianDev, positions }
}

/** Result of {@link checkDistribution}. `ok: null` means too few steps: no decision (accept). */
export type DistributionResult = {
  ok: boolean | null
  metrics: { mean: number; median: number; q10: number; low_frac: number; high_frac: number } | null
}

/**
 * Chosen-token distribution check: the probability, at the protocol temperature, of every
 * completion token under the validator's model; suspicious iff the median is below
 * `samplingMedianLowMax` or the 10% quantile below `samplingLowQ10Max`. Fewer than
 * `samplingMinSteps` probabilities give no decision.
 *
 * - Spec: docs/protocol.md §2.3 (`evaluate_token_distribution`).
 */
export function checkDistribution(
  r: RolloutShape,
  scores: RolloutScores,
  options: { profile?: ProtocolProfile | undefined } = {},
): DistributionResult {
  const c = (options.profile ?? DEFAULT_PROFILE).checks
  if (r.completionLength < c.samplingMinSteps) return { ok: null, metrics: null }
  const probs: number[] = []
  for (let t = r.promptLength; t < r.promptLength + r.completionLength; t++) {
    if (t === 0 || t >= scores.temperedProbs.length || t >= r.tokens.length) continue
    probs.push(scores.temperedProbs[t]!)
  }
  if (probs.length < c.samplingMinSteps) return { ok: null, metrics: null }
  const mean = probs.reduce((a, b) => a + b, 0) / probs.length
  const metrics = {
    mean,
    median: npQuantile(probs, 0.5),
    q10: npQuantile(probs, 0.1),
    low_frac: probs.filter((p) => p <= c.samplingLowP).length / probs.length,
    high_frac: probs.filter((p) => p >= c.samplingHighP).length / probs.length,
  }
  const suspicious = metrics.median < c.samplingMedianLowMax || metrics.q10 < c.samplingLowQ10Max
  return { ok: !suspicious, metrics }
}
