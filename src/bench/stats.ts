/** Median of numbers (mean of the middle two for an even count). @internal */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** Times `fn` `repeats` times after `warmup` calls; returns seconds per call. @internal */
export function timeRuns(fn: () => void, repeats: number, warmup = 1): number[] {
  for (let i = 0; i < warmup; i++) fn()
  const out: number[] = []
  for (let i = 0; i < repeats; i++) {
    const t = process.hrtime.bigint()
    fn()
    out.push(Number(process.hrtime.bigint() - t) / 1e9)
  }
  return out
}

/** Deterministic standard normal generator (mulberry32 + Box-Muller). @internal */
export function makeRng(seed: number): { uniform(): number; normal(): number } {
  let a = seed >>> 0
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    uniform,
    normal: () => {
      const u = Math.max(uniform(), 1e-12)
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform())
    },
  }
}
