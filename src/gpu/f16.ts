/**
 * f16 weights on the GPU: two halves per 32-bit word in an int32 TF.js tensor (TF.js has no f16
 * dtype), row-major `[rows, cols]`. Conversion counts every value outside f16's finite range and
 * refuses the matrix instead of storing infinities.
 */
import * as tf from '@tensorflow/tfjs-core'
import { ReliquaryError } from '../errors/base.js'
import {
  grid,
  runGpu,
  webgpuBackend,
  wgslBindings,
  runKernel,
  type KernelArgs,
} from './_dispatch.js'

/** An f16 matrix `[rows, cols]` on the GPU. */
export type GpuF16Matrix = {
  readonly kind: 'f16'
  /** `rows · cols / 2` int32 words, each holding two f16 values (low half first). */
  readonly data: tf.Tensor1D
  readonly rows: number
  readonly cols: number
}

const NAME = 'ReliquaryToF16'

const shader = () => `
${wgslBindings({ read: ['x: f32'], readWrite: ['y: u32', 'bad: atomic<u32>'], uniform: 'pairs: u32, gx: u32' })}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * u.gx) * 256u + li;
  if (i >= u.pairs) { return; }
  let v = vec2f(x[2u * i], x[2u * i + 1u]);
  let ok = abs(v) <= vec2f(65504.0);
  if (!all(ok)) { atomicAdd(&bad[0], 1u); }
  y[i] = pack2x16float(clamp(v, vec2f(-65504.0), vec2f(65504.0)));
}`

function kernel({ inputs }: KernelArgs) {
  const { x } = inputs as Record<string, tf.TensorInfo>
  const pairs = tf.util.sizeFromShape(x!.shape) / 2
  const [gx, gy] = grid(Math.ceil(pairs / 256))
  const outs = runGpu(webgpuBackend(), {
    key: 'tof16',
    code: shader,
    inputs: [x!],
    outputs: [
      { shape: [pairs], dtype: 'int32' },
      { shape: [1], dtype: 'int32', init: new Int32Array(1) },
    ],
    uniforms: [pairs, gx],
    workgroups: [gx, gy],
  })
  return outs
}

/**
 * Converts a float32 matrix on the GPU to an f16 matrix (round to nearest). The source is kept.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` when the element count is odd, or when any value lies
 *   outside f16's finite range (±65504): such a weight must stay on the f32 path.
 */
export async function toGpuF16(x: tf.Tensor2D, name = 'weight'): Promise<GpuF16Matrix> {
  const [rows, cols] = x.shape
  if ((rows * cols) % 2 !== 0)
    throw new ReliquaryError('INVALID_ARGUMENT', `${name}: an f16 matrix needs an even size.`)
  const [data, bad] = runKernel(NAME, kernel, { x }) as unknown as [tf.Tensor1D, tf.Tensor1D]
  const n = (await bad.data())[0]!
  bad.dispose()
  if (n > 0) {
    data.dispose()
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      `${name}: ${n} value pair(s) lie outside f16's range (±65504); this weight cannot be stored in f16.`,
      { hints: ['Load the model with precision "f32".'] },
    )
  }
  return { kind: 'f16', data, rows, cols }
}

/** Frees an f16 matrix. */
export function disposeF16(m: GpuF16Matrix): void {
  m.data.dispose()
}
