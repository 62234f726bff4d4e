/**
 * The decoder math on TensorFlow.js: pre-norm blocks of causal GQA attention with RoPE and a
 * SwiGLU MLP, RMSNorm everywhere, all in float32. Mirrors transformers' `modeling_qwen3.py`,
 * `modeling_qwen2.py` and `modeling_llama.py` (and shared/bench/torch_baseline.py).
 *
 * Linear weights are held in "kernel" layout `[in, out]` (the transpose of the checkpoint's
 * `[out, in]`): the wasm backend runs `matMul(x, W)` on XNNPACK but falls back to a naive loop for
 * `transposeB` and for batched (rank-3) products, about 10x slower (measured on tfjs 4.22).
 *
 * XNNPACK packs `W` into a copy of the same size on the first product and the wasm backend keeps
 * that copy until `W` is disposed (tfjs-backend-wasm `batch_mat_mul_impl.cc` caches the operator
 * by the weight's tensor id), which doubles the weights in the 4 GiB wasm heap. Above
 * {@link WASM_PACK_CACHE_LIMIT_BYTES} of weights the decoder multiplies by a per-call copy instead
 * (packed, used and freed inside the layer), and `lm_head` runs in vocabulary slices.
 * @internal
 */
import * as tf from '@tensorflow/tfjs-core'
import { typedCustomGrad } from '../_utils/typedCustomGrad.js'
import { tapeMatMul, tapeMatMulGrads } from '../gpu/tapeMatMul.js'
import type { ModelConfig } from './parseModelConfig.js'
import type { RopeTables } from './_rope.js'

/** A linear layer: kernel `[in, out]` and optional bias `[out]`. */
export type Linear = { readonly w: tf.Tensor2D; readonly b?: tf.Tensor1D | undefined }

/** One decoder block's weights. */
export type LayerWeights = {
  readonly inputNorm: tf.Tensor1D
  readonly postAttentionNorm: tf.Tensor1D
  readonly q: Linear
  readonly k: Linear
  readonly v: Linear
  readonly o: Linear
  readonly qNorm?: tf.Tensor1D | undefined
  readonly kNorm?: tf.Tensor1D | undefined
  readonly gate: Linear
  readonly up: Linear
  readonly down: Linear
}

/** All weights of the decoder. */
export type DecoderWeights = {
  /** Token embeddings `[vocab, d]`, or `undefined` when tied (then rows come from `lmHead`). */
  readonly embed: tf.Tensor2D | undefined
  /** Output projection kernel `[d, vocab]` (the tied embedding matrix, transposed, when tied). */
  readonly lmHead: tf.Tensor2D
  readonly finalNorm: tf.Tensor1D
  readonly layers: readonly LayerWeights[]
}

/** How attention is evaluated: one rank-3 batched product, or a 2-D product per head. */
export type AttentionImpl = 'batched' | 'per-head'

/** Per-layer key/value cache entry, `[positions, kvHeads, headDim]` after RoPE. */
export type LayerKv = { k: tf.Tensor3D; v: tf.Tensor3D }

/** Inputs of {@link decoderStep}. */
export type DecoderStepInput = {
  readonly cfg: ModelConfig
  readonly weights: DecoderWeights
  readonly rope: RopeTables
  readonly tokens: readonly number[]
  /** Absolute position of `tokens[0]` (the cache length). */
  readonly start: number
  /** Keys/values of positions `[0, start)`, one entry per layer, or `undefined` when start = 0. */
  readonly past?: readonly LayerKv[] | undefined
  /** Return this step's full keys/values (past + new) for the next step. */
  readonly returnKv: boolean
  readonly attention: AttentionImpl
}

/**
 * Float32 weight bytes above which the wasm backend multiplies by per-call copies of the weights
 * instead of letting XNNPACK keep a packed copy of every weight (Qwen3-0.6B: 2.4 GB of weights,
 * which cached packing would double past the 4 GiB heap).
 */
export const WASM_PACK_CACHE_LIMIT_BYTES = 1 << 30

/** Columns of `lm_head` per product when the weights are packed per call (64 MiB at d = 1024). */
const LM_HEAD_SLICE = 16384

const perCallPacking = new WeakMap<DecoderWeights, boolean>()

