/**
 * Causal attention on tensor cores (`chromium_experimental_subgroup_matrix`, f16 x f16 -> f32
 * 16x16x16) for the f16 path. q, k and v stay float32 tensors; each is scaled per head by a power
 * of two into f16's range (a small pre-pass finds the exponents) and converted to f16 while it is
 * staged in workgroup memory, so no activation overflows f16 and the scale is undone exactly.
 *
 * One workgroup per (64 queries, head): 4 subgroups of 16 queries. Two sweeps over the key blocks
 * (32 keys each) up to the block's causal limit: the first computes each query's running maximum
 * and exponential sum (online softmax statistics, float32), the second recomputes the scores,
 * forms `exp(s - max)` in f16 (at most 1) and accumulates `P·V` on tensor cores in float32. No
 * `[T, T]` matrix exists; scores live 16 x 32 at a time in workgroup memory.
 * @internal
 */
import { wgslBindings } from './_dispatch.js'

/** Queries per workgroup (4 subgroups of 16) and keys per step. */
export const TC_BQ = 64
const BK = 32

/**
 * Per-head power-of-two scales: `s[i] = 2^e` with `max |x| · 2^e ≤ 2^15` over head i's values;
 * entries `0 … H−1` for q's heads, then k's and v's KV heads. Bindings: q, k, v, s, uniforms.
 */
export const headScalesShader = () => `
${wgslBindings({ read: ['q: f32', 'k: f32', 'v: f32'], readWrite: ['s: f32'], uniform: 't: u32, tk: u32, heads: u32, kvHeads: u32, hd: u32' })}
var<workgroup> part: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let id = wg.x;
  var mx = 0.0;
  if (id < u.heads) {
    for (var e = li; e < u.t * u.hd; e += 256u) {
      mx = max(mx, abs(q[((e / u.hd) * u.heads + id) * u.hd + e % u.hd]));
    }
  } else if (id < u.heads + u.kvHeads) {
    let h = id - u.heads;
    for (var e = li; e < u.tk * u.hd; e += 256u) {
      mx = max(mx, abs(k[((e / u.hd) * u.kvHeads + h) * u.hd + e % u.hd]));
    }
  } else {
    let h = id - u.heads - u.kvHeads;
    for (var e = li; e < u.tk * u.hd; e += 256u) {
      mx = max(mx, abs(v[((e / u.hd) * u.kvHeads + h) * u.hd + e % u.hd]));
    }
  }
  part[li] = mx;
  workgroupBarrier();
  for (var o = 128u; o > 0u; o >>= 1u) {
    if (li < o) { part[li] = max(part[li], part[li + o]); }
    workgroupBarrier();
  }
  if (li == 0u) {
    var e = 0.0;
    if (part[0] > 0.0) { e = clamp(15.0 - ceil(log2(part[0])), -100.0, 100.0); }
    s[id] = exp2(e);
  }
}`

/**
 * The attention kernel for head dimension `hd` (a multiple of 16). Bindings: q `[T, H, hd]`,
 * k and v `[Tk, KV, hd]` (float32), the head scales, o `[T, H·hd]`, uniforms.
 */
