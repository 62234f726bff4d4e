/**
 * Token sampling in plain float64 JS: a seedable PRNG and the transformers logits warpers in their
 * `generate()` order (temperature → top-k → top-p), then a categorical draw.
 * @internal
 */

/** A deterministic uniform [0, 1) source (xoshiro128**, seeded through splitmix32). */
export type Rng = () => number

function splitmix32(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
}

/** Seeds xoshiro128** from a safe integer (both 32-bit halves feed the state). */
export function createRng(seed: number): Rng {
  const hi = Math.floor(seed / 2 ** 32) >>> 0
  const sm = splitmix32((seed >>> 0) ^ Math.imul(hi, 0x27d4eb2d))
  let a = sm() ^ hi
  let b = sm()
  let c = sm()
  let d = sm()
  if ((a | b | c | d) === 0) a = 1
  const next = (): number => {
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0
    const t = b << 9
    c ^= a
    d ^= b
    b ^= c
    a ^= d
    c ^= t
    d = rotl(d, 11)
    return r
  }
  // 53 random bits → a double in [0, 1).
  return () => ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k))
}

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
