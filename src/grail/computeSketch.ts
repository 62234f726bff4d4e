import { ReliquaryError } from '../errors/base.js'
import { DEFAULT_PROFILE, type ProtocolProfile } from '../protocol/profiles.js'
import { bucketOf } from './bucket.js'
import { deriveSketchCoefficients } from './coefficients.js'
import { toMatrix, toMatrixAsync, type HiddenInput, type Matrix } from './hidden.js'

/** Options of {@link computeSketch}. */
export type ComputeSketchOptions = {
  /** Protocol profile (topk, buckets, modulus). @default e3 */
  profile?: ProtocolProfile | undefined
  /** Compute only these rows (absolute row indices); the result has one sketch per listed row. */
  rows?: readonly number[] | undefined
}

/** Coefficients: window randomness (hex or bytes), or an already derived r vector. */
export type SketchCoefficientsInput = string | Uint8Array | Int8Array

function resolveCoefficients(c: SketchCoefficientsInput, profile: ProtocolProfile): Int8Array {
  if (c instanceof Int8Array) {
    if (c.length !== profile.grail.topk) {
      throw new ReliquaryError(
        'INVALID_ARGUMENT',
        `"coefficients" expected ${profile.grail.topk} int8 values, received ${c.length}.`,
      )
    }
    return c
  }
  return deriveSketchCoefficients(c, { profile })
}

/**
 * Computes the GRAIL commitment of every position of a `[T, d]` hidden-state matrix: for each
 * row, the top-`topk` entries by |h| (ties: the lower index wins), their indices sorted ascending,
 * the signed log-magnitude bucket of each value (float64), the dot product with r, reduced
 * modulo Q into [0, Q).
 *
 * Consensus math stays in plain JS numbers: buckets are float64 as in the reference and the dot
 * product is exact integer arithmetic, so every backend gives the same sketches. A tensor is read
 * back once (`dataSync`); on GPU backends use {@link computeSketchAsync}.
 *
 * Top-k ties: the reference uses `torch.topk`, whose tie order is implementation-defined (CUDA and
 * CPU differ). This SDK keeps the lower index; the tolerance absorbs the rare bf16 tie.
 *
 * - Spec: docs/protocol.md §1.6-§1.7 (`create_commitment(s_batch)`).
 *
 * @param hidden - `[T, d]` last-layer hidden states (see {@link HiddenInput}).
 * @param coefficients - Window randomness, or r from {@link deriveSketchCoefficients}.
 * @param options - {@link ComputeSketchOptions}
 * @returns One sketch per row (or per `options.rows` entry), each an integer in [0, Q).
 * @throws {ReliquaryError} `NON_FINITE_VALUE` if a hidden value is NaN; `GRAIL_SHAPE_MISMATCH`
 *   if d < topk or a row index is out of range; `INVALID_HEX` for malformed randomness.
 * @example
 * ```ts
 * import { computeSketch } from 'reliquary'
 * const hidden = { data: new Float32Array(4 * 64).map((_, i) => Math.sin(i) * 10), hiddenSize: 64 }
 * const sketches = computeSketch(hidden, 'b8ae25a3d8be558258bd42c986a27580c1754c29f418fd135045adcb3721cf0b')
 * ```
 */
export function computeSketch(
  hidden: HiddenInput,
  coefficients: SketchCoefficientsInput,
  options: ComputeSketchOptions = {},
): number[] {
  const profile = options.profile ?? DEFAULT_PROFILE
  return sketchMatrix(
    toMatrix(hidden),
    resolveCoefficients(coefficients, profile),
    profile,
    options.rows,
  )
}

/**
 * {@link computeSketch} for tensors on asynchronous backends (webgpu): reads the tensor with
 * `await tensor.data()`. Same result as the synchronous form.
 */
export async function computeSketchAsync(
  hidden: HiddenInput,
  coefficients: SketchCoefficientsInput,
  options: ComputeSketchOptions = {},
): Promise<number[]> {
  const profile = options.profile ?? DEFAULT_PROFILE
  return sketchMatrix(
    await toMatrixAsync(hidden),
    resolveCoefficients(coefficients, profile),
    profile,
    options.rows,
  )
}

