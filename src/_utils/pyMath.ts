/**
 * Python float semantics the reward, scoring and training code must reproduce exactly: `sum()` of
 * floats switched to Neumaier compensated summation in CPython 3.12 (the reference vectors were
 * produced with it, so sums that feed σ and advantages use {@link pySum}), and `round()` rounds
 * half to even.
 * @internal
 */

/**
 * CPython 3.12+ `sum(xs)` over floats: Neumaier's improved Kahan–Babuška summation, with the
 * compensation added once at the end (and only when it is finite and non-zero, as CPython does).
 * @internal
 */
export function pySum(xs: readonly number[]): number {
  let s = 0
  let c = 0
  for (const x of xs) {
    const t = s + x
    if (Math.abs(s) >= Math.abs(x)) c += s - t + x
    else c += x - t + s
    s = t
  }
  if (c !== 0 && Number.isFinite(c)) s += c
  return s
}

/** Python `round(x)` for a float: round half to even on the exact binary value. @internal */
export function pyRound(x: number): number {
  const f = Math.floor(x)
  const d = x - f
  if (d > 0.5) return f + 1
  if (d < 0.5) return f
  return f % 2 === 0 ? f : f + 1
}
