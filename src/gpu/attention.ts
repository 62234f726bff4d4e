/**
 * Causal grouped-query attention with an online softmax (no `[T, T]` score matrix) as a TF.js
 * webgpu kernel.
 */
import type * as tf from '@tensorflow/tfjs-core'
import { probeShader, runGpu, webgpuBackend, runKernel, type KernelArgs } from './_dispatch.js'
import { attentionPreamble, headsAttentionShader, KV_TILE_LOOP } from './_attentionHeads.js'
import { headScalesShader, TC_BQ, tcAttentionShader } from './_attentionTc.js'
import { gpuCapabilities } from './device.js'

const NAME = 'ReliquaryCausalAttention'
const BQ = 16
const BK = 16

/** Threads per query: the head dimension is split across them (8 where it divides hd). */
const threadsPerQuery = (hd: number) => [8, 4, 2, 1].find((n) => hd % n === 0)!

/*
 * One workgroup per (16 queries, head), TPQ threads per query, each owning every TPQ-th dimension
 * of the head (consecutive threads touch consecutive banks). Per tile of 16 key/value positions
 * staged in workgroup memory: partial dot products, a workgroup-memory reduction to the 16 scores
 * of each query, one rescale of the running sum per tile, then p·v on the thread's dimensions.
 */
const shader = (hd: number, sg: boolean) => () => {
  const tpq = threadsPerQuery(hd)
  const nt = BQ * tpq
  // With subgroups, each query's TPQ partial dot products are summed by lane shuffles (the TPQ
  // threads of a query are consecutive lanes), with no workgroup-memory round trip.
  const reduce = sg
    ? `for (var c = 0u; c < BK; c++) {
      var dot = 0.0;
      for (var j = 0u; j < DPT; j++) { dot += qv[j] * ks[c * HD + j * TPQ + tp]; }
      ${[1, 2, 4, 8, 16]
        .filter((x) => x < tpq)
        .map((x) => `dot += subgroupShuffleXor(dot, ${x}u);`)
        .join(' ')}
      s[c] = dot * u.scale;
    }`
    : `for (var c = 0u; c < BK; c++) {
      var dot = 0.0;
      for (var j = 0u; j < DPT; j++) { dot += qv[j] * ks[c * HD + j * TPQ + tp]; }
      part[c * NT + li] = dot;
    }
    workgroupBarrier();
    for (var c = 0u; c < BK; c++) {
      var sc = 0.0;
      for (var p = 0u; p < TPQ; p++) { sc += part[c * NT + ql * TPQ + p]; }
      s[c] = sc * u.scale;
    }`
  return `${sg ? 'enable subgroups;' : ''}
${attentionPreamble(hd, tpq, BQ, BK)}
${sg ? '' : `var<workgroup> part: array<f32, ${BK * nt}>;`}
@compute @workgroup_size(${nt})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let h = wg.y;
  let kvh = h / (u.heads / u.kvHeads);
  let ql = li / TPQ;
  let tp = li % TPQ;
  let qi = wg.x * BQ + ql;
  let valid = qi < u.t;
  let qc = min(qi, u.t - 1u);
  let last = u.start + qc;
  var qv: array<f32, ${hd / tpq}>;
  var acc: array<f32, ${hd / tpq}>;
  for (var j = 0u; j < DPT; j++) {
    acc[j] = 0.0;
    qv[j] = q[(qc * u.heads + h) * HD + j * TPQ + tp];
  }
  var m = -3.0e38;
  var l = 0.0;
  var s: array<f32, ${BK}>;
${KV_TILE_LOOP}
    ${reduce}
    var mt = m;
    for (var c = 0u; c < BK; c++) {
      if (k0 + c <= last) { mt = max(mt, s[c]); }
    }
    let corr = exp(m - mt);
    l = l * corr;
    for (var j = 0u; j < DPT; j++) { acc[j] = acc[j] * corr; }
    for (var c = 0u; c < BK; c++) {
      if (k0 + c <= last) {
        let pr = exp(s[c] - mt);
        l += pr;
        for (var j = 0u; j < DPT; j++) { acc[j] += pr * vs[c * HD + j * TPQ + tp]; }
      }
    }
    m = mt;
    workgroupBarrier();
  }
  if (valid) {
    let base = qi * u.heads * HD + h * HD;
    for (var j = 0u; j < DPT; j++) { o[base + j * TPQ + tp] = acc[j] / l; }
  }
}`
}

/**
 * Attention kernel choices, settable for benchmarks: subgroup-shuffle reductions where offered;
 * `tensorCores` (off by default: on an H200 it matched the f32 kernel to 3.6e-4 but made the
 * f16 forward slower, BENCHMARKS.md run 8) lets calls that ask for it (the f16 path) take the
 * tensor-core kernel where the device has subgroup matrices and its shader compiled
 * ({@link probeTensorCoreAttention}).
 */
export const attentionOptions: {
  subgroups: boolean
  tensorCores: boolean
  /**
   * Most query heads of one GQA group per thread in the f32 kernel (subgroups needed; the
   * largest power of two up to it that divides the group size): each staged key/value tile
   * serves that many heads. Same arithmetic per head, so the same output bits whatever the value.
   */
  headsPerThread: number
} = { subgroups: true, tensorCores: false, headsPerThread: 4 }

