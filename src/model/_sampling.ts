/**
 * Token sampling in plain float64 JS: the transformers logits warpers in their `generate()` order
 * (temperature → top-k → top-p), then a categorical draw from a seeded `Rng` (_utils/rng).
 * @internal
 */

import type { Rng } from '../_utils/rng.js'

/** Sampling knobs, already validated. */
export type SamplingParams = {
  /** 0 means greedy (argmax). */
  readonly temperature: number
  /** 0 disables. */
  readonly topK: number
  /** 1 disables. */
  readonly topP: number
}

/** Index of the largest value; the lowest index wins ties. */
export function argmax(x: ArrayLike<number>): number {
  let best = 0
  let bv = -Infinity
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number
    if (v > bv) {
      bv = v
      best = i
    }
  }
  return best
}

/**
 * The candidate ids and their normalised probabilities after temperature, top-k and top-p, as
 * transformers' `TemperatureLogitsWarper`, `TopKLogitsWarper` (ties with the k-th score are
 * kept) and `TopPLogitsWarper` (ascending cumulative sum, drop while ≤ 1 − top_p, keep at least
 * one) compute them.
 */
export function candidateDistribution(
  logits: ArrayLike<number>,
  p: SamplingParams,
): { ids: number[]; probs: number[] } {
  if (p.temperature === 0) return { ids: [argmax(logits)], probs: [1] }
  const n = logits.length
  let ids: number[] = []
  for (let i = 0; i < n; i++) if ((logits[i] as number) > -Infinity) ids.push(i)
  const score = (i: number): number => (logits[i] as number) / p.temperature
  if (p.topK > 0 && p.topK < ids.length) {
    const sorted = ids.map(score).sort((a, b) => b - a)
    const kth = sorted[p.topK - 1] as number
    ids = ids.filter((i) => score(i) >= kth)
  }
  let mx = -Infinity
  for (const i of ids) mx = Math.max(mx, score(i))
  let probs = ids.map((i) => Math.exp(score(i) - mx))
  let total = probs.reduce((a, b) => a + b, 0)
  if (p.topP < 1) {
    const order = ids.map((_, j) => j).sort((a, b) => (probs[a] as number) - (probs[b] as number))
    const keep = new Array<boolean>(ids.length).fill(true)
    let cum = 0
    for (let r = 0; r < order.length - 1; r++) {
      const j = order[r] as number
      cum += (probs[j] as number) / total
      if (cum <= 1 - p.topP) keep[j] = false
    }
    ids = ids.filter((_, j) => keep[j])
    probs = probs.filter((_, j) => keep[j])
    total = probs.reduce((a, b) => a + b, 0)
  }
  return { ids, probs: probs.map((x) => x / total) }
}

/** Draws one id from the processed distribution with `rng`. */
export function sampleToken(logits: ArrayLike<number>, p: SamplingParams, rng: Rng): number {
  const { ids, probs } = candidateDistribution(logits, p)
  if (ids.length === 1) return ids[0] as number
  const u = rng()
  let acc = 0
  for (let j = 0; j < ids.length; j++) {
    acc += probs[j] as number
    if (u < acc) return ids[j] as number
  }
  return ids[ids.length - 1] as number
}

/** float64 log-softmax of one logits row at `index`. */
export function logSoftmaxAt(logits: ArrayLike<number>, index: number): number {
  let mx = -Infinity
  for (let i = 0; i < logits.length; i++) mx = Math.max(mx, logits[i] as number)
  let s = 0
  for (let i = 0; i < logits.length; i++) s += Math.exp((logits[i] as number) - mx)
  return (logits[index] as number) - mx - Math.log(s)
}