/**
 * Whether products by these weights use per-call copies: on the wasm backend, above
 * {@link WASM_PACK_CACHE_LIMIT_BYTES}, and not while a gradient tape records (the backward pass
 * would keep every copy alive).
 */
export function packsPerCall(weights: DecoderWeights): boolean {
  if (tf.getBackend() !== 'wasm' || tf.engine().state.gradientDepth > 0) return false
  let v = perCallPacking.get(weights)
  if (v === undefined) {
    let n = weights.lmHead.size + (weights.embed?.size ?? 0)
    for (const l of weights.layers)
      for (const k of ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const) n += l[k].w.size
    v = n * 4 > WASM_PACK_CACHE_LIMIT_BYTES
    perCallPacking.set(weights, v)
  }
  return v
}

export function linearOf(x: tf.Tensor2D, l: Linear, perCall = false): tf.Tensor2D {
  // tf.clone runs the wasm Identity kernel, a copy with a new tensor id: XNNPACK packs it, and the
  // packed copy is freed with it when the enclosing tidy ends.
  const y: tf.Tensor2D = perCall ? tf.matMul(x, tf.clone(l.w)) : matMul2D(x, l.w)
  return l.b ? tf.add<tf.Tensor2D>(y, l.b) : y
}

/** transformers `*RMSNorm`: `w · x / sqrt(mean(x²) + eps)` over the last axis, in float32. */
export function rmsNorm<T extends tf.Tensor>(x: T, w: tf.Tensor1D, eps: number): T {
  return tf.tidy(
    () => tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))), w) as T,
  )
}

/**
 * `x·cos + rotate_half(x)·sin` for x `[T, heads, hd]` (or `[B, T, heads, hd]`), tables
 * `[T, 1, hd]` (broadcast over B).
 */
export function applyRope<X extends tf.Tensor3D | tf.Tensor4D>(
  x: X,
  cos: tf.Tensor3D,
  sinSigned: tf.Tensor3D,
  hd: number,
): X {
  const axis = x.rank - 1
  const [x1, x2] = tf.split(x, [hd / 2, hd / 2], axis)
  return tf.add(tf.mul(x, cos), tf.mul(tf.concat([x2!, x1!], axis), sinSigned)) as X
}

/**
 * Additive causal mask `[Tq, Tk]`: query i (absolute position start + i) sees keys j ≤ start + i.
 * A large finite negative keeps gradients free of `inf · 0`.
 */
export function causalMask(tq: number, tk: number, start: number): tf.Tensor2D {
  return tf.tidy(() => {
    const rows = tf.reshape(tf.add(tf.range(0, tq, 1, 'int32'), start), [tq, 1])
    const cols = tf.reshape(tf.range(0, tk, 1, 'int32'), [1, tk])
    return tf.mul(tf.cast(tf.greater(cols, rows), 'float32'), -1e9) as tf.Tensor2D
  })
}

/**
 * Scaled-dot-product attention over GQA groups. q `[Tq, H, hd]` (already scaled by hd^-0.5),
 * k, v `[Tk, KV, hd]`. Returns `[Tq, H·hd]` in head-major column order (as transformers'
 * `attn_output.reshape(T, -1)`).
 */
function attend(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  mask: tf.Tensor2D | null,
  impl: AttentionImpl,
): tf.Tensor2D {
  const [tq, h, hd] = q.shape
  const [tk, kv] = k.shape
  const rep = h / kv
  if (impl === 'per-head') {
    const qs = tf.unstack(tf.transpose(q, [1, 0, 2])) as tf.Tensor2D[] // H × [Tq, hd]
    const kts = tf.unstack(tf.transpose(k, [1, 2, 0])) as tf.Tensor2D[] // KV × [hd, Tk]
    const vs = tf.unstack(tf.transpose(v, [1, 0, 2])) as tf.Tensor2D[] // KV × [Tk, hd]
    const outs = qs.map((qh, i) => {
      const g = Math.floor(i / rep)
      let s: tf.Tensor2D = tf.matMul(qh, kts[g]!)
      if (mask) s = tf.add<tf.Tensor2D>(s, mask)
      return tf.matMul(tf.softmax(s), vs[g]!)
    })
    return tf.concat(outs, 1) as tf.Tensor2D
  }
  // Heads g·rep … g·rep+rep−1 share kv head g (repeat_interleave), so [H, Tq, hd] reshapes to
  // [KV, rep·Tq, hd] without copying keys or values.
  const qg = tf.reshape(tf.transpose(q, [1, 0, 2]), [kv, rep * tq, hd])
  const kg = tf.transpose(k, [1, 0, 2])
  const vg = tf.transpose(v, [1, 0, 2])
  let s: tf.Tensor = tf.reshape(tf.matMul(qg, kg, false, true), [kv, rep, tq, tk])
  if (mask) s = tf.add(s, mask)
  const p = tf.reshape(tf.softmax(s), [kv, rep * tq, tk])
  const o = tf.reshape(tf.matMul(p, vg), [h, tq, hd])
  return tf.reshape(tf.transpose(o, [1, 0, 2]), [tq, h * hd])
}