export const tcAttentionShader =
  (hd: number, debug: 'scores' | 'pv' | null = null) =>
  () => {
    const dt = hd / 16
    const ktp = BK + 8
    const vp = hd + 8
    const vo = hd * ktp
    const kvn = Math.max(vo + BK * vp, TC_BQ * vp)
    const pp = BK + 8
    const ds = Array.from({ length: dt }, (_, i) => i)
    const js = Array.from({ length: BK / 16 }, (_, j) => j)
    const scores = `
    ${js
      .map(
        (j) => `{
      sacc = zacc;
      ${ds.map((i) => `sacc = subgroupMatrixMultiplyAccumulate(qa${i}, subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>>(&kv, ${i * 16 * ktp + j * 16}u, false, ${ktp}u), sacc);`).join('\n      ')}
      subgroupMatrixStore(&st, sg * ${16 * BK}u + ${j * 16}u, sacc, false, ${BK}u);
    }`,
      )
      .join('\n    ')}
    workgroupBarrier();`
    return `
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
diagnostic(off, subgroup_uniformity);
diagnostic(off, chromium.subgroup_matrix_uniformity);
${wgslBindings({ read: ['q: f32', 'k: f32', 'v: f32', 'sc: f32'], readWrite: ['o: f32'], uniform: 't: u32, heads: u32, kvHeads: u32, tk: u32, start: u32, scale: f32' })}
const HD = ${hd}u;
var<workgroup> kv: array<f16, ${kvn}>;
var<workgroup> st: array<f32, ${4 * 16 * BK}>;
var<workgroup> ps: array<f16, ${4 * 16 * pp}>;
fn stageK(k0: u32, kvh: u32, sk: f32, lid: u32) {
  for (var e = 0u; e < ${BK}u * HD; e += 128u) {
    let x = e + lid;
    let j = min(k0 + x / HD, u.tk - 1u);
    kv[(x % HD) * ${ktp}u + x / HD] = f16(k[(j * u.kvHeads + kvh) * HD + x % HD] * sk);
  }
}
@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let h = wg.y;
  let kvh = h / (u.heads / u.kvHeads);
  let q0 = wg.x * ${TC_BQ}u;
  let sg = li / 32u;
  let lane = li % 32u;
  let sq = sc[h];
  let sk = sc[u.heads + kvh];
  let sv = sc[u.heads + u.kvHeads + kvh];
  let ss = u.scale / (sq * sk);
  // A zero accumulator copied into sacc before each score tile: a matrix variable declared inside
  // the loop is not reliably zeroed on every iteration.
  var zacc: subgroup_matrix_result<f32, 16, 16>;
  var sacc: subgroup_matrix_result<f32, 16, 16>;
  for (var e = li; e < ${TC_BQ}u * HD; e += 128u) {
    let qi = min(q0 + e / HD, u.t - 1u);
    kv[(e / HD) * ${vp}u + e % HD] = f16(q[(qi * u.heads + h) * HD + e % HD] * sq);
  }
  workgroupBarrier();
  ${ds.map((i) => `let qa${i} = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>>(&kv, sg * ${16 * vp}u + ${i * 16}u, false, ${vp}u);`).join('\n  ')}
  workgroupBarrier();
  // Lane pair (2r, 2r+1) owns query row r of the subgroup, columns 16·(lane % 2) … +15.
  let rr = lane / 2u;
  let hh = lane % 2u;
  let last = u.start + min(q0 + sg * 16u + rr, u.t - 1u);
  let keys = min(u.tk, u.start + min(q0 + ${TC_BQ}u, u.t));
  let so = sg * ${16 * BK}u + rr * ${BK}u + hh * 16u;
  var m = -3.0e38;
  var l = 0.0;
  for (var k0 = 0u; k0 < keys; k0 += ${BK}u) {
    stageK(k0, kvh, sk, li);
    workgroupBarrier();
    ${scores}
    var bm = -3.0e38;
    for (var c = 0u; c < 16u; c++) {
      let j = k0 + hh * 16u + c;
      if (j <= last && j < u.tk) { bm = max(bm, st[so + c] * ss); }
    }
    let mt = max(m, max(bm, subgroupShuffleXor(bm, 1u)));
    var p = 0.0;
    for (var c = 0u; c < 16u; c++) {
      let j = k0 + hh * 16u + c;
      if (j <= last && j < u.tk) { p += exp(st[so + c] * ss - mt); }
    }
    l = l * exp(m - mt) + p + subgroupShuffleXor(p, 1u);
    m = mt;
    ${
      debug === 'scores'
        ? `if (k0 == 0u && q0 + sg * 16u + rr < u.t) {
      for (var c = 0u; c < 16u; c++) { o[((q0 + sg * 16u + rr) * u.heads + h) * HD + hh * 16u + c] = st[so + c] * ss; }
    }`
        : ''
    }
    workgroupBarrier();
  }
  ${debug === 'scores' ? 'if (u.t > 0u) { return; }' : ''}
  ${debug === 'pv' ? 'l = 1.0; m = 0.0;' : ''}
  ${ds.map((i) => `var oa${i}: subgroup_matrix_result<f32, 16, 16>;`).join('\n  ')}
  let po = sg * ${16 * pp}u + rr * ${pp}u + hh * 16u;
  for (var k0 = 0u; k0 < keys; k0 += ${BK}u) {
    stageK(k0, kvh, sk, li);
    for (var e = li; e < ${BK}u * HD; e += 128u) {
      let j = min(k0 + e / HD, u.tk - 1u);
      kv[${vo}u + (e / HD) * ${vp}u + e % HD] = f16(v[(j * u.kvHeads + kvh) * HD + e % HD] * sv);
    }
    workgroupBarrier();
    ${scores}
    for (var c = 0u; c < 16u; c++) {
      let j = k0 + hh * 16u + c;
      ps[po + c] = f16(select(0.0, ${debug === 'pv' ? '1.0' : 'exp(st[so + c] * ss - m)'}, j <= last && j < u.tk));
    }
    workgroupBarrier();
    ${js.map((j) => `let pa${j} = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>>(&ps, sg * ${16 * pp}u + ${j * 16}u, false, ${pp}u);`).join('\n    ')}
    ${ds.map((i) => js.map((j) => `oa${i} = subgroupMatrixMultiplyAccumulate(pa${j}, subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>>(&kv, ${vo + j * 16 * vp + i * 16}u, false, ${vp}u), oa${i});`).join('\n    ')).join('\n    ')}
    workgroupBarrier();
  }
  ${ds
    .map(
      (i) => `
  subgroupMatrixStore(&st, sg * 256u, oa${i}, false, 16u);
  workgroupBarrier();
  for (var t = 0u; t < 8u; t++) {
    let x = lane + t * 32u;
    let lr = subgroupShuffle(l, (x / 16u) * 2u);
    let qi = q0 + sg * 16u + x / 16u;
    if (qi < u.t) { o[(qi * u.heads + h) * HD + ${i * 16}u + x % 16u] = st[sg * 256u + x] / (lr * sv); }
  }
  workgroupBarrier();`,
    )
    .join('')}
}`
  }
