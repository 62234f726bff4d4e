/**
 * A differentiable `x · w` whose forward and both backward products run on this folder's f32 GEMM
 * kernels (the 128 x 128 tiled kernel where the sizes are multiples of 4, else the 64 x 64 one) on
 * the webgpu backend, and on `tf.matMul` (with TF.js's own gradient) on every other backend.
 * Accumulation is float32 throughout; only the summation order differs from TF.js's kernels.
 */
import * as tf from '@tensorflow/tfjs-core'
import { typedCustomGrad } from '../_utils/typedCustomGrad.js'
import { gpuMatMul, gpuMatMulTransposed } from './matmul.js'

type Product = (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D

/**
 * Switch of {@link tapeMatMul}, settable for benchmarks and parity tests: `gpu: false` makes it
 * `tf.matMul` on webgpu as well (TF.js's own product kernels and gradient).
 */
export const tapeMatMulOptions: { gpu: boolean } = { gpu: true }

/** `dy · wᵀ` for `dy` `[M, N]` and `w` `[K, N]`: the transposed-operand kernel reads `w` as is. */
function inputGrad(dy: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  const [k, n] = w.shape
  if (k % 4 === 0 && n % 4 === 0) return gpuMatMulTransposed(dy, w)
  return tf.tidy(() => gpuMatMul(dy, tf.transpose(w)))
}

/**
 * `xᵀ · dy` for `x` `[M, K]` and `dy` `[M, N]`: one product over all M rows (every sequence and
 * position of the batch), on a transposed copy of `x` (`[K, M]`, freed at once).
 */
function weightGrad(x: tf.Tensor2D, dy: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => gpuMatMul(tf.transpose(x), dy))
}

let product: Product | undefined
const makeProduct = (): Product =>
  typedCustomGrad<Product>((x: tf.Tensor2D, w: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([x, w])
    return {
      value: gpuMatMul(x, w),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => [
        inputGrad(dy, saved[1] as tf.Tensor2D),
        weightGrad(saved[0] as tf.Tensor2D, dy),
      ],
    }
  })

/**
 * `x · w` for `x` `[M, K]` and `w` `[K, N]` (float32), differentiable with respect to both: on the
 * webgpu backend the forward product and the two gradient products (`dy · wᵀ` and `xᵀ · dy`) run
 * on the src/gpu GEMM kernels in the backend's own command stream; elsewhere (or with
 * {@link tapeMatMulOptions}`.gpu` false) it is `tf.matMul`. Matches `tf.matMul` and its gradients
 * up to float32 summation order.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core'
 * import { tapeMatMul } from 'reliquary/gpu'
 * const w = tf.variable(tf.randomNormal([64, 32]))
 * const { grads } = tf.variableGrads(() => tf.sum(tapeMatMul(tf.ones([8, 64]), w)), [w])
 * ```
 */
export function tapeMatMul(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  if (tf.getBackend() !== 'webgpu' || !tapeMatMulOptions.gpu) return tf.matMul(x, w)
  product ??= makeProduct()
  return product(x, w)
}

/**
 * The two gradient products of `y = x · w` for an upstream gradient `dy` `[M, N]`: `[dy · wᵀ,
 * xᵀ · dy]`, on the src/gpu GEMMs on the webgpu backend (as {@link tapeMatMul}'s gradient), else
 * on `tf.matMul` over explicit transposes (the wasm backend runs transposed operands on a naive
 * loop). For ops that recompute a product in their own gradient.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core'
 * import { tapeMatMulGrads } from 'reliquary/gpu'
 * const [dx, dw] = tapeMatMulGrads(tf.ones([8, 64]), tf.ones([64, 32]), tf.ones([8, 32]))
 * ```
 */
export function tapeMatMulGrads(
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  dy: tf.Tensor2D,
): [tf.Tensor2D, tf.Tensor2D] {
  if (tf.getBackend() === 'webgpu' && tapeMatMulOptions.gpu)
    return [inputGrad(dy, w), weightGrad(x, dy)]
  return tf.tidy(() => [tf.matMul(dy, tf.transpose(w)), tf.matMul(tf.transpose(x), dy)])
}
