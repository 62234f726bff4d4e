/**
 * The decoder over several sequences in one pass: the math of `decoderStep` (same weights, same
 * helpers) on rows `[B·T, d]`, with attention as one batched product over `B·KV` groups and one
 * causal mask shared by every sequence. Used under the gradient tape, where one pass over B
 * sequences records B times fewer kernels than B passes and gives the products B times more rows.
 * @internal
 */
import * as tf from '@tensorflow/tfjs-core'
import { tapeFusedOptions, tapeRmsNorm, tapeRope, tapeSwiGlu } from '../gpu/tapeFused.js'
import type { ModelConfig } from './parseModelConfig.js'
import type { RopeTables } from './_rope.js'
import { checkpoint } from './_checkpoint.js'
import {
  applyRope,
  causalMask,
  type DecoderWeights,
  embedTokens,
  type LayerWeights,
  type Linear,
  linearOf,
  packsPerCall,
  rmsNorm,
} from './_decoder.js'

/** Inputs of {@link decoderBatch}. */
export type DecoderBatchInput = {
  readonly cfg: ModelConfig
  readonly weights: DecoderWeights
  readonly rope: RopeTables
  /** The sequences (each non-empty, ids already checked), right-padded here to the longest. */
  readonly sequences: readonly (readonly number[])[]
  /** Recompute each layer in the backward pass instead of keeping its intermediates. */
  readonly checkpoint?: boolean | undefined
}

/**
 * Causal GQA attention of B sequences: q `[B, T, H, hd]` (already scaled), k, v `[B, T, KV, hd]`,
 * mask `[T, T]`. Returns `[B·T, H·hd]`, heads in the order of `attend`'s batched form (heads
 * g·rep … g·rep+rep−1 share kv head g).
 */
function attendBatch(
  q: tf.Tensor4D,
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  mask: tf.Tensor2D,
): tf.Tensor2D {
  const [b, t, h, hd] = q.shape
  const kv = k.shape[2]
  const rep = h / kv
  const qg = tf.reshape(tf.transpose(q, [0, 2, 1, 3]), [b * kv, rep * t, hd])
  const kg = tf.reshape(tf.transpose(k, [0, 2, 1, 3]), [b * kv, t, hd])
  const vg = tf.reshape(tf.transpose(v, [0, 2, 1, 3]), [b * kv, t, hd])
  const s = tf.add(tf.reshape(tf.matMul(qg, kg, false, true), [b * kv, rep, t, t]), mask)
  const p = tf.reshape(tf.softmax(s), [b * kv, rep * t, t])
  const o = tf.reshape(tf.matMul(p, vg), [b, h, t, hd])
  return tf.reshape(tf.transpose(o, [0, 2, 1, 3]), [b * t, h * hd])
}

/** A layer's tensors (what its gradient is taken with respect to), optional ones skipped. */
const LINEARS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const
function layerParams(lw: LayerWeights): tf.Tensor[] {
  const out: tf.Tensor[] = [lw.inputNorm, lw.postAttentionNorm]
  if (lw.qNorm) out.push(lw.qNorm)
  if (lw.kNorm) out.push(lw.kNorm)
  for (const n of LINEARS) {
    out.push(lw[n].w)
    if (lw[n].b) out.push(lw[n].b)
  }
  return out
}

/** The layer's RMSNorm, RoPE (times a constant) and SwiGLU gate. */
type LayerOps = {
  readonly norm: <T extends tf.Tensor>(x: T, w: tf.Tensor1D, eps: number) => T
  readonly rope: (x: tf.Tensor4D, cos: tf.Tensor3D, sin: tf.Tensor3D, scale: number) => tf.Tensor4D
  readonly swiGlu: (g: tf.Tensor2D, up: tf.Tensor2D) => tf.Tensor2D
}

/** TF.js's generic ops (every backend but webgpu: the reference arithmetic). */
const GENERIC: LayerOps = {
  norm: rmsNorm,
  rope: (x, c, s, scale) => {
    const y = applyRope(x, c, s, x.shape[3])
    return scale === 1 ? y : tf.mul(y, scale)
  },
  swiGlu: (g, up) => tf.mul(tf.mul(g, tf.sigmoid(g)), up),
}

