// Per-kernel timings at a model's decoder shapes for bench/gpu/kernels.ts: every op of one layer
// (and the output projection once) on random inputs of the layer's shapes, in the precision's
// kernels (f16: fused q/k/v GEMM and gate/up GEMM with SwiGLU on tensor cores; f32: one GEMM per
// projection and a separate SwiGLU), each timed alone, and the per-forward estimate they add up to.
import * as tf from '@tensorflow/tfjs-core'
import {
  attentionOptions,
  gpuAddRmsNorm,
  gpuCausalAttention,
  gpuMatMul,
  gpuMatMulSplit,
  gpuQkNormRope,
  gpuRmsNorm,
  gpuRope,
  gpuSwiGlu,
  qkNormRopeOptions,
  toGpuF16,
  type GpuF16Matrix,
  type GpuModel,
  stagedGemm,
} from '../../src/gpu/index.js'

type TimeIt = (fn: () => tf.Tensor, n: number) => Promise<number>

export async function profileOps(gm: GpuModel, T: number, timeIt: TimeIt) {
  const c = gm.config
  const [d, H, KV, hd, f, V] = [
    c.hiddenSize,
    c.numHeads,
    c.numKvHeads,
    c.headDim,
    c.intermediateSize,
    c.vocabSize,
  ]
  const keep: tf.Tensor[] = []
  const rnd = (shape: number[], scale = 1) => {
    const t = tf.tidy(() => tf.mul(tf.randomNormal(shape), scale))
    keep.push(t)
    return t
  }
  const weight = async (k: number, n: number): Promise<tf.Tensor2D | GpuF16Matrix> => {
    const w = rnd([k, n], 1 / Math.sqrt(k)) as tf.Tensor2D
    if (gm.precision === 'f32') return w
    const h = await toGpuF16(w)
    keep.push(h.data)
    return h
  }
  const h = rnd([T, d]) as tf.Tensor2D
  const attnOut = rnd([T, H * hd]) as tf.Tensor2D
  const act = rnd([T, f]) as tf.Tensor2D
  const q = rnd([T, H, hd]) as tf.Tensor3D
  const k = rnd([T, KV, hd]) as tf.Tensor3D
  const v = rnd([T, KV, hd]) as tf.Tensor3D
  const cos = rnd([T, hd]) as tf.Tensor2D
  const sin = rnd([T, hd]) as tf.Tensor2D
  const norm = rnd([d]) as tf.Tensor1D
  const hdNorm = rnd([hd]) as tf.Tensor1D
  const ops: Record<string, () => tf.Tensor> = {}
  const widths = [H * hd, KV * hd, KV * hd]
  const wqkv = gm.precision === 'f16' ? await weight(d, H * hd + 2 * KV * hd) : null
  const wgu = gm.precision === 'f16' ? await weight(d, 2 * f) : null
  if (wqkv && wgu && stagedGemm(wqkv) && stagedGemm(wgu)) {
    ops.qkv_gemm = () => gpuMatMulSplit(h, wqkv, widths)[0]!
    ops.gate_up_swiglu_gemm = () => gpuMatMulSplit(h, wgu, [2 * f], undefined, { swiglu: true })[0]!
  } else {
    const [wq, wk, wv, wg, wu] = [
      await weight(d, H * hd),
      await weight(d, KV * hd),
      await weight(d, KV * hd),
      await weight(d, f),
      await weight(d, f),
    ]
    ops.qkv_gemm = () => [gpuMatMul(h, wq), gpuMatMul(h, wk), gpuMatMul(h, wv)][0]!
    ops.gate_up_swiglu_gemm = () => gpuSwiGlu(gpuMatMul(h, wg), gpuMatMul(h, wu))
  }
  const wo = await weight(H * hd, d)
  const wd = await weight(f, d)
  const wlm = await weight(d, V)
  if (qkNormRopeOptions.fused)
    ops.qk_norm_rope_fused = () =>
      gpuQkNormRope(q, k, { q: hdNorm, k: hdNorm, eps: 1e-6 }, cos, sin)[0]
  else {
    ops.qk_norm = () => [gpuRmsNorm(q, hdNorm, 1e-6), gpuRmsNorm(k, hdNorm, 1e-6)][0]!
    ops.rope = () => [gpuRope(q, cos, sin), gpuRope(k, cos, sin)][0]!
  }
  ops.attention = () =>
    gpuCausalAttention(q, k, v, {
      start: 0,
      scale: 1 / Math.sqrt(hd),
      tensorCores: gm.precision === 'f16',
    })
  ops.o_gemm = () => gpuMatMul(attnOut, wo)
  ops.add_rmsnorm_x2 = () =>
    [gpuAddRmsNorm(h, h, norm, 1e-6), gpuAddRmsNorm(h, h, norm, 1e-6)][0]![1]
  ops.down_gemm = () => gpuMatMul(act, wd)
  const lmHead = () => gpuMatMul(h, wlm)
  // Each op n times back to back, then one readback: its round trip is shared by n calls.
  const n = Number(process.env.PROFILE_N ?? 40)
  const ms: Record<string, number> = {}
  for (const [name, fn] of Object.entries(ops))
    ms[name] = 1000 * (await timeIt(() => tf.tidy(fn), n))
  const layerMs = Object.values(ms).reduce((s, x) => s + x, 0)
  attentionOptions.subgroups = false
  const sharedMs = 1000 * (await timeIt(() => tf.tidy(ops.attention!), n))
  attentionOptions.subgroups = true
  const lmMs = 1000 * (await timeIt(lmHead, Math.ceil(n / 4)))
  tf.dispose(keep)
  const gemmFlop = 2 * T * d * (H * hd + 2 * KV * hd + 2 * f) + 2 * T * H * hd * d + 2 * T * f * d
  return {
    precision: gm.precision,
    seq_len: T,
    layers: c.numLayers,
    calls_per_readback: n,
    per_layer_ms: ms,
    layer_total_ms: layerMs,
    lm_head_ms: lmMs,
    forward_estimate_ms: c.numLayers * layerMs + lmMs,
    layer_gemm_tflops:
      gemmFlop /
      ((ms.qkv_gemm! + ms.gate_up_swiglu_gemm! + ms.o_gemm! + ms.down_gemm!) / 1000) /
      1e12,
    attention_without_subgroup_shuffles_ms: sharedMs,
    attention_tflops: (2 * T * T * H * hd) / (ms.attention! / 1000) / 1e12,
    lm_head_tflops: (2 * T * d * V) / (lmMs / 1000) / 1e12,
  }
}
