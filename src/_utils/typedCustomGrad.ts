import * as tf from '@tensorflow/tfjs-core'

/**
 * `tf.customGrad` under the caller's own signature. TF.js types the forward function over plain
 * `Tensor` arguments (`(...args: Tensor[]) => { value, gradFunc }`), which typed ranks, a trailing
 * save function and a narrowed `gradFunc` do not fit, so every caller needs the same two casts;
 * they live here once. `Op` is the signature of the returned differentiable function.
 * @internal
 */
export function typedCustomGrad<Op>(
  f: (...args: never[]) => { value: unknown; gradFunc: (...a: never[]) => unknown },
): Op {
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as Op
}