type Lookup = (table: tf.Tensor2D, ids: tf.Tensor1D) => tf.Tensor2D
type Product = (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D

/*
 * `x · W` for 2-D operands. While gradients are recorded, its gradient is `dy · transpose(W)` and
 * `transpose(x) · dy`: the same products as TF.js's own MatMul gradient, but taken on explicit
 * transposes, because the wasm backend runs `transposeA` / `transposeB` products on a naive loop
 * (about 10x slower, see the module comment). That made a GRPO step on 4 × 8 rollouts of the tiny
 * model 2.4-3.3x slower (BENCHMARKS.md, "Demo"). Outside a gradient the plain product is used.
 */
let productFn: Product | undefined
function matMul2D(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  // webgpu: the src/gpu GEMM kernels, forward and (under a tape) both gradient products.
  if (tf.getBackend() === 'webgpu') return tapeMatMul(x, w)
  if (tf.engine().state.gradientDepth === 0) return tf.matMul(x, w)
  productFn ??= makeProduct()
  return productFn(x, w)
}
const makeProduct = (): Product =>
  typedCustomGrad<Product>((x: tf.Tensor2D, w: tf.Tensor2D, save: tf.GradSaveFunc) => {
    save([x, w])
    return {
      value: tf.matMul(x, w),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) =>
        tapeMatMulGrads(saved[0] as tf.Tensor2D, saved[1] as tf.Tensor2D, dy),
    }
  })

/*
 * Row (and column) lookups with a scatter-add gradient. `tf.gather`'s own gradient needs the
 * `UnsortedSegmentSum` kernel, which the wasm backend lacks (tfjs 4.22); `ScatterNd` sums
 * duplicate indices on every backend, so repeated tokens accumulate as they should. Built on
 * first use so that importing this module touches no engine state.
 */

let gatherRowsFn: Lookup | undefined
const gatherRows: Lookup = (table, ids) => {
  gatherRowsFn ??= makeGatherRows()
  return gatherRowsFn(table, ids)
}
const makeGatherRows = (): Lookup =>
  typedCustomGrad<Lookup>((table: tf.Tensor2D, ids: tf.Tensor1D, save: tf.GradSaveFunc) => {
    save([ids])
    return {
      value: tf.gather(table, ids, 0),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
        tf.scatterND(tf.expandDims(saved[0]!, 1), dy, table.shape),
        tf.zerosLike(saved[0]!),
      ],
    }
  })

/** Token embeddings `[T, d]` for int32 ids. */
export function embedTokens(weights: DecoderWeights, ids: tf.Tensor1D): tf.Tensor2D {
  return tf.tidy(() => {
    if (weights.embed) return gatherRows(weights.embed, ids)
    // Tied: the shared matrix is the [d, vocab] lm_head kernel; rows of its transpose are the
    // embeddings. (Transposing the whole matrix per call would cost vocab·d; gathering columns
    // costs T·d.)
    return tf.transpose(gatherColumns(weights.lmHead, ids))
  })
}

let gatherColumnsFn: Lookup | undefined
const gatherColumns: Lookup = (kernel, ids) => {
  gatherColumnsFn ??= makeGatherColumns()
  return gatherColumnsFn(kernel, ids)
}
const makeGatherColumns = (): Lookup =>
  typedCustomGrad<Lookup>((kernel: tf.Tensor2D, ids: tf.Tensor1D, save: tf.GradSaveFunc) => {
    save([ids])
    return {
      value: tf.gather(kernel, ids, 1),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [d, vocab] = kernel.shape
        const rows = tf.scatterND(tf.expandDims(saved[0]!, 1), tf.transpose(dy), [vocab, d])
        return [tf.transpose(rows), tf.zerosLike(saved[0]!)]
      },
    }
  })

