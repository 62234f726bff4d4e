/**
 * Causal grouped-query attention with an online softmax (no `[T, T]` score matrix) as a TF.js
 * webgpu kernel.
 */
import * as tf from '@tensorflow/tfjs-core'
import { ensureKernel, runGpu, webgpuBackend } from './_dispatch.js'

const NAME = 'ReliquaryCausalAttention'
const BQ = 64
const BK = 16

/*
 * One workgroup per (64 queries, head); one thread per query. Key/value tiles of 16 positions are
 * staged in workgroup memory; each thread scores the tile, rescales its running sum once per tile
 * and accumulates p·v.
 */
const shader = (hd: number) => () =>
  `
@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> o: array<f32>;
struct U { t: u32, heads: u32, kvHeads: u32, tk: u32, start: u32, scale: f32 }
@group(0) @binding(4) var<uniform> u: U;
const HD = ${hd}u;
const BQ = ${BQ}u;
const BK = ${BK}u;
var<workgroup> ks: array<f32, ${BK * hd}>;
var<workgroup> vs: array<f32, ${BK * hd}>;
@compute @workgroup_size(${BQ})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let h = wg.y;
  let kvh = h / (u.heads / u.kvHeads);
  let qi = wg.x * BQ + li;
  let valid = qi < u.t;
  let last = u.start + min(qi, u.t - 1u);
  var qv: array<f32, ${hd}>;
  var acc: array<f32, ${hd}>;
  for (var j = 0u; j < HD; j++) {
    acc[j] = 0.0;
    qv[j] = select(0.0, q[(min(qi, u.t - 1u) * u.heads + h) * HD + j], valid);
  }
  var m = -3.0e38;
  var l = 0.0;
  let keys = min(u.tk, u.start + min(wg.x * BQ + BQ, u.t));
  var s: array<f32, ${BK}>;
  for (var k0 = 0u; k0 < keys; k0 += BK) {
    for (var e = li; e < BK * HD; e += BQ) {
      let kk = k0 + e / HD;
      let src = (min(kk, u.tk - 1u) * u.kvHeads + kvh) * HD + e % HD;
      ks[e] = k[src];
      vs[e] = v[src];
    }
    workgroupBarrier();
    if (valid && k0 <= last) {
      var mt = m;
      for (var c = 0u; c < BK; c++) {
        var dot = 0.0;
        for (var j = 0u; j < HD; j++) { dot += qv[j] * ks[c * HD + j]; }
        s[c] = dot * u.scale;
        if (k0 + c <= last) { mt = max(mt, s[c]); }
      }
      let corr = exp(m - mt);
      l = l * corr;
      for (var j = 0u; j < HD; j++) { acc[j] = acc[j] * corr; }
      for (var c = 0u; c < BK; c++) {
        if (k0 + c <= last) {
          let p = exp(s[c] - mt);
          l += p;
          for (var j = 0u; j < HD; j++) { acc[j] += p * vs[c * HD + j]; }
        }
      }
      m = mt;
    }
    workgroupBarrier();
  }
  if (valid) {
    let base = qi * u.heads * HD + h * HD;
    for (var j = 0u; j < HD; j++) { o[base + j] = acc[j] / l; }
  }
}`

function kernel({ inputs, attrs }: { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap }) {
  const { q, k, v } = inputs as Record<string, tf.TensorInfo>
  const [t, heads, hd] = q!.shape as [number, number, number]
  const [tk, kvHeads] = k!.shape as [number, number]
  const start = attrs!.start as number
  return runGpu(webgpuBackend(), {
    key: `attention-${hd}`,
    code: shader(hd),
    inputs: [q!, k!, v!],
    outputs: [{ shape: [t, heads * hd], dtype: 'float32' }],
    uniforms: [t, heads, kvHeads, tk, start, { f: attrs!.scale as number }],
    workgroups: [Math.ceil(t / BQ), heads],
  })[0]!
}

/**
 * Causal scaled-dot-product attention over GQA groups: q `[T, H, hd]` at absolute positions
 * `start …`, k and v `[Tk, KV, hd]` (positions `0 … Tk−1`); query i sees keys `j ≤ start + i`.
 * Scores are `q·k · scale` (transformers' `scaling`), softmax in float32 computed online.
 * Returns `[T, H·hd]` in head-major column order. webgpu backend only.
 */
export function gpuCausalAttention(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  o: { start: number; scale: number },
): tf.Tensor2D {
  ensureKernel(NAME, kernel as unknown as tf.KernelFunc)
  return tf.engine().runKernel(NAME, { q, k, v }, { start: o.start, scale: o.scale }) as tf.Tensor2D
}
