/**
 * Embedding lookup from an f16 matrix on the GPU, and the host conversion of checkpoint bytes to
 * f16 bits (no float32 copy of a tensor is made).
 * @internal
 */
import type * as tf from '@tensorflow/tfjs-core'
import {
  grid,
  runGpu,
  webgpuBackend,
  wgslBindings,
  runKernel,
  type KernelArgs,
} from './_dispatch.js'
import type { GpuF16Matrix } from './f16.js'

const NAME = 'ReliquaryGatherF16'

// Output [T, d] f32. Table rows x cols of f16 (two per u32). `byColumn`: the embedding of id i is
// column (i - lo) (a [d, vocab] kernel); else row (i - lo). Ids outside [lo, lo + count) give 0.
const shader = () => `
${wgslBindings({ read: ['w: u32', 'ids: i32'], readWrite: ['y: f32'], uniform: 'n: u32, d: u32, cols: u32, byColumn: u32, lo: i32, count: i32, gx: u32' })}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * u.gx) * 256u + li;
  if (i >= u.n) { return; }
  let t = i / u.d;
  let j = i % u.d;
  let r = ids[t] - u.lo;
  if (r < 0 || r >= u.count) { y[i] = 0.0; return; }
  let k = select(u32(r) * u.cols + j, j * u.cols + u32(r), u.byColumn == 1u);
  y[i] = unpack2x16float(w[k >> 1u])[k & 1u];
}`

function kernel({ inputs, attrs }: KernelArgs) {
  const { w, ids } = inputs as Record<string, tf.TensorInfo>
  const a = attrs as Record<string, number>
  const T = ids!.shape[0]!
  const n = T * a.d!
  const [gx, gy] = grid(Math.ceil(n / 256))
  return runGpu(webgpuBackend(), {
    key: 'gatherf16',
    code: shader,
    inputs: [w!, ids!],
    outputs: [{ shape: [T, a.d!], dtype: 'float32' }],
    uniforms: [n, a.d!, a.cols!, a.byColumn!, { i: a.lo! }, { i: a.count! }, gx],
    workgroups: [gx, gy],
  })[0]!
}

/**
 * Embedding rows `[T, d]` float32 from an f16 table: rows of `[count, d]` (`byColumn` false) or
 * columns of `[d, count]` (`byColumn` true) holding ids `lo … lo + count − 1`; other ids give
 * zero rows (so the parts of a split table sum to the lookup).
 */
export function gatherF16(
  table: GpuF16Matrix,
  ids: tf.Tensor1D,
  o: { byColumn: boolean; lo: number },
): tf.Tensor2D {
  const d = o.byColumn ? table.rows : table.cols
  const count = o.byColumn ? table.cols : table.rows
  return runKernel(
    NAME,
    kernel,
    { w: table.data, ids },
    { d, cols: table.cols, byColumn: o.byColumn ? 1 : 0, lo: o.lo, count },
  ) as tf.Tensor2D
}

const f32 = new Float32Array(1)
const u32 = new Uint32Array(f32.buffer)

/** IEEE binary16 bits of a float32 given by its bits, round to nearest even. */
function halfFromFloatBits(bits: number): number {
  const sign = (bits >>> 16) & 0x8000
  const exp = (bits >>> 23) & 0xff
  let mant = bits & 0x7fffff
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0)
  const e = exp - 112
  if (e >= 0x1f) return sign | 0x7c00
  if (e <= 0) {
    if (e < -10) return sign
    mant |= 0x800000
    const shift = 14 - e
    let h = mant >>> shift
    const rem = mant & ((1 << shift) - 1)
    const mid = 1 << (shift - 1)
    if (rem > mid || (rem === mid && h & 1)) h++
    return sign | h
  }
  let h = (e << 10) | (mant >>> 13)
  const rem = mant & 0x1fff
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++
  return sign | h
}

/**
 * f16 bits of a checkpoint tensor's raw little-endian bytes (`BF16`, `F16`, `F32` or `F64`), and
 * the count of values that are not finite or lie outside f16's range (±65504).
 */
export function toF16Bits(bytes: Uint8Array, dtype: string): { bits: Uint16Array; bad: number } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const size = { BF16: 2, F16: 2, F32: 4, F64: 8 }[dtype]
  if (!size) throw new Error(`dtype ${dtype} cannot be converted to f16`)
  const n = bytes.byteLength / size
  const bits = new Uint16Array(n)
  let bad = 0
  for (let i = 0; i < n; i++) {
    if (dtype === 'F16') {
      const h = dv.getUint16(2 * i, true)
      if ((h & 0x7c00) === 0x7c00) bad++
      bits[i] = h
      continue
    }
    if (dtype === 'BF16') u32[0] = dv.getUint16(2 * i, true) << 16
    else if (dtype === 'F32') u32[0] = dv.getUint32(4 * i, true)
    else f32[0] = dv.getFloat64(8 * i, true)
    const v = f32[0]!
    if (!(Math.abs(v) <= 65504)) bad++
    bits[i] = halfFromFloatBits(u32[0]!)
  }
  return { bits, bad }
}
