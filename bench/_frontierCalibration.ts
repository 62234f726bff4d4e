// Calibration replay of bench/demo-frontier.ts: how well can a miner predict whether a group
// lands in the zone (and whether it is admissible: in the zone and sent)? Every predictor sees
// only what the miner had before the group's window: its own earlier groups (rewards, kept-back
// reason) and the prompts' features (number of target characters, search window), which a real
// miner reads from its environment. Scores: Brier and log-loss against the Laplace base rate of
// the same miner's earlier windows (`baseRateForecasts`).
import { fitLogistic } from '../src/miner/fitLogistic.js'
import { baseRateForecasts, scoreForecasts, type Forecast } from '../src/miner/calibration.js'

/** One generated group, as demo-frontier.ts stores it. */
export type BenchGroup = {
  seed: number
  miner: string
  windowN: number
  promptIdx: number
  rewards: number[]
  predicted: number | null
  skipped: string | null
}

/** The bootstrap zone of M = 8 binary rewards: 1 ≤ k ≤ 7 (the frontier picker's zone). */
export const inZone = (rewards: readonly number[]): boolean => {
  const k = rewards.reduce((a, r) => a + (r > 0.5 ? 1 : 0), 0)
  return rewards.length === 8 && k >= 1 && k <= 7
}

/** A finished group (every rollout generated): its in-zone outcome is known. */
const finished = (g: BenchGroup): boolean =>
  g.skipped !== 'given_up' && g.skipped !== 'duplicate_rollouts' && g.rewards.length === 8

/** Sent and in the zone: what the validator can accept, and what pays. */
const admissible = (g: BenchGroup): boolean => g.skipped === null && inZone(g.rewards)

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z))
const dot = (a: readonly number[], b: readonly number[]): number =>
  a.reduce((s, v, i) => s + v * b[i]!, 0)

/** Feature row of a prompt: intercept, ln(targets), ln(search window). */
const row = (f: readonly [number, number]): number[] => [1, Math.log(f[0]), Math.log(f[1])]

type Predictor = {
  name: string
  /** Forecast for `g` from `past` (the same miner's groups of earlier windows) and the features. */
  predict(g: BenchGroup, past: readonly BenchGroup[], feats: readonly [number, number][]): number
}

/**
 * The predictors compared. `outcome` picks the event: in the zone (finished groups) or
 * admissible (all picked groups).
 */
function predictors(outcome: (g: BenchGroup) => boolean, label: string): Predictor[] {
  const cache = new Map<string, number[]>()
  const fitted = (key: string, past: readonly BenchGroup[], compute: () => number[]): number[] => {
    const k = `${key}|${past.length}|${past[0]?.seed}|${past[0]?.miner}`
    let w = cache.get(k)
    if (!w) {
      w = compute()
      cache.set(k, w)
    }
    return w
  }
  return [
    {
      // Per-rollout success rate from the features, then P(1 ≤ k ≤ 7) for 8 independent draws.
      name: `features → rollout p → binomial (${label})`,
      predict(g, past, feats) {
        const rows = past.flatMap((h) =>
          h.rewards.map((r) => ({ x: row(feats[h.promptIdx]!), y: r })),
        )
        if (rows.length === 0) return 0.5
        const w = fitted('rollout', past, () =>
          fitLogistic(
            rows.map((r) => r.x),
            rows.map((r) => (r.y > 0.5 ? 1 : 0)),
          ),
        )
        const p = sigmoid(dot(w, row(feats[g.promptIdx]!)))
        return 1 - p ** 8 - (1 - p) ** 8
      },
    },
    {
      // The event itself regressed on the features (absorbs peaked, repeating prompts).
      name: `features → event, logistic (${label})`,
      predict(g, past, feats) {
        const seen = past.filter((h) => label === 'admissible' || finished(h))
        if (seen.length < 4) return 0.5
        const w = fitted(`event-${label}`, seen, () =>
          fitLogistic(
            seen.map((h) => row(feats[h.promptIdx]!)),
            seen.map((h) => (outcome(h) ? 1 : 0)),
          ),
        )
        return sigmoid(dot(w, row(feats[g.promptIdx]!)))
      },
    },
  ]
}

/** Scores of one predictor on one event, over all groups given. */
type Line = { name: string; n: number; brier: number; logLoss: number; mean: number; rate: number }

function scoreLine(name: string, f: Forecast[]): Line {
  const s = scoreForecasts(f)
  return {
    name,
    n: s.n,
    brier: s.brier,
    logLoss: s.logLoss,
    mean: s.meanPredicted,
    rate: s.observedRate,
  }
}

/**
 * Replays every predictor over the groups (per seed and miner, window by window) and returns the
 * scores, with the reliability table of the frontier picker's own logged prediction.
 */
