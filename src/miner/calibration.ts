// How good is a picker's prediction? Proper scores (Brier, log-loss) of probability forecasts of
// a binary outcome (a group landing in the zone), their reliability by bin, and the base-rate
// forecast they have to beat.
import { invalidArgument } from '../errors/base.js'

/** One probability forecast and what happened. */
export type Forecast = {
  /** Forecast probability of the event, in [0, 1]. */
  readonly p: number
  /** Whether the event happened. */
  readonly y: boolean
}

/** One reliability bin of {@link scoreForecasts}: forecasts with `lo ≤ p < hi` (the last bin includes 1). */
export type CalibrationBin = {
  readonly lo: number
  readonly hi: number
  /** Forecasts in the bin. */
  readonly n: number
  /** Their mean forecast (NaN when empty). */
  readonly meanPredicted: number
  /** The fraction of them whose event happened (NaN when empty). */
  readonly observedRate: number
}

/** What {@link scoreForecasts} returns. */
export type ForecastScore = {
  /** Number of forecasts. */
  readonly n: number
  /** Mean squared error (p − y)²; 0 is perfect, a constant 0.5 scores 0.25. NaN when n = 0. */
  readonly brier: number
  /** Mean −ln(probability given to what happened), p clamped to [ε, 1 − ε]. NaN when n = 0. */
  readonly logLoss: number
  /** Mean forecast. */
  readonly meanPredicted: number
  /** Fraction of events that happened. */
  readonly observedRate: number
  /** Reliability bins of equal width over [0, 1]. */
  readonly bins: readonly CalibrationBin[]
}

function checkProbability(p: unknown, param: string): number {
  if (typeof p !== 'number' || !(p >= 0 && p <= 1))
    throw invalidArgument(param, 'a probability in [0, 1]', p)
  return p
}

/**
 * Scores probability forecasts of a binary event: Brier score, log-loss and a reliability table
 * (predicted vs observed rate per bin). Compare a predictor with the base-rate forecast on the
 * same events ({@link baseRateForecasts}): a lower score is better.
 *
 * @param forecasts - The forecasts and outcomes.
 * @param options - `bins`: reliability bins (default 5); `epsilon`: log-loss clamp (default 1e-6).
 * @returns The {@link ForecastScore}.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a forecast outside [0, 1], a non-boolean
 *   outcome, or bins not a positive integer.
 * @example
 * ```ts
 * scoreForecasts([{ p: 0.8, y: true }, { p: 0.4, y: false }]).brier // (0.04 + 0.16) / 2 = 0.1
 * ```
 */
export function scoreForecasts(
  forecasts: readonly Forecast[],
  options: { bins?: number | undefined; epsilon?: number | undefined } = {},
): ForecastScore {
  const { bins = 5, epsilon = 1e-6 } = options
  if (!Number.isSafeInteger(bins) || bins < 1)
    throw invalidArgument('bins', 'a positive integer', bins)
  if (!Array.isArray(forecasts)) throw invalidArgument('forecasts', 'an array', forecasts)
  const acc = Array.from({ length: bins }, () => ({ n: 0, p: 0, y: 0 }))
  let brier = 0
  let logLoss = 0
  let sumP = 0
  let sumY = 0
  forecasts.forEach((f, i) => {
    const p = checkProbability(f?.p, `forecasts[${i}].p`)
    if (typeof f.y !== 'boolean') throw invalidArgument(`forecasts[${i}].y`, 'a boolean', f.y)
    const y = f.y ? 1 : 0
    const pc = Math.min(1 - epsilon, Math.max(epsilon, p))
    brier += (p - y) ** 2
    logLoss -= Math.log(y ? pc : 1 - pc)
    sumP += p
    sumY += y
    const b = acc[Math.min(bins - 1, Math.floor(p * bins))]!
    b.n++
    b.p += p
    b.y += y
  })
  const n = forecasts.length
  return {
    n,
    brier: brier / n,
    logLoss: logLoss / n,
    meanPredicted: sumP / n,
    observedRate: sumY / n,
    bins: acc.map((b, i) => ({
      lo: i / bins,
      hi: (i + 1) / bins,
      n: b.n,
      meanPredicted: b.p / b.n,
      observedRate: b.y / b.n,
    })),
  }
}

/**
 * The base-rate forecast a predictor has to beat, computed the way a miner could have: for each
 * event, the Laplace-smoothed rate `(hits + 1) / (events + 2)` over the events of earlier windows
 * only (a window's outcomes are known once its verdicts are read, so none of the same window
 * counts).
 *
 * @param events - The outcomes with their window numbers, in any order.
 * @returns One forecast probability per event, in the same order.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a non-integer window or a non-boolean outcome.
 * @example
 * ```ts
 * baseRateForecasts([{ windowN: 1, y: true }, { windowN: 2, y: false }]) // [0.5, 2 / 3]
 * ```
 */
export function baseRateForecasts(
  events: readonly { readonly windowN: number; readonly y: boolean }[],
): number[] {
  if (!Array.isArray(events)) throw invalidArgument('events', 'an array', events)
  events.forEach((e, i) => {
    if (!Number.isSafeInteger(e?.windowN))
      throw invalidArgument(`events[${i}].windowN`, 'a safe integer', e?.windowN)
    if (typeof e.y !== 'boolean') throw invalidArgument(`events[${i}].y`, 'a boolean', e.y)
  })
  const windows = [...new Set(events.map((e) => e.windowN))].sort((a, b) => a - b)
  const before = new Map<number, { n: number; hits: number }>()
  let n = 0
  let hits = 0
  for (const w of windows) {
    before.set(w, { n, hits })
    for (const e of events) {
      if (e.windowN !== w) continue
      n++
      if (e.y) hits++
    }
  }
  return events.map((e) => {
    const b = before.get(e.windowN)!
    return (b.hits + 1) / (b.n + 2)
  })
}
