/**
 * The completion log-probs of a chunk of hidden rows with the `lm_head` product and the
 * `[rows, vocab]` log-softmax recomputed in the backward pass instead of kept on the tape.
 * @internal
 */
import * as tf from '@tensorflow/tfjs-core'
import { typedCustomGrad } from '../_utils/typedCustomGrad.js'
import { gpuPickedLogprobs } from '../gpu/pickedLogprobs.js'
import { tapeMatMulGrads, tapeMatMulOptions } from '../gpu/tapeMatMul.js'
import type { CausalLM } from '../model/loadModel.js'

type Picked = (rows: tf.Tensor2D, lmHead: tf.Tensor2D) => tf.Tensor1D

/**
 * Whether the completion log-probs run on the fused src/gpu kernels ({@link gpuPickedLogprobs}):
 * on the webgpu backend while the src/gpu products are on (`tapeMatMulOptions.gpu`, which also
 * gives benchmarks and parity tests the plain TF.js path there). Every other backend keeps the
 * TF.js ops.
 */
export function fusedLogprobs(): boolean {
  return tf.getBackend() === 'webgpu' && tapeMatMulOptions.gpu
}

/**
 * `log_softmax(rows · lm_head)[i, targets[i]]` for each row, `[n]`: the ops of the plain path
 * (fp32 log-softmax, one-hot product), differentiable with respect to `rows` and the `lm_head`
 * kernel. The tape keeps only `rows` (and the ids); the gradient evaluates the logits and the
 * log-softmax again and takes TF.js's LogSoftmax gradient by hand (`dlp − Σdlp · exp(logp)`, with
 * `dlp` the one-hot times the upstream gradient), then both product gradients
 * ({@link tapeMatMulGrads}). On the webgpu backend ({@link fusedLogprobs}) the same with the
 * log-softmax, pick and logits' gradient in one kernel each ({@link gpuPickedLogprobs} with
 * `recompute`). Must run inside a tidy or gradient scope owned by the caller.
 */
export function pickedLogprobs(
  model: CausalLM,
  rows: tf.Tensor2D,
  targets: tf.Tensor1D,
): tf.Tensor1D {
  if (fusedLogprobs())
    return gpuPickedLogprobs(rows, model._internal.weights.lmHead, targets, { recompute: true })
  const V = model.config.vocabSize
  const logp = (r: tf.Tensor2D) => tf.logSoftmax(model.computeLogits(r))
  const onehot = (ids: tf.Tensor) => tf.cast(tf.oneHot(ids as tf.Tensor1D, V), 'float32')
  const op = typedCustomGrad<Picked>((r: tf.Tensor2D, w: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([r, targets])
    return {
      value: tf.sum(tf.mul(logp(r), onehot(targets)), 1),
      gradFunc: (dy: tf.Tensor1D, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const rs = saved[0] as tf.Tensor2D
          const dlp = tf.mul(onehot(saved[1]!), tf.expandDims(dy, 1))
          const dlogits = tf.sub(dlp, tf.mul(tf.sum(dlp, 1, true), tf.exp(logp(rs))))
          return tapeMatMulGrads(rs, w, dlogits as tf.Tensor2D)
        }),
    }
  })
  return op(rows, model._internal.weights.lmHead)
}
