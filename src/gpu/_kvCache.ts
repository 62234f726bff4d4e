/**
 * A key/value cache resident on the GPU for batched generation, and the two kernels that use it:
 * a scatter of new keys/values into their sequence's slots, and attention of query rows against
 * their own sequence's cached positions (one query per sequence when decoding, every prompt row
 * when filling the cache).
 *
 * Layout per layer: `[sequences, capacity, kvHeads, headDim]`, float32, or f16 packed two per
 * 32-bit word (`pack2x16float`, no `shader-f16` needed). Keys are stored after RoPE. The cache
 * tensors are written in place by the scatter kernel (bound read_write), so they are never
 * reshaped, sliced or shared.
 * @internal
 */
import * as tf from '@tensorflow/tfjs-core'
import { grid, runGpu, webgpuBackend, runKernel, type KernelArgs } from './_dispatch.js'

/** One layer's cache tensors (flat; f16 packs two halves per int32 word). */
export type LayerCache = { readonly k: tf.Tensor1D; readonly v: tf.Tensor1D }

/** The whole cache and its geometry. */
export type KvCache = {
  readonly layers: readonly LayerCache[]
  readonly sequences: number
  /** Positions per sequence. */
  readonly capacity: number
  readonly kvHeads: number
  readonly headDim: number
  readonly f16: boolean
}

/** Bytes a cache of this geometry takes on the GPU. */
export function kvCacheBytes(g: Omit<KvCache, 'layers'> & { numLayers: number }): number {
  return g.numLayers * 2 * g.sequences * g.capacity * g.kvHeads * g.headDim * (g.f16 ? 2 : 4)
}

/** Allocates a zeroed cache; the caller frees it with {@link disposeKvCache}. */
export function createKvCache(g: Omit<KvCache, 'layers'> & { numLayers: number }): KvCache {
  const n = g.sequences * g.capacity * g.kvHeads * g.headDim
  const layers: LayerCache[] = []
  try {
    for (let i = 0; i < g.numLayers; i++)
      layers.push({
        k: g.f16 ? tf.zeros([n / 2], 'int32') : tf.zeros([n], 'float32'),
        v: g.f16 ? tf.zeros([n / 2], 'int32') : tf.zeros([n], 'float32'),
      })
  } catch (e) {
    tf.dispose(layers.flatMap((l) => [l.k, l.v]))
    throw e
  }
  return { ...g, layers }
}

/** Frees every cache tensor. */
export function disposeKvCache(c: KvCache): void {
  tf.dispose(c.layers.flatMap((l) => [l.k, l.v]))
}

const writeShader = (f16: boolean) => () =>
  `
@group(0) @binding(0) var<storage, read_write> kc: array<${f16 ? 'u32' : 'f32'}>;
@group(0) @binding(1) var<storage, read_write> vc: array<${f16 ? 'u32' : 'f32'}>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read> slot: array<i32>;
@group(0) @binding(5) var<storage, read> pos: array<i32>;
struct U { pairs: u32, row: u32, cap: u32, gx: u32 }
@group(0) @binding(6) var<uniform> u: U;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * u.gx) * 256u + li;
  if (i >= u.pairs) { return; }
  let r = i / u.row;
  let e = i % u.row;
  let dst = (u32(slot[r]) * u.cap + u32(pos[r])) * u.row + e;
  ${
    f16
      ? `kc[dst] = pack2x16float(vec2f(k[2u * i], k[2u * i + 1u]));
  vc[dst] = pack2x16float(vec2f(v[2u * i], v[2u * i + 1u]));`
      : `kc[2u * dst] = k[2u * i]; kc[2u * dst + 1u] = k[2u * i + 1u];
  vc[2u * dst] = v[2u * i]; vc[2u * dst + 1u] = v[2u * i + 1u];`
  }
}`

/**
 * Writes keys and values `[R, kvHeads, headDim]` of R rows into the cache at `(slot[r], pos[r])`
 * (int32 `[R]` each), in the webgpu backend's command stream (ordered with every later read).
 */
export function writeKvCache(
  c: KvCache,
  layer: number,
  k: tf.Tensor,
  v: tf.Tensor,
  slot: tf.Tensor1D,
  pos: tf.Tensor1D,
): void {
  const l = c.layers[layer]!
  const row = (c.kvHeads * c.headDim) / 2
  const pairs = slot.shape[0] * row
  const [gx, gy] = grid(Math.ceil(pairs / 256))
  runGpu(webgpuBackend(), {
    key: `kvwrite-${c.f16}`,
    code: writeShader(c.f16),
    inputs: [l.k, l.v, k, v, slot, pos],
    outputs: [],
    uniforms: [pairs, row, c.capacity, gx],
    workgroups: [gx, gy],
  })
}

const NAME = 'ReliquaryCacheAttention'
const NT = 128
const BK = 16

/*
 * One workgroup per (kv head, query row) covers the `rep` query heads sharing that kv head. Per
 * tile of 16 cached positions: keys staged in workgroup memory (row stride hd + 1 against bank
 * conflicts), rep·16 dot products split over the 128 threads and reduced through workgroup
 * memory, then each thread updates the online softmax of the outputs it owns, reading values
 * straight from the cache (consecutive threads, consecutive dimensions).
 */