export function calibrationReplay(
  groups: readonly BenchGroup[],
  features: Readonly<Record<number, [number, number][]>>,
): string[] {
  const fmt = (x: number, d = 3): string => (Number.isFinite(x) ? x.toFixed(d) : '–')
  const out: string[] = []
  const events: [string, (g: BenchGroup) => boolean, (g: BenchGroup) => boolean][] = [
    ['in zone (finished groups)', finished, (g) => inZone(g.rewards)],
    ['admissible (all picked groups)', () => true, admissible],
  ]
  const miners = [...new Set(groups.map((g) => g.miner))]
  for (const [eventName, eligible, outcome] of events) {
    for (const miner of miners) {
      const lines = new Map<string, Forecast[]>()
      const push = (name: string, f: Forecast): void => {
        const l = lines.get(name) ?? []
        l.push(f)
        lines.set(name, l)
      }
      for (const seed of [...new Set(groups.map((g) => g.seed))]) {
        const mine = groups.filter((g) => g.seed === seed && g.miner === miner)
        const evs = mine.filter(eligible)
        const base = baseRateForecasts(evs.map((g) => ({ windowN: g.windowN, y: outcome(g) })))
        const feats = features[seed]!
        evs.forEach((g, i) => {
          const y = outcome(g)
          push('base rate (earlier windows, Laplace)', { p: base[i]!, y })
          if (g.predicted !== null)
            push('picker.predict (logged at pick time)', { p: g.predicted, y })
          const past = mine.filter((h) => h.windowN < g.windowN)
          for (const pr of predictors(outcome, eventName.startsWith('in') ? 'zone' : 'admissible'))
            push(pr.name, { p: pr.predict(g, past, feats), y })
        })
      }
      out.push(`${miner} · ${eventName}:`)
      out.push('| predictor | groups | Brier | log-loss | mean predicted | observed rate |')
      out.push('|---|---|---|---|---|---|')
      for (const [name, f] of lines) {
        const l = scoreLine(name, f)
        out.push(
          `| ${name} | ${l.n} | ${fmt(l.brier)} | ${fmt(l.logLoss)} | ${fmt(l.mean)} | ${fmt(l.rate)} |`,
        )
      }
      const own = lines.get('picker.predict (logged at pick time)')
      if (own) {
        const bins = scoreForecasts(own).bins.filter((b) => b.n > 0)
        out.push(
          `reliability of picker.predict: ${bins.map((b) => `[${b.lo.toFixed(1)}, ${b.hi.toFixed(1)}) n ${b.n}: predicted ${fmt(b.meanPredicted, 2)}, observed ${fmt(b.observedRate, 2)}`).join(' · ')}`,
        )
      }
      out.push('')
    }
  }
  return out
}

/**
 * Frontier − uniform final EMA weight per seed: wins, mean, sample standard deviation and range
 * of the difference.
 */
export function weightComparison(
  weights: readonly { seed: number; miner: string; ema: number }[],
): string[] {
  const seeds = [...new Set(weights.map((w) => w.seed))].sort((a, b) => a - b)
  const of = (seed: number, kind: string): number | undefined =>
    weights.find((w) => w.seed === seed && w.miner.startsWith(kind))?.ema
  const diffs: number[] = []
  const out = ['| seed | frontier EMA | uniform EMA | frontier − uniform |', '|---|---|---|---|']
  for (const seed of seeds) {
    const f = of(seed, 'frontier')
    const u = of(seed, 'uniform')
    if (f === undefined || u === undefined) continue
    diffs.push(f - u)
    out.push(`| ${seed} | ${f.toFixed(4)} | ${u.toFixed(4)} | ${(f - u).toFixed(4)} |`)
  }
  const n = diffs.length
  const mean = diffs.reduce((a, b) => a + b, 0) / Math.max(1, n)
  const sd =
    n > 1 ? Math.sqrt(diffs.reduce((a, d) => a + (d - mean) ** 2, 0) / (n - 1)) : Number.NaN
  out.push(
    '',
    `frontier ahead on ${diffs.filter((d) => d > 0).length} of ${n} seeds; difference mean ${mean.toFixed(4)}, sd ${sd.toFixed(4)}, standard error ${(sd / Math.sqrt(n)).toFixed(4)}, range ${Math.min(...diffs).toFixed(4)} … ${Math.max(...diffs).toFixed(4)}`,
  )
  return out
}

/**
 * Does the feature forecast rank prompts? For each seed, a logistic regression of "admissible" on
 * the features is fitted on the honest miners' groups of the other seeds (what a miner learnt in
 * earlier runs) and ranks this seed's uniform-miner groups (an unbiased sample of prompts): the
 * admissible rate of the upper and the lower half by forecast, and the Brier score of that
 * forecast against the seed's own base rate.
 */
export function featureRanking(
  groups: readonly BenchGroup[],
  features: Readonly<Record<number, [number, number][]>>,
): string[] {
  const seeds = [...new Set(groups.map((g) => g.seed))]
  if (seeds.length < 2) return []
  const top = { n: 0, hits: 0 }
  const bottom = { n: 0, hits: 0 }
  const own: Forecast[] = []
  const base: Forecast[] = []
  for (const s of seeds) {
    const train = groups.filter((g) => g.seed !== s && g.miner !== 'cheater')
    const w = fitLogistic(
      train.map((g) => row(features[g.seed]![g.promptIdx]!)),
      train.map((g) => (admissible(g) ? 1 : 0)),
    )
    const test = groups.filter((g) => g.seed === s && g.miner.startsWith('uniform'))
    const ps = test.map((g) => sigmoid(dot(w, row(features[s]![g.promptIdx]!))))
    const median = [...ps].sort((a, b) => a - b)[Math.floor(ps.length / 2)]!
    const rate = baseRateForecasts(test.map((g) => ({ windowN: g.windowN, y: admissible(g) })))
    test.forEach((g, i) => {
      const half = ps[i]! >= median ? top : bottom
      half.n++
      if (admissible(g)) half.hits++
      own.push({ p: ps[i]!, y: admissible(g) })
      base.push({ p: rate[i]!, y: admissible(g) })
    })
  }
  const pct = (h: { n: number; hits: number }): string =>
    `${h.hits}/${h.n} = ${((100 * h.hits) / Math.max(1, h.n)).toFixed(1)}%`
  return [
    `feature forecast fitted on the other seeds, uniform miner's groups: admissible in the upper half by forecast ${pct(top)}, lower half ${pct(bottom)}; Brier ${scoreForecasts(own).brier.toFixed(3)} vs base rate ${scoreForecasts(base).brier.toFixed(3)} (${own.length} groups)`,
  ]
}