/** Sketches the selected rows of a resolved matrix. @internal */
export function sketchMatrix(
  m: Matrix,
  r: Int8Array,
  profile: ProtocolProfile,
  rows?: readonly number[],
): number[] {
  const { topk, numBuckets, primeQ, bucketDeadzone } = profile.grail
  if (m.cols < topk) {
    throw new ReliquaryError(
      'GRAIL_SHAPE_MISMATCH',
      `Hidden size ${m.cols} is smaller than topk ${topk}.`,
    )
  }
  const scale = numBuckets / 10.0
  const sel = new Int32Array(topk)
  const cand = new Int32Array(m.cols)
  const mags = new Float64Array(topk)
  const list = rows ?? null
  const count = list ? list.length : m.rows
  const out = new Array<number>(count)
  for (let n = 0; n < count; n++) {
    const row = list ? list[n]! : n
    if (!Number.isInteger(row) || row < 0 || row >= m.rows) {
      throw new ReliquaryError(
        'GRAIL_SHAPE_MISMATCH',
        `Row ${String(row)} is outside the ${m.rows}-row hidden matrix.`,
      )
    }
    const off = row * m.cols
    topkByMagnitude(m.data, off, m.cols, topk, sel, cand, mags, row)
    let s = 0
    for (let j = 0; j < topk; j++)
      s += bucketOf(m.data[off + sel[j]!]!, numBuckets, scale, bucketDeadzone) * r[j]!
    out[n] = ((s % primeQ) + primeQ) % primeQ
  }
  return out
}

/**
 * Writes into `sel` the column indices (ascending) of the `topk` largest |h| in one row, ties
 * going to the lower index.
 *
 * Two passes: the row is cut into `topk` non-empty blocks; the smallest block maximum T is a lower
 * bound of the topk-th largest magnitude (there are topk distinct elements ≥ T), so every
 * selected element, ties included, has |h| ≥ T. The second pass collects those candidates (a few
 * dozen for real activations) and the exact order is settled among them. Both passes are
 * branch-predictable scans, about 2x faster than a running top-k set.
 */
function topkByMagnitude(
  data: ArrayLike<number>,
  off: number,
  d: number,
  topk: number,
  sel: Int32Array,
  cand: Int32Array,
  mags: Float64Array,
  rowNo: number,
): void {
  let threshold = Number.POSITIVE_INFINITY
  for (let b = 0; b < topk; b++) {
    const lo = off + Math.floor((b * d) / topk)
    const hi = off + Math.floor(((b + 1) * d) / topk)
    let m = -1
    for (let i = lo; i < hi; i++) {
      const a = Math.abs(data[i]!)
      if (a > m) m = a
    }
    if (m < threshold) threshold = m
  }
  // `!(a < threshold)` also admits NaN, so a NaN anywhere in the row reaches the candidate list
  // (a NaN-only block leaves its maximum at -1, which admits everything).
  let nc = 0
  const end = off + d
  for (let i = off; i < end; i++) if (!(Math.abs(data[i]!) < threshold)) cand[nc++] = i - off
  for (let q = 0; q < nc; q++)
    if (Number.isNaN(data[off + cand[q]!]!)) throw nanError(rowNo, cand[q]!)
  if (nc > topk) {
    // Keep the topk best candidates by (|h| desc, index asc): candidates arrive in index order,
    // so a strict comparison leaves equal magnitudes in index order.
    const best = cand.subarray(0, topk)
    let filled = 0
    for (let q = 0; q < nc; q++) {
      const col = cand[q]!
      const a = Math.abs(data[off + col]!)
      if (filled === topk && !(a > mags[topk - 1]!)) continue
      let j = filled < topk ? filled++ : topk - 1
      while (j > 0 && a > mags[j - 1]!) {
        mags[j] = mags[j - 1]!
        best[j] = best[j - 1]!
        j--
      }
      mags[j] = a
      best[j] = col
    }
    for (let j = 0; j < topk; j++) sel[j] = best[j]!
    sel.sort()
  } else {
    for (let j = 0; j < topk; j++) sel[j] = cand[j]!
  }
}

function nanError(row: number, col: number): ReliquaryError {
  return new ReliquaryError('NON_FINITE_VALUE', `Hidden state [${row}, ${col}] is NaN.`, {
    hints: [
      'A NaN hidden state means the forward pass overflowed or the input is corrupt; no sketch is defined for it.',
    ],
    meta: { row, col },
  })
}
