// The decoder layer stack shared by the packed forward (gpuModel.ts) and batched generation
// (generateBatch.ts): they differ only in how a layer's attention is computed.
import * as tf from '@tensorflow/tfjs-core'
import { gpuRope, gpuSwiGlu } from './elementwise.js'
import type { GpuWeight, GpuWeights } from './gpuModel.js'
import { gpuMatMul, gpuMatMulSplit } from './matmul.js'
import { gpuQkNormRope, qkNormRopeOptions } from './qkNormRope.js'
import { gpuAddRmsNorm, gpuRmsNorm } from './rmsNorm.js'

/**
 * Matrix product by a possibly split weight, bias added once.
 * @internal
 */
export function weightMatMul(x: tf.Tensor2D, w: GpuWeight, b?: tf.Tensor1D): tf.Tensor2D {
  if (w instanceof tf.Tensor || w.kind === 'f16') return gpuMatMul(x, w, b)
  return tf.tidy(() => {
    const y = tf.concat(
      w.parts.map((p) => weightMatMul(x, p)),
      1,
    )
    return b ? tf.add(y, b) : y
  })
}

/**
 * A layer's attention over its rotated queries and keys (`[rows, heads, headDim]`) and values;
 * returns `[rows, heads × headDim]`.
 * @internal
 */
export type LayerAttention = (
  layer: number,
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
) => tf.Tensor2D

/**
 * Every decoder layer over `rows` embedded token rows `x` (taken over and disposed), RoPE from
 * `cos`/`sin` rows; returns the final-norm hidden states `[rows, d]`.
 * @internal
 */
export function decoderLayers(
  w: GpuWeights,
  x0: tf.Tensor2D,
  o: {
    readonly heads: number
    readonly kvHeads: number
    readonly headDim: number
    readonly eps: number
    readonly cos: tf.Tensor2D
    readonly sin: tf.Tensor2D
  },
  attend: LayerAttention,
): tf.Tensor2D {
  const layers = w.layers
  const { heads, kvHeads, headDim: hd, eps, cos, sin } = o
  const R = x0.shape[0]
  const mm = (x: tf.Tensor2D, l: { w: GpuWeight; b?: tf.Tensor1D | undefined }) =>
    weightMatMul(x, l.w, l.b)
  let x = x0
  let h = gpuRmsNorm(x, layers[0]!.inputNorm, eps)
  layers.forEach((l, i) => {
    const next = tf.tidy(() => {
      const [q2, k2, v2] = l.qkv
        ? gpuMatMulSplit(h, l.qkv.w, l.qkv.widths, l.qkv.b)
        : [mm(h, l.q), mm(h, l.k), mm(h, l.v)]
      let q = tf.reshape(q2!, [R, heads, hd]) as tf.Tensor3D
      let k = tf.reshape(k2!, [R, kvHeads, hd]) as tf.Tensor3D
      const v = tf.reshape(v2!, [R, kvHeads, hd]) as tf.Tensor3D
      if (l.qNorm && l.kNorm && qkNormRopeOptions.fused && hd <= 256 && hd % 2 === 0) {
        ;[q, k] = gpuQkNormRope(q, k, { q: l.qNorm, k: l.kNorm, eps }, cos, sin)
      } else {
        if (l.qNorm) q = gpuRmsNorm(q, l.qNorm, eps)
        if (l.kNorm) k = gpuRmsNorm(k, l.kNorm, eps)
        q = gpuRope(q, cos, sin)
        k = gpuRope(k, cos, sin)
      }
      const attn = attend(i, q, k, v)
      const [x1, h2] = gpuAddRmsNorm(x, mm(attn, l.o), l.postAttentionNorm, eps)
      const act = l.gateUp
        ? gpuMatMulSplit(h2, l.gateUp, [l.gateUp.cols], undefined, { swiglu: true })[0]!
        : gpuSwiGlu(mm(h2, l.gate), mm(h2, l.up))
      const norm = layers[i + 1]?.inputNorm ?? w.finalNorm
      const [x2, hn] = gpuAddRmsNorm(x1, mm(act, l.down), norm, eps)
      return { x: x2, h: hn }
    })
    x.dispose()
    h.dispose()
    x = next.x
    h = next.h
  })
  x.dispose()
  return h
}
