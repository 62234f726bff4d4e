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
      throw new ReliquaryError('INVALID_ARGUMENT', `"coefficients" expected ${profile.grail.topk} int8 values, received ${c.length}.`)
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
 * - Spec: PROTOCOL.md §1.6-§1.7 (`create_commitment(s_batch)`).
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
export function computeSketch(hidden: HiddenInput, coefficients: SketchCoefficientsInput, options: ComputeSketchOptions = {}): number[] {
  const profile = options.profile ?? DEFAULT_PROFILE
  return sketchMatrix(toMatrix(hidden), resolveCoefficients(coefficients, profile), profile, options.rows)
}

/**
 * {@link computeSketch} for tensors on asynchronous backends (webgpu): reads the tensor with
 * `await tensor.data()`. Same result as the synchronous form.
 */
export async function computeSketchAsync(hidden: HiddenInput, coefficients: SketchCoefficientsInput, options: ComputeSketchOptions = {}): Promise<number[]> {
  const profile = options.profile ?? DEFAULT_PROFILE
  return sketchMatrix(await toMatrixAsync(hidden), resolveCoefficients(coefficients, profile), profile, options.rows)
}

/** Sketches the selected rows of a resolved matrix. @internal */
export function sketchMatrix(m: Matrix, r: Int8Array, profile: ProtocolProfile, rows?: readonly number[]): number[] {
  const { topk, numBuckets, primeQ, bucketDeadzone } = profile.grail
  if (m.cols < topk) {
    throw new ReliquaryError('GRAIL_SHAPE_MISMATCH', `Hidden size ${m.cols} is smaller than topk ${topk}.`)
  }
  const scale = numBuckets / 10.0
  const idx = new Int32Array(topk)
  const mag = new Float64Array(topk)
  const list = rows ?? null
  const count = list ? list.length : m.rows
  const out = new Array<number>(count)
  for (let n = 0; n < count; n++) {
    const row = list ? list[n]! : n
    if (!Number.isInteger(row) || row < 0 || row >= m.rows) {
      throw new ReliquaryError('GRAIL_SHAPE_MISMATCH', `Row ${String(row)} is outside the ${m.rows}-row hidden matrix.`)
    }
    out[n] = sketchRowAt(m.data, row * m.cols, m.cols, r, topk, numBuckets, scale, bucketDeadzone, primeQ, idx, mag, row)
  }
  return out
}

/**
 * Sketch of one row starting at `off`. Selection keeps a small unsorted top-k set and its current
 * minimum (by |h|, then by higher index): one comparison per element in the common case.
 */
function sketchRowAt(
  data: ArrayLike<number>, off: number, d: number, r: Int8Array, topk: number, numBuckets: number,
  scale: number, deadzone: number, primeQ: number, idx: Int32Array, mag: Float64Array, rowNo: number,
): number {
  for (let i = 0; i < topk; i++) {
    const v = data[off + i]!
    if (v !== v) throw nanError(rowNo, i)
    idx[i] = i
    mag[i] = v < 0 ? -v : v
  }
  let minPos = findMin(idx, mag, topk)
  let minMag = mag[minPos]!
  for (let i = topk; i < d; i++) {
    const v = data[off + i]!
    const a = v < 0 ? -v : v
    if (a > minMag) {
      idx[minPos] = i
      mag[minPos] = a
      minPos = findMin(idx, mag, topk)
      minMag = mag[minPos]!
    } else if (v !== v) {
      throw nanError(rowNo, i)
    }
  }
  // Indices ascending (insertion sort on topk entries), then buckets · r.
  for (let i = 1; i < topk; i++) {
    const x = idx[i]!
    let j = i - 1
    while (j >= 0 && idx[j]! > x) {
      idx[j + 1] = idx[j]!
      j--
    }
    idx[j + 1] = x
  }
  let s = 0
  for (let j = 0; j < topk; j++) s += bucketOf(data[off + idx[j]!]!, numBuckets, scale, deadzone) * r[j]!
  return ((s % primeQ) + primeQ) % primeQ
}

/** Position of the entry that leaves first: smallest |h|, and among equals the highest index. */
function findMin(idx: Int32Array, mag: Float64Array, k: number): number {
  let p = 0
  for (let j = 1; j < k; j++) {
    if (mag[j]! < mag[p]! || (mag[j] === mag[p] && idx[j]! > idx[p]!)) p = j
  }
  return p
}

function nanError(row: number, col: number): ReliquaryError {
  return new ReliquaryError('NON_FINITE_VALUE', `Hidden state [${row}, ${col}] is NaN.`, {
    hints: ['A NaN hidden state means the forward pass overflowed or the input is corrupt; no sketch is defined for it.'],
    meta: { row, col },
  })
}
