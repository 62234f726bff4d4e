// Logistic regression for the frontier picker's prompt-feature forecast (and the bench's replay).

/**
 * Ridge logistic regression fitted by Newton steps: weights w minimising the log-loss of
 * `sigmoid(w · x)` plus `lambda / 2 · |w|²` over every column but the first (the intercept, which
 * rows must carry as a constant 1). Small dense problems only (a few features).
 *
 * @param xs - Feature rows, each starting with 1.
 * @param ys - Outcomes (0 or 1), one per row.
 * @param lambda - Ridge strength on the non-intercept weights.
 * @param steps - Newton steps.
 * @returns The weights, one per column.
 * @example
 * ```ts
 * fitLogistic([[1], [1], [1], [1]], [1, 1, 1, 0]) // [ln 3] ≈ [1.0986]
 * ```
 */
export function fitLogistic(
  xs: readonly (readonly number[])[],
  ys: readonly number[],
  lambda = 1,
  steps = 25,
): number[] {
  const d = xs[0]?.length ?? 0
  let w = new Array<number>(d).fill(0)
  for (let it = 0; it < steps; it++) {
    const g = new Array<number>(d).fill(0)
    const h = Array.from({ length: d }, () => new Array<number>(d).fill(0))
    xs.forEach((x, i) => {
      const p = logistic(w, x)
      const r = p - ys[i]!
      const s = p * (1 - p)
      for (let j = 0; j < d; j++) {
        g[j]! += r * x[j]!
        for (let k = 0; k < d; k++) h[j]![k]! += s * x[j]! * x[k]!
      }
    })
    // The intercept (column 0) is not shrunk.
    for (let j = 1; j < d; j++) {
      g[j]! += lambda * w[j]!
      h[j]![j]! += lambda
    }
    const delta = solve(h, g)
    w = w.map((v, j) => v - delta[j]!)
  }
  return w
}

/** Solves h·x = g (Gaussian elimination with partial pivoting; h is small and positive definite). */
function solve(h: readonly (readonly number[])[], g: readonly number[]): number[] {
  const n = g.length
  const a = h.map((row, i) => [...row, g[i]!])
  for (let c = 0; c < n; c++) {
    let piv = c
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[piv]![c]!)) piv = r
    ;[a[c], a[piv]] = [a[piv]!, a[c]!]
    for (let r = c + 1; r < n; r++) {
      const f = a[r]![c]! / a[c]![c]!
      for (let k = c; k <= n; k++) a[r]![k]! -= f * a[c]![k]!
    }
  }
  const x = new Array<number>(n).fill(0)
  for (let r = n - 1; r >= 0; r--) {
    let s = a[r]![n]!
    for (let k = r + 1; k < n; k++) s -= a[r]![k]! * x[k]!
    x[r] = s / a[r]![r]!
  }
  return x
}

/**
 * `sigmoid(w · x)`: the forecast of weights w (from {@link fitLogistic}) for row x.
 * @param w - Weights.
 * @param x - Feature row.
 * @returns A probability.
 */
export function logistic(w: readonly number[], x: readonly number[]): number {
  let z = 0
  for (let i = 0; i < w.length; i++) z += w[i]! * (x[i] ?? 0)
  return 1 / (1 + Math.exp(-z))
}
