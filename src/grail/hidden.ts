import { ReliquaryError, describeValue } from '../errors/base.js'

/** The subset of a TensorFlow.js `Tensor2D` the GRAIL functions read (no tfjs import needed). */
export type TensorLike2D = {
  readonly shape: readonly number[]
  readonly dtype: string
  dataSync(): ArrayLike<number>
  data(): Promise<ArrayLike<number>>
}

/**
 * A `[T, d]` hidden-state matrix: a row-major typed array with its row width, an array of rows,
 * or a 2-D tensor (tf.Tensor2D, read on the caller's backend).
 */
export type HiddenInput =
  | { readonly data: Float32Array | Float64Array; readonly hiddenSize: number }
  | readonly ArrayLike<number>[]
  | TensorLike2D

/** A resolved row-major matrix. @internal */
export type Matrix = { data: ArrayLike<number>; rows: number; cols: number }

/** Upper bound on the elements of one hidden matrix accepted (8192 × 16384). */
export const MAX_HIDDEN_ELEMENTS = 8192 * 16384

function isTensorLike(h: unknown): h is TensorLike2D {
  return (
    typeof h === 'object' &&
    h !== null &&
    Array.isArray((h as TensorLike2D).shape) &&
    typeof (h as TensorLike2D).dataSync === 'function'
  )
}

function check(rows: number, cols: number): void {
  if (
    !Number.isInteger(rows) ||
    !Number.isInteger(cols) ||
    rows < 0 ||
    cols <= 0 ||
    rows * cols > MAX_HIDDEN_ELEMENTS
  ) {
    throw new ReliquaryError(
      'GRAIL_SHAPE_MISMATCH',
      `Hidden matrix [${rows}, ${cols}] is empty-width or larger than ${MAX_HIDDEN_ELEMENTS} elements.`,
    )
  }
}

function fromTensorData(h: TensorLike2D, data: ArrayLike<number>): Matrix {
  if (h.shape.length !== 2) {
    throw new ReliquaryError(
      'GRAIL_SHAPE_MISMATCH',
      `Hidden tensor must be 2-D [T, d], received shape [${h.shape.join(', ')}].`,
    )
  }
  const [rows, cols] = h.shape as [number, number]
  check(rows, cols)
  return { data, rows, cols }
}

/** Normalises any {@link HiddenInput} synchronously. @internal */
export function toMatrix(h: HiddenInput): Matrix {
  if (isTensorLike(h)) {
    let data: ArrayLike<number>
    try {
      data = h.dataSync()
    } catch (e) {
      throw new ReliquaryError(
        'INVALID_ARGUMENT',
        'This tensor cannot be read synchronously on its backend.',
        {
          hints: [
            'Use computeSketchAsync / verifySketchAsync on GPU backends (webgpu), which read with await tensor.data().',
          ],
          cause: e,
        },
      )
    }
    return fromTensorData(h, data)
  }
  return fromPlain(h)
}

/** Normalises any {@link HiddenInput}, reading tensors with `await data()`. @internal */
export async function toMatrixAsync(h: HiddenInput): Promise<Matrix> {
  if (isTensorLike(h)) return fromTensorData(h, await h.data())
  return fromPlain(h)
}

function fromPlain(h: Exclude<HiddenInput, TensorLike2D>): Matrix {
  if (Array.isArray(h)) {
    const rows = h.length
    const cols = rows ? (h[0] as ArrayLike<number>).length : 1
    check(rows, cols)
    const data = new Float64Array(rows * cols)
    for (let r = 0; r < rows; r++) {
      const row = h[r] as ArrayLike<number>
      if (!row || typeof row.length !== 'number' || row.length !== cols) {
        throw new ReliquaryError(
          'GRAIL_SHAPE_MISMATCH',
          `Hidden row ${r} has length ${describeValue(row?.length)}, expected ${cols}.`,
        )
      }
      for (let c = 0; c < cols; c++) {
        const v = row[c]
        if (typeof v !== 'number')
          throw new ReliquaryError('INVALID_ARGUMENT', `Hidden value [${r}, ${c}] is not a number.`)
        data[r * cols + c] = v
      }
    }
    return { data, rows, cols }
  }
  const m = h as { data: unknown; hiddenSize: unknown }
  if (!(m.data instanceof Float32Array || m.data instanceof Float64Array)) {
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      '"hidden.data" expected a Float32Array or Float64Array.',
      {
        hints: ['Pass { data, hiddenSize }, an array of rows, or a tf.Tensor2D.'],
      },
    )
  }
  const cols = m.hiddenSize
  if (
    typeof cols !== 'number' ||
    !Number.isInteger(cols) ||
    cols <= 0 ||
    m.data.length % cols !== 0
  ) {
    throw new ReliquaryError(
      'GRAIL_SHAPE_MISMATCH',
      `"hidden.hiddenSize" (${describeValue(cols)}) must be a positive divisor of data length ${m.data.length}.`,
    )
  }
  check(m.data.length / cols, cols)
  return { data: m.data, rows: m.data.length / cols, cols }
}