const attentionShader = (hd: number, rep: number, f16: boolean) => () => {
  const dots = rep * BK
  const split = Math.max(1, Math.min(NT / dots, hd))
  const opt = Math.ceil((rep * hd) / NT)
  const load = (buf: string, idx: string) =>
    f16 ? `unpack2x16float(${buf}[(${idx}) >> 1u])[(${idx}) & 1u]` : `${buf}[${idx}]`
  return `
@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> kc: array<${f16 ? 'u32' : 'f32'}>;
@group(0) @binding(2) var<storage, read> vc: array<${f16 ? 'u32' : 'f32'}>;
@group(0) @binding(3) var<storage, read> slot: array<i32>;
@group(0) @binding(4) var<storage, read> pos: array<i32>;
@group(0) @binding(5) var<storage, read_write> o: array<f32>;
struct U { heads: u32, kvHeads: u32, cap: u32, scale: f32 }
@group(0) @binding(6) var<uniform> u: U;
const HD = ${hd}u;
const REP = ${rep}u;
const BK = ${BK}u;
const SPLIT = ${split}u;
const NT = ${NT}u;
var<workgroup> qs: array<f32, ${rep * hd}>;
var<workgroup> ks: array<f32, ${BK * (hd + 1)}>;
var<workgroup> part: array<f32, ${dots * split}>;
var<workgroup> ss: array<f32, ${dots}>;
@compute @workgroup_size(${NT})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let kvh = wg.x;
  let r = wg.y;
  let len = u32(pos[r]) + 1u;
  let base = u32(slot[r]) * u.cap;
  for (var e = li; e < REP * HD; e += NT) {
    qs[e] = q[(r * u.heads + kvh * REP) * HD + e];
  }
  var m: array<f32, ${opt}>;
  var l: array<f32, ${opt}>;
  var acc: array<f32, ${opt}>;
  for (var j = 0u; j < ${opt}u; j++) { m[j] = -3.0e38; l[j] = 0.0; acc[j] = 0.0; }
  for (var k0 = 0u; k0 < len; k0 += BK) {
    for (var e = li; e < BK * HD; e += NT) {
      let c = e / HD;
      let key = min(k0 + c, len - 1u);
      ks[c * (HD + 1u) + e % HD] = ${load('kc', '((base + key) * u.kvHeads + kvh) * HD + e % HD')};
    }
    workgroupBarrier();
    for (var t = li; t < ${dots * split}u; t += NT) {
      let pair = t / SPLIT;
      let s = t % SPLIT;
      let hh = pair / BK;
      let c = pair % BK;
      var dot = 0.0;
      for (var d = s; d < HD; d += SPLIT) { dot += qs[hh * HD + d] * ks[c * (HD + 1u) + d]; }
      part[t] = dot;
    }
    workgroupBarrier();
    for (var t = li; t < ${dots}u; t += NT) {
      var sc = 0.0;
      for (var s = 0u; s < SPLIT; s++) { sc += part[t * SPLIT + s]; }
      ss[t] = sc * u.scale;
    }
    workgroupBarrier();
    let n = min(BK, len - k0);
    for (var j = 0u; j < ${opt}u; j++) {
      let idx = li + j * NT;
      if (idx < REP * HD) {
        let hh = idx / HD;
        let d = idx % HD;
        var mt = m[j];
        for (var c = 0u; c < n; c++) { mt = max(mt, ss[hh * BK + c]); }
        let corr = exp(m[j] - mt);
        l[j] = l[j] * corr;
        acc[j] = acc[j] * corr;
        for (var c = 0u; c < n; c++) {
          let p = exp(ss[hh * BK + c] - mt);
          l[j] += p;
          acc[j] += p * ${load('vc', '((base + k0 + c) * u.kvHeads + kvh) * HD + d')};
        }
        m[j] = mt;
      }
    }
    workgroupBarrier();
  }
  for (var j = 0u; j < ${opt}u; j++) {
    let idx = li + j * NT;
    if (idx < REP * HD) { o[(r * u.heads + kvh * REP) * HD + idx] = acc[j] / l[j]; }
  }
}`
}

function kernel({ inputs, attrs }: KernelArgs) {
  const { q, k, v, slot, pos } = inputs as Record<string, tf.TensorInfo>
  const [rows, heads, hd] = q!.shape as [number, number, number]
  const kvHeads = attrs!.kvHeads as number
  const f16 = attrs!.f16 as boolean
  const rep = heads / kvHeads
  return runGpu(webgpuBackend(), {
    key: `cacheattn-${hd}-${rep}-${f16}`,
    code: attentionShader(hd, rep, f16),
    inputs: [q!, k!, v!, slot!, pos!],
    outputs: [{ shape: [rows, heads * hd], dtype: 'float32' }],
    uniforms: [heads, kvHeads, attrs!.capacity as number, { f: attrs!.scale as number }],
    workgroups: [kvHeads, rows],
  })[0]!
}

/**
 * Attention of query rows `q` `[R, heads, hd]` (after RoPE) against the cache: row r sees its
 * sequence's (`slot[r]`) positions `0 … pos[r]`, which must already be written. Scores
 * `q·k · scale`, softmax in float32 computed online. Returns `[R, heads·hd]`.
 */
export function cacheAttention(
  c: KvCache,
  layer: number,
  q: tf.Tensor3D,
  slot: tf.Tensor1D,
  pos: tf.Tensor1D,
  scale: number,
): tf.Tensor2D {
  const l = c.layers[layer]!
  return runKernel(
    NAME,
    kernel,
    { q, k: l.k, v: l.v, slot, pos },
    { kvHeads: c.kvHeads, f16: c.f16, capacity: c.capacity, scale },
  ) as tf.Tensor2D
}