/**
 * Diagnostics of the tensor-core kernel for bench/gpu/attentionCheck.ts: raw first-block scores,
 * or `P = 1` sums (null: the real kernel). Not exported from the package.
 * @internal
 */
export const tcAttentionDebug: { mode: 'scores' | 'pv' | null } = { mode: null }

/** Why the tensor-core attention kernel was turned off on this device (null: it compiled). */
export const tensorCoreAttentionProbe: { error: string | null } = { error: null }

/**
 * Compiles the tensor-core attention shader (head dimension 128) once on the current device;
 * where the driver rejects it, turns it off ({@link attentionOptions}.tensorCores = false, the
 * reason in {@link tensorCoreAttentionProbe}). No-op without subgroup matrices.
 */
export async function probeTensorCoreAttention(): Promise<void> {
  if (!attentionOptions.tensorCores || !gpuCapabilities()?.subgroupMatrix) return
  tensorCoreAttentionProbe.error = null
  const err = await probeShader(tcAttentionShader(128)())
  if (err) {
    tensorCoreAttentionProbe.error = err
    attentionOptions.tensorCores = false
  }
}

const useTensorCores = (hd: number, asked: boolean) =>
  asked &&
  attentionOptions.tensorCores &&
  gpuCapabilities()?.subgroupMatrix === true &&
  hd % 16 === 0

function kernel({ inputs, attrs }: KernelArgs) {
  const { q, k, v } = inputs as Record<string, tf.TensorInfo>
  const [t, heads, hd] = q!.shape as [number, number, number]
  const [tk, kvHeads] = k!.shape as [number, number]
  const start = attrs!.start as number
  if (useTensorCores(hd, attrs!.tensorCores === true))
    return tcKernel(q!, k!, v!, start, attrs!.scale as number)
  const sg = attentionOptions.subgroups && gpuCapabilities()?.subgroups === true
  let hpt = attentionOptions.headsPerThread
  while (hpt > 1 && (heads / kvHeads) % hpt !== 0) hpt >>= 1
  if (sg && hpt > 1) {
    const tpq = threadsPerQuery(hd)
    return runGpu(webgpuBackend(), {
      key: `attention-heads-${hd}-${tpq}-${hpt}`,
      code: headsAttentionShader(hd, tpq, hpt, BQ, BK),
      inputs: [q!, k!, v!],
      outputs: [{ shape: [t, heads * hd], dtype: 'float32' }],
      uniforms: [t, heads, kvHeads, tk, start, { f: attrs!.scale as number }],
      workgroups: [Math.ceil(t / BQ), heads / hpt],
    })[0]!
  }
  return runGpu(webgpuBackend(), {
    key: `attention2-${hd}-${sg}`,
    code: shader(hd, sg),
    inputs: [q!, k!, v!],
    outputs: [{ shape: [t, heads * hd], dtype: 'float32' }],
    uniforms: [t, heads, kvHeads, tk, start, { f: attrs!.scale as number }],
    workgroups: [Math.ceil(t / BQ), heads],
  })[0]!
}

function tcKernel(
  q: tf.TensorInfo,
  k: tf.TensorInfo,
  v: tf.TensorInfo,
  start: number,
  scale: number,
): tf.TensorInfo {
  const [t, heads, hd] = q.shape as [number, number, number]
  const [tk, kvHeads] = k.shape as [number, number]
  const be = webgpuBackend()
  const [sc] = runGpu(be, {
    key: 'attention-head-scales',
    code: headScalesShader,
    inputs: [q, k, v],
    outputs: [{ shape: [heads + 2 * kvHeads], dtype: 'float32' }],
    uniforms: [t, tk, heads, kvHeads, hd],
    workgroups: [heads + 2 * kvHeads],
  }) as [tf.TensorInfo]
  const out = runGpu(be, {
    key: `attention-tc-${hd}-${tcAttentionDebug.mode}`,
    code: tcAttentionShader(hd, tcAttentionDebug.mode),
    inputs: [q, k, v, sc],
    outputs: [{ shape: [t, heads * hd], dtype: 'float32' }],
    uniforms: [t, heads, kvHeads, tk, start, { f: scale }],
    workgroups: [Math.ceil(t / TC_BQ), heads],
  })[0]!
  be.disposeData(sc.dataId)
  return out
}

/**
 * Causal scaled-dot-product attention over GQA groups: q `[T, H, hd]` at absolute positions
 * `start …`, k and v `[Tk, KV, hd]` (positions `0 … Tk−1`); query i sees keys `j ≤ start + i`.
 * Scores are `q·k · scale` (transformers' `scaling`), softmax in float32 computed online.
 * Returns `[T, H·hd]` in head-major column order. With `tensorCores` (the f16 path), q, k and v
 * are multiplied as f16 (each scaled per head by a power of two into range) on tensor cores with
 * float32 accumulation and softmax, where the device has them. webgpu backend only.
 */
export function gpuCausalAttention(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  o: { start: number; scale: number; tensorCores?: boolean | undefined },
): tf.Tensor2D {
  const attrs = { start: o.start, scale: o.scale, tensorCores: o.tensorCores === true }
  return runKernel(NAME, kernel, { q, k, v }, attrs) as tf.Tensor2D
}