/** src/gpu's fused kernels with their own backward kernels (webgpu). */
const FUSED: LayerOps = { norm: tapeRmsNorm, rope: tapeRope, swiGlu: tapeSwiGlu }

/**
 * Final-norm hidden states `[B·T, d]` of B sequences right-padded (with id 0) to the longest
 * length T: row `b·T + t` is sequence b's position t. Padding follows every real position, so
 * under the causal mask it changes no real row, and the gradient reaching pad rows is zero; the
 * caller reads real rows only. Must run inside a `tf.tidy` or gradient scope owned by the caller.
 * With `checkpoint` (and a recording tape) each layer keeps only its input on the tape and is
 * evaluated again in the backward pass (see `_checkpoint.ts`). On the webgpu backend RMSNorm, RoPE
 * and SwiGLU run on src/gpu's fused kernels with hand-written gradients (`tapeFused.ts`), one tape
 * node each; elsewhere they are TF.js's generic ops.
 */
export function decoderBatch(p: DecoderBatchInput): tf.Tensor2D {
  const { cfg, weights } = p
  const B = p.sequences.length
  const T = Math.max(...p.sequences.map((s) => s.length))
  const [H, KV, hd, eps] = [cfg.numHeads, cfg.numKvHeads, cfg.headDim, cfg.rmsNormEps]
  const recording = tf.engine().state.gradientDepth > 0
  const flat = new Int32Array(B * T)
  for (const [b, s] of p.sequences.entries()) flat.set(s, b * T)
  const tables = p.rope.slice(0, T)
  const cos = tf.tensor3d(tables.cos, [T, 1, hd])
  const sin = tf.tensor3d(tables.sinSigned, [T, 1, hd])
  const mask = causalMask(T, T, 0)
  const scale = 1 / Math.sqrt(hd)
  const ops = tf.getBackend() === 'webgpu' && tapeFusedOptions.gpu ? FUSED : GENERIC
  const norm = ops.norm
  let x = embedTokens(weights, tf.tensor1d(flat, 'int32'))
  const pc = packsPerCall(weights)
  const linear = (a: tf.Tensor2D, l: Linear) => linearOf(a, l, pc)
  const layer = (x: tf.Tensor2D, lw: LayerWeights, [cos, sin, mask]: tf.Tensor[]) => {
    const c = cos as tf.Tensor3D
    const s = sin as tf.Tensor3D
    const h: tf.Tensor2D = norm(x, lw.inputNorm, eps)
    let q = tf.reshape(linear(h, lw.q), [B, T, H, hd]) as tf.Tensor4D
    let k = tf.reshape(linear(h, lw.k), [B, T, KV, hd]) as tf.Tensor4D
    const v = tf.reshape(linear(h, lw.v), [B, T, KV, hd]) as tf.Tensor4D
    if (lw.qNorm) q = norm(q, lw.qNorm, eps)
    if (lw.kNorm) k = norm(k, lw.kNorm, eps)
    q = ops.rope(q, c, s, scale)
    k = ops.rope(k, c, s, 1)
    const x1 = tf.add<tf.Tensor2D>(x, linear(attendBatch(q, k, v, mask as tf.Tensor2D), lw.o))
    const h2: tf.Tensor2D = norm(x1, lw.postAttentionNorm, eps)
    const act = ops.swiGlu(linear(h2, lw.gate), linear(h2, lw.up))
    return tf.add<tf.Tensor2D>(x1, linear(act, lw.down))
  }
  const consts = [cos, sin, mask]
  for (const lw of weights.layers) {
    const next =
      p.checkpoint === true
        ? checkpoint((xi, cs) => layer(xi, lw, cs), x, layerParams(lw), consts)
        : tf.tidy(() => layer(x, lw, consts))
    if (!recording) x.dispose()
    x = next
  }
  const hidden = norm(x, weights.finalNorm, eps)
  if (!recording) x.dispose()
  return hidden
}
