/**
 * The f32 causal attention kernel with several query heads of one GQA group per thread: the
 * workgroup stages each 16-key tile of the shared key/value head once in workgroup memory and
 * every staged value serves `hpt` heads, so workgroup-memory reads and global key/value traffic
 * per multiply-add drop by `hpt`. Each head's arithmetic (dot products split over `tpq` lanes and
 * summed by subgroup shuffles, one online-softmax rescale per 16-key tile, `p·v` accumulation)
 * is the one-head kernel's, in the same order. Needs subgroups.
 * @internal
 */

/**
 * The bindings, uniforms, constants and key/value tiles shared by the f32 attention kernels (one
 * head and several heads per thread): q `[T, H, hd]`, k and v `[Tk, KV, hd]`, o `[T, H·hd]`,
 * uniforms `{ t, heads, kvHeads, tk, start, scale }`, `bk` staged keys of `hd` values.
 * @internal
 */
export const attentionPreamble = (hd: number, tpq: number, bq: number, bk: number): string =>
  `@group(0) @binding(0) var<storage, read> q: array<f32>;
@group(0) @binding(1) var<storage, read> k: array<f32>;
@group(0) @binding(2) var<storage, read> v: array<f32>;
@group(0) @binding(3) var<storage, read_write> o: array<f32>;
struct U { t: u32, heads: u32, kvHeads: u32, tk: u32, start: u32, scale: f32 }
@group(0) @binding(4) var<uniform> u: U;
const HD = ${hd}u;
const TPQ = ${tpq}u;
const DPT = ${hd / tpq}u;
const BQ = ${bq}u;
const BK = ${bk}u;
const NT = ${bq * tpq}u;
var<workgroup> ks: array<f32, ${bk * hd}>;
var<workgroup> vs: array<f32, ${bk * hd}>;`

/**
 * The opening of the attention kernels' key loop: for each tile of `BK` keys up to the last key any
 * of the workgroup's queries sees, the shared key/value head's tile is staged in workgroup memory.
 * @internal
 */
export const KV_TILE_LOOP = `  let keys = min(u.tk, u.start + min(wg.x * BQ + BQ, u.t));
  for (var k0 = 0u; k0 < keys; k0 += BK) {
    for (var e = li; e < BK * HD; e += NT) {
      let src = (min(k0 + e / HD, u.tk - 1u) * u.kvHeads + kvh) * HD + e % HD;
      ks[e] = k[src];
      vs[e] = v[src];
    }
    workgroupBarrier();`

/**
 * The shader for head dimension `hd`, `tpq` threads per query, `hpt` heads per thread, `bq`
 * queries and `bk` keys per workgroup step. Bindings: q `[T, H, hd]`, k and v `[Tk, KV, hd]`, o
 * `[T, H·hd]`, uniforms `{ t, heads, kvHeads, tk, start, scale }`; workgroups
 * `[ceil(T / bq), H / hpt]`.
 */
export const headsAttentionShader =
  (hd: number, tpq: number, hpt: number, bq: number, bk: number) => () => {
    const nt = bq * tpq
    const dpt = hd / tpq
    const hs = Array.from({ length: hpt }, (_, i) => i)
    const each = (f: (i: number) => string, sep = '\n      ') => hs.map(f).join(sep)
    const shuffles = [1, 2, 4, 8, 16].filter((x) => x < tpq)
    return `enable subgroups;
${attentionPreamble(hd, tpq, bq, bk)}
@compute @workgroup_size(${nt})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let h0 = wg.y * ${hpt}u;
  let kvh = h0 / (u.heads / u.kvHeads);
  let ql = li / TPQ;
  let tp = li % TPQ;
  let qi = wg.x * BQ + ql;
  let valid = qi < u.t;
  let qc = min(qi, u.t - 1u);
  let last = u.start + qc;
  ${each((i) => `var qv${i}: array<f32, ${dpt}>;\n  var acc${i}: array<f32, ${dpt}>;\n  var s${i}: array<f32, ${bk}>;\n  var m${i} = -3.0e38;\n  var l${i} = 0.0;`, '\n  ')}
  for (var j = 0u; j < DPT; j++) {
      ${each((i) => `acc${i}[j] = 0.0;\n      qv${i}[j] = q[(qc * u.heads + h0 + ${i}u) * HD + j * TPQ + tp];`)}
  }
${KV_TILE_LOOP}
    for (var c = 0u; c < BK; c++) {
      ${each((i) => `var dot${i} = 0.0;`)}
      for (var j = 0u; j < DPT; j++) {
        let kx = ks[c * HD + j * TPQ + tp];
        ${each((i) => `dot${i} += qv${i}[j] * kx;`, '\n        ')}
      }
      ${each((i) => shuffles.map((x) => `dot${i} += subgroupShuffleXor(dot${i}, ${x}u);`).join(' '))}
      ${each((i) => `s${i}[c] = dot${i} * u.scale;`)}
    }
    ${each((i) => `var mt${i} = m${i};`, '\n    ')}
    for (var c = 0u; c < BK; c++) {
      if (k0 + c <= last) {
        ${each((i) => `mt${i} = max(mt${i}, s${i}[c]);`, '\n        ')}
      }
    }
    ${each(
      (i) => `let corr${i} = exp(m${i} - mt${i});
    l${i} = l${i} * corr${i};
    for (var j = 0u; j < DPT; j++) { acc${i}[j] = acc${i}[j] * corr${i}; }`,
      '\n    ',
    )}
    for (var c = 0u; c < BK; c++) {
      if (k0 + c <= last) {
        ${each((i) => `let pr${i} = exp(s${i}[c] - mt${i});\n        l${i} += pr${i};`, '\n        ')}
        for (var j = 0u; j < DPT; j++) {
          let vx = vs[c * HD + j * TPQ + tp];
          ${each((i) => `acc${i}[j] += pr${i} * vx;`, '\n          ')}
        }
      }
    }
    ${each((i) => `m${i} = mt${i};`, '\n    ')}
    workgroupBarrier();
  }
  if (valid) {
    let base = qi * u.heads * HD + h0 * HD;
    for (var j = 0u; j < DPT; j++) {
      ${each((i) => `o[base + ${i}u * HD + j * TPQ + tp] = acc${i}[j] / l${i};`)}
    }
  }
}`
  }
