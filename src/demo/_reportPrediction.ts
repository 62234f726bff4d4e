// The report's "Does prediction pay?" panel: each picker's in-zone forecasts against what its
// groups turned out to be (calibration, Brier score against the base rate of its own earlier
// windows) beside the miners' final weights, with the rules that decide whether a forecast can pay.
import {
  baseRateForecasts,
  scoreForecasts,
  type Forecast,
  type ForecastScore,
} from '../miner/calibration.js'
import { esc, fmt } from './_reportCharts.js'
import type { DemoGroupOutcome, DemoMinerSummary } from './report.js'

const labelOf = (m: DemoMinerSummary): string => m.label ?? m.hotkey

/** Forecast and base-rate scores of one miner's finished groups. */
type MinerForecasts = {
  readonly miner: DemoMinerSummary
  readonly groups: readonly DemoGroupOutcome[]
  readonly finished: readonly DemoGroupOutcome[]
  /** The picker's forecasts of the finished groups (empty without a predicting picker). */
  readonly own: readonly Forecast[]
  /** The base rate's forecasts of the same groups. */
  readonly base: readonly Forecast[]
  /** Scores of `own` and `base` (null when there are none). */
  readonly ownScore: ForecastScore | null
  readonly baseScore: ForecastScore | null
}

function forecastsOf(miner: DemoMinerSummary): MinerForecasts {
  const groups = miner.groups ?? []
  const finished = groups.filter((g) => g.finished)
  const baseP = baseRateForecasts(finished.map((g) => ({ windowN: g.windowN, y: g.inZone })))
  const own: Forecast[] = []
  const base: Forecast[] = []
  finished.forEach((g, i) => {
    if (g.predicted === null) return
    own.push({ p: g.predicted, y: g.inZone })
    base.push({ p: baseP[i]!, y: g.inZone })
  })
  const ownScore = own.length ? scoreForecasts(own) : null
  const baseScore = base.length ? scoreForecasts(base) : null
  return { miner, groups, finished, own, base, ownScore, baseScore }
}

/** The rules that decide whether an in-zone forecast can earn weight (static text). */
const WHY =
  'Under these rules a per-prompt forecast has little to pay with. E3 pays a window to the first B distinct prompts by drand round, so what counts is admissible groups per second of generation, not how sure a miner was. A prompt whose group wins a slot enters the cooldown (e3: for good), so a prompt learnt to be in the zone cannot be picked again, and with a few hundred prompts and a few dozen groups per miner and run each prompt is picked about once, so its own estimate stays at its prior (the Brier scores above). What can pay is a forecast that generalises across prompts: the demo frontier picker ranks unseen prompts by what it reads without generating (number of target characters, search window), fitted on its own groups, and takes the best of 16 draws, which raises its in-zone and admissible rates (the columns above) and, through them, its pay. BENCHMARKS.md ("Frontier vs uniform: prompt features") has the comparison over six seeds.'

/**
 * The "Does prediction pay?" panel, or nothing when no miner logged forecasts.
 * @internal
 */
export function predictionSection(miners: readonly DemoMinerSummary[]): string[] {
  const all = miners.filter((m) => (m.groups?.length ?? 0) > 0).map(forecastsOf)
  const predicting = all.filter((f) => f.own.length > 0)
  if (predicting.length === 0) return []
  const rate = (a: number, b: number): string => (b > 0 ? fmt(a / b, 3) : '–')
  const rows = all.map((f) => {
    const { ownScore: own, baseScore: base } = f
    const prompts = new Set(f.groups.map((g) => g.promptIdx)).size
    const inZone = f.finished.filter((g) => g.inZone).length
    const admissible = f.groups.filter((g) => g.sent && g.inZone).length
    return `<tr><td>${esc(labelOf(f.miner))}</td><td>${f.groups.length}</td><td>${prompts}</td><td>${own ? fmt(own.meanPredicted, 3) : '–'}</td><td>${rate(inZone, f.finished.length)} (${inZone}/${f.finished.length})</td><td>${own ? fmt(own.brier, 3) : '–'}</td><td>${base ? fmt(base.brier, 3) : '–'}</td><td>${rate(admissible, f.groups.length)}</td><td>${fmt(f.miner.emaWeight, 4)}</td></tr>`
  })
  const out = [
    '<h3>Does prediction pay?</h3>',
    `<p class="muted">A picker's forecast: the probability it gave, when it picked the prompt, that the group lands in the zone; observed: whether the finished group did (groups given up or cut short by repeats have no outcome). The base rate forecasts every group with the miner's in-zone rate of earlier windows ((hits + 1) / (groups + 2)); a forecast helps only if its Brier score (mean squared error, lower is better) is below the base rate's on the same groups.</p>`,
    '<table><thead><tr><th>miner</th><th>groups generated</th><th>distinct prompts</th><th>mean forecast in zone</th><th>observed in zone (finished groups)</th><th>Brier: picker</th><th>Brier: base rate</th><th>admissible (sent, in zone) per generated group</th><th>EMA weight</th></tr></thead><tbody>',
    ...rows,
    '</tbody></table>',
  ]
  for (const f of predicting) {
    const bins = f.ownScore!.bins.filter((b) => b.n > 0)
    out.push(
      `<p>Calibration of ${esc(labelOf(f.miner))}: predicted vs observed in-zone rate per forecast bin</p>`,
      '<table><thead><tr><th>forecast</th><th>groups</th><th>mean forecast</th><th>observed in zone</th></tr></thead><tbody>',
      ...bins.map(
        (b) =>
          `<tr><td>${fmt(b.lo, 1)}–${fmt(b.hi, 1)}</td><td>${b.n}</td><td>${fmt(b.meanPredicted, 3)}</td><td>${fmt(b.observedRate, 3)}</td></tr>`,
      ),
      '</tbody></table>',
    )
  }
  out.push(`<p>${esc(verdict(predicting[0]!, all))} ${esc(WHY)}</p>`)
  return out
}

/** This run's verdict in one sentence: did the forecasts beat the base rate, and the weights. */
function verdict(f: MinerForecasts, all: readonly MinerForecasts[]): string {
  const own = f.ownScore!.brier
  const base = f.baseScore!.brier
  const better = own < base
  const others = all.filter((o) => o !== f && o.own.length === 0)
  // The uniform picker is the baseline when there is one (not the cheater).
  const other = others.find((o) => /uniform/i.test(labelOf(o.miner))) ?? others[0]
  const weights = other
    ? ` Its final weight was ${fmt(f.miner.emaWeight, 4)} against ${fmt(other.miner.emaWeight, 4)} for ${labelOf(other.miner)} (${f.miner.emaWeight > other.miner.emaWeight ? 'higher' : 'not higher'}; one run varies by as much between seeds).`
    : ''
  const perGroup = (o: MinerForecasts): string =>
    fmt(o.groups.filter((g) => g.sent && g.inZone).length / Math.max(1, o.groups.length), 3)
  const admissible = other
    ? ` Admissible groups per generated group: ${perGroup(f)} against ${perGroup(other)}.`
    : ''
  return `In this run the forecasts of ${labelOf(f.miner)} scored a Brier score of ${fmt(own, 3)} against ${fmt(base, 3)} for the base rate on the same ${f.own.length} groups: ${better ? 'better than' : 'no better than'} knowing the average rate.${admissible}${weights}`
}