/**
 * Runs the decoder over `tokens` at absolute positions `start …`, attending to `past` keys/values.
 * Returns the final-norm hidden states `[T, d]` and, when asked, every layer's full keys/values.
 * Must run inside a `tf.tidy` owned by the caller (it keeps its outputs only).
 */
export function decoderStep(p: DecoderStepInput): { hidden: tf.Tensor2D; kv: LayerKv[] } {
  const { cfg, weights } = p
  const T = p.tokens.length
  const H = cfg.numHeads
  const KV = cfg.numKvHeads
  const hd = cfg.headDim
  const eps = cfg.rmsNormEps
  // Dropping a layer's input early saves memory, but not while a gradient tape records: the
  // backward pass still needs it.
  const recording = tf.engine().state.gradientDepth > 0
  const ids = tf.tensor1d(Int32Array.from(p.tokens), 'int32')
  const tables = p.rope.slice(p.start, T)
  const cos = tf.tensor3d(tables.cos, [T, 1, hd])
  const sin = tf.tensor3d(tables.sinSigned, [T, 1, hd])
  const tk = p.start + T
  const mask = T > 1 ? causalMask(T, tk, p.start) : null
  const scale = 1 / Math.sqrt(hd)
  let x = embedTokens(weights, ids)
  const kvOut: LayerKv[] = []
  const pc = packsPerCall(weights)
  const linear = (a: tf.Tensor2D, l: Linear) => linearOf(a, l, pc)
  weights.layers.forEach((lw, li) => {
    const res = tf.tidy(() => {
      const h: tf.Tensor2D = rmsNorm(x, lw.inputNorm, eps)
      let q = tf.reshape(linear(h, lw.q), [T, H, hd]) as tf.Tensor3D
      let k = tf.reshape(linear(h, lw.k), [T, KV, hd]) as tf.Tensor3D
      let v = tf.reshape(linear(h, lw.v), [T, KV, hd]) as tf.Tensor3D
      if (lw.qNorm) q = rmsNorm(q, lw.qNorm, eps)
      if (lw.kNorm) k = rmsNorm(k, lw.kNorm, eps)
      q = tf.mul(applyRope(q, cos, sin, hd), scale)
      k = applyRope(k, cos, sin, hd)
      const past = p.past?.[li]
      if (past) {
        k = tf.concat([past.k, k], 0)
        v = tf.concat([past.v, v], 0)
      }
      const attn = attend(q, k, v, mask, p.attention)
      const x1 = tf.add<tf.Tensor2D>(x, linear(attn, lw.o))
      const h2: tf.Tensor2D = rmsNorm(x1, lw.postAttentionNorm, eps)
      const g = linear(h2, lw.gate)
      const act = tf.mul<tf.Tensor2D>(tf.mul(g, tf.sigmoid(g)), linear(h2, lw.up))
      const x2 = tf.add<tf.Tensor2D>(x1, linear(act, lw.down))
      return p.returnKv ? { x: x2, k, v } : { x: x2 }
    })
    if (!recording) x.dispose()
    x = res.x
    if (res.k && res.v) kvOut.push({ k: res.k, v: res.v })
  })
  const hidden = rmsNorm(x, weights.finalNorm, eps)
  if (!recording) x.dispose()
  return { hidden, kv: kvOut }
}

/** Logits `[T, vocab]` from final-norm hidden states. */
export function lmLogits(weights: DecoderWeights, hidden: tf.Tensor2D): tf.Tensor2D {
  if (!packsPerCall(weights)) return matMul2D(hidden, weights.lmHead)
  const [d, V] = weights.lmHead.shape
  return tf.tidy(() => {
    const parts: tf.Tensor2D[] = []
    for (let v0 = 0; v0 < V; v0 += LM_HEAD_SLICE) {
      const n = Math.min(LM_HEAD_SLICE, V - v0)
      // Each slice is a fresh tensor: its packed copy lives only until the next slice's tidy.
      parts.push(tf.tidy(() => tf.matMul(hidden, tf.slice(weights.lmHead, [0, v0], [d, n]))))
    }
    return parts.length === 1 ? parts[0]! : tf.concat(parts, 1)
  })
}
