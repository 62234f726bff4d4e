/**
 * Block-tiled GEMM shaders: the tensor-core GEMM with workgroup-memory staging (several subgroups
 * per workgroup, each owning a grid of 16x16 subgroup-matrix tiles; A and B read from global memory
 * as 128-bit words one k-step ahead) and a 128x128 f32 GEMM with 8x8 outputs per thread. Both write
 * their result to one, two or three output tensors by column range, or (tensor cores) apply SwiGLU
 * to interleaved gate/up columns before the store.
 * @internal
 */

/** Tensor-core block shape: a `bm x bn` output block per workgroup of `sgm x sgn` subgroups. */
export type StagedConfig = { readonly bm: number; readonly bn: number; sgm: number; sgn: number }

/** k-step of the staged tensor-core GEMM (A and B tiles `bm x 32` and `32 x bn` in f16). */
export const STAGED_BK = 32

/** How the staged GEMMs store their `[M, N]` result. */
export type Epilogue =
  | { readonly kind: 'split'; readonly outputs: 1 | 2 | 3; readonly bias: boolean }
  | { readonly kind: 'swiglu' }

const store = (e: Epilogue) => {
  if (e.kind === 'swiglu') return ''
  const w = ['u.e1', 'u.e2 - u.e1', 'u.n - u.e2']
  if (e.outputs === 1) return 'fn put(r: u32, col: u32, v: f32) { c0[zo + r * u.n + col] = v; }'
  if (e.outputs === 2)
    return `fn put(r: u32, col: u32, v: f32) {
  if (col < u.e1) { c0[r * u.e1 + col] = v; } else { c1[r * (u.n - u.e1) + col - u.e1] = v; }
}`
  return `fn put(r: u32, col: u32, v: f32) {
  if (col < u.e1) { c0[r * ${w[0]} + col] = v; }
  else if (col < u.e2) { c1[r * (${w[1]}) + col - u.e1] = v; }
  else { c2[r * (${w[2]}) + col - u.e2] = v; }
}`
}

const outBindings = (e: Epilogue, first: number) => {
  const n = e.kind === 'swiglu' ? 1 : e.outputs
  return Array.from(
    { length: n },
    (_, i) => `@group(0) @binding(${first + i}) var<storage, read_write> c${i}: array<f32>;`,
  ).join('\n')
}

/**
 * Bindings: a (f16 rows, padded to bm), b (f16 `[K, N]`), inv, [bias], outputs, uniforms
 * `{ m, n, k, e1, e2, kc }`. Workgroup z runs the K range `[z·kc, min(K, (z+1)·kc))` and, with one
 * output, stores its partial product at element offset `z·m·n` (split-K; `kc` = K: one range).
 */
export const stagedTensorCoreShader = (c: StagedConfig, e: Epilogue) => () => {
  const tm = c.bm / c.sgm / 16
  const tn = c.bn / c.sgn / 16
  const nt = 32 * c.sgm * c.sgn
  const bkp = STAGED_BK + 8
  const bnp = c.bn + 8
  const ra = (c.bm * 4) / nt
  const rb = (c.bn * 4) / nt
  const bias = e.kind === 'split' && e.bias
  const tiles: [number, number][] = []
  for (let i = 0; i < tm; i++) for (let j = 0; j < tn; j++) tiles.push([i, j])
  const loads = (k: string) => `
    for (var i = 0u; i < ${ra}u; i++) {
      let x = li + i * ${nt}u;
      ra[i] = a[(r0 + x / 4u) * kv + ${k} / 8u + x % 4u];
    }
    for (var i = 0u; i < ${rb}u; i++) {
      let x = li + i * ${nt}u;
      rb[i] = b[(${k} + x / ${c.bn / 8}u) * nv + c0_ / 8u + x % ${c.bn / 8}u];
    }`
  const step = (kk: number) => `{
    ${Array.from({ length: tm }, (_, i) => `let a${i} = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>>(&as_, (sr + ${i * 16}u) * ${bkp}u + ${kk}u, false, ${bkp}u);`).join('\n    ')}
    ${Array.from({ length: tn }, (_, j) => `let b${j} = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>>(&bs, ${kk * bnp}u + sc + ${j * 16}u, false, ${bnp}u);`).join('\n    ')}
    ${tiles.map(([i, j]) => `acc${i}_${j} = subgroupMatrixMultiplyAccumulate(a${i}, b${j}, acc${i}_${j});`).join('\n    ')}
    }`
  const epilogue =
    e.kind === 'swiglu'
      ? tiles
          .filter(([, j]) => j % 2 === 0)
          .map(
            ([i, j]) => `
  subgroupMatrixStore(&st, so, acc${i}_${j}, false, 16u);
  workgroupBarrier();
  for (var t = 0u; t < 8u; t++) { g[t] = st[so + lane + t * 32u]; }
  workgroupBarrier();
  subgroupMatrixStore(&st, so, acc${i}_${j + 1}, false, 16u);
  workgroupBarrier();
  for (var t = 0u; t < 8u; t++) {
    let x = lane + t * 32u;
    let r = r0 + sr + ${i * 16}u + x / 16u;
    if (r < u.m) {
      let gv = g[t] * inv[r];
      let col = (c0_ + sc + ${j * 16}u) / 2u + x % 16u;
      c0[r * (u.n / 2u) + col] = gv / (1.0 + exp(-gv)) * (st[so + x] * inv[r]);
    }
  }
  workgroupBarrier();`,
          )
          .join('')
      : tiles
          .map(
            ([i, j]) => `
  subgroupMatrixStore(&st, so, acc${i}_${j}, false, 16u);
  workgroupBarrier();
  for (var t = 0u; t < 8u; t++) {
    let x = lane + t * 32u;
    let r = r0 + sr + ${i * 16}u + x / 16u;
    let col = c0_ + sc + ${j * 16}u + x % 16u;
    if (r < u.m) { put(r, col, st[so + x] * inv[r]${bias ? ' + bias[col]' : ''}); }
  }
  workgroupBarrier();`,
          )
          .join('')
  // Subgroup offsets (sr, sc) are uniform per subgroup but derive from the invocation index.
  return `
enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
diagnostic(off, subgroup_uniformity);
diagnostic(off, chromium.subgroup_matrix_uniformity);
@group(0) @binding(0) var<storage, read> a: array<vec4u>;
@group(0) @binding(1) var<storage, read> b: array<vec4u>;
@group(0) @binding(2) var<storage, read> inv: array<f32>;
${bias ? '@group(0) @binding(3) var<storage, read> bias: array<f32>;' : ''}
${outBindings(e, bias ? 4 : 3)}
struct U { m: u32, n: u32, k: u32, e1: u32, e2: u32, kc: u32 }
@group(0) @binding(${(bias ? 4 : 3) + (e.kind === 'swiglu' ? 1 : e.outputs)}) var<uniform> u: U;
var<private> zo: u32;
var<workgroup> as_: array<f16, ${c.bm * bkp}>;
var<workgroup> bs: array<f16, ${STAGED_BK * bnp}>;
var<workgroup> st: array<f32, ${(nt / 32) * 256}>;
fn put8a(o: u32, w: vec4u) {
  let p = array<vec2<f16>, 4>(bitcast<vec2<f16>>(w.x), bitcast<vec2<f16>>(w.y),
                               bitcast<vec2<f16>>(w.z), bitcast<vec2<f16>>(w.w));
  for (var i = 0u; i < 4u; i++) { as_[o + 2u * i] = p[i].x; as_[o + 2u * i + 1u] = p[i].y; }
}
fn put8b(o: u32, w: vec4u) {
  let p = array<vec2<f16>, 4>(bitcast<vec2<f16>>(w.x), bitcast<vec2<f16>>(w.y),
                               bitcast<vec2<f16>>(w.z), bitcast<vec2<f16>>(w.w));
  for (var i = 0u; i < 4u; i++) { bs[o + 2u * i] = p[i].x; bs[o + 2u * i + 1u] = p[i].y; }
}
${store(e)}
@compute @workgroup_size(${nt})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let r0 = wg.x * ${c.bm}u;
  let c0_ = wg.y * ${c.bn}u;
  let kb = wg.z * u.kc;
  let ke = min(u.k, kb + u.kc);
  zo = wg.z * u.m * u.n;
  let sg = li / 32u;
  let lane = li % 32u;
  let sr = (sg / ${c.sgn}u) * ${tm * 16}u;
  let sc = (sg % ${c.sgn}u) * ${tn * 16}u;
  let so = sg * 256u;
  let kv = u.k / 8u;
  let nv = u.n / 8u;
  ${tiles.map(([i, j]) => `var acc${i}_${j}: subgroup_matrix_result<f32, 16, 16>;`).join('\n  ')}
  var ra: array<vec4u, ${ra}>;
  var rb: array<vec4u, ${rb}>;
  var g: array<f32, 8>;
  ${loads('kb')}
  for (var k0 = kb; k0 < ke; k0 += ${STAGED_BK}u) {
    for (var i = 0u; i < ${ra}u; i++) {
      let x = li + i * ${nt}u;
      put8a((x / 4u) * ${bkp}u + (x % 4u) * 8u, ra[i]);
    }
    for (var i = 0u; i < ${rb}u; i++) {
      let x = li + i * ${nt}u;
      put8b((x / ${c.bn / 8}u) * ${bnp}u + (x % ${c.bn / 8}u) * 8u, rb[i]);
    }
    workgroupBarrier();
    let kn = k0 + ${STAGED_BK}u;
    if (kn < ke) {${loads('kn')}
    }
    ${step(0)}
    ${step(16)}
    workgroupBarrier();
  }
  ${epilogue}
}`
}

/**
 * f32 GEMM, `bm x 128` block (bm 64 or 128), 256 threads with `bm / 16 x 8` outputs each (4-row
 * and 4-column groups 64 apart), k-step 16. Needs K and every output width to be multiples of 4.
 * With `bt`, B is stored transposed (`[N, K]`, rows contiguous along K: a tall weight's column
 * panel is then one contiguous range instead of K rows spread over the whole matrix).
 * Bindings: a, b, [bias], outputs, uniforms.
 */
export const tiledF32Shader =
  (e: Epilogue & { kind: 'split' }, bm: 64 | 128, bt: boolean) => () => {
    const rg = bm / 64
    return `
@group(0) @binding(0) var<storage, read> a: array<vec4f>;
@group(0) @binding(1) var<storage, read> b: array<vec4f>;
${e.bias ? '@group(0) @binding(2) var<storage, read> bias: array<f32>;' : ''}
${outBindings(e, e.bias ? 3 : 2)}
struct U { m: u32, n: u32, k: u32, e1: u32, e2: u32 }
@group(0) @binding(${(e.bias ? 3 : 2) + e.outputs}) var<uniform> u: U;
const zo = 0u;
const BM = ${bm}u;
const RG = ${rg}u;
var<workgroup> as_: array<vec4f, ${bm * 4}>;
var<workgroup> bs: array<vec4f, 512>;
${store(e)}
fn put4(r: u32, col: u32, v: vec4f) {
  if (r >= u.m || col >= u.n) { return; }
  ${e.bias ? 'let w = v + vec4f(bias[col], bias[col + 1u], bias[col + 2u], bias[col + 3u]);' : 'let w = v;'}
  put(r, col, w.x); put(r, col + 1u, w.y); put(r, col + 2u, w.z); put(r, col + 3u, w.w);
}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let r0 = wg.x * BM;
  let c0_ = wg.y * 128u;
  let tx = li % 16u;
  let ty = li / 16u;
  let kv = u.k / 4u;
  let nv = u.n / 4u;
  var acc: array<vec4f, ${8 * rg}>;
  for (var i = 0u; i < ${8 * rg}u; i++) { acc[i] = vec4f(0.0); }
  var ra: array<vec4f, RG>;
  var rb: array<vec4f, 2>;
  for (var k0 = 0u; k0 < u.k; k0 += 16u) {
    for (var i = 0u; i < RG; i++) {
      let x = li + i * 256u;
      let row = r0 + x / 4u;
      let kq = k0 / 4u + x % 4u;
      ra[i] = select(vec4f(0.0), a[min(row, u.m - 1u) * kv + min(kq, kv - 1u)], row < u.m && kq < kv);
    }
    for (var i = 0u; i < 2u; i++) {
      let x = li + i * 256u;
      ${
        bt
          ? `let col = c0_ + x / 4u;
      let kq = k0 / 4u + x % 4u;
      rb[i] = select(vec4f(0.0), b[min(col, u.n - 1u) * kv + min(kq, kv - 1u)], col < u.n && kq < kv);`
          : `let kr = k0 + x / 32u;
      let nq = c0_ / 4u + x % 32u;
      rb[i] = select(vec4f(0.0), b[min(kr, u.k - 1u) * nv + min(nq, nv - 1u)], kr < u.k && nq < nv);`
      }
    }
    workgroupBarrier();
    for (var i = 0u; i < RG; i++) {
      let x = li + i * 256u;
      let m = x / 4u;
      let kb = (x % 4u) * 4u;
      as_[kb * (BM / 4u) + m / 4u][m % 4u] = ra[i].x;
      as_[(kb + 1u) * (BM / 4u) + m / 4u][m % 4u] = ra[i].y;
      as_[(kb + 2u) * (BM / 4u) + m / 4u][m % 4u] = ra[i].z;
      as_[(kb + 3u) * (BM / 4u) + m / 4u][m % 4u] = ra[i].w;
    }
    for (var i = 0u; i < 2u; i++) {
      ${
        bt
          ? `let x = li + i * 256u;
      let n = x / 4u;
      let kb = (x % 4u) * 4u;
      bs[kb * 32u + n / 4u][n % 4u] = rb[i].x;
      bs[(kb + 1u) * 32u + n / 4u][n % 4u] = rb[i].y;
      bs[(kb + 2u) * 32u + n / 4u][n % 4u] = rb[i].z;
      bs[(kb + 3u) * 32u + n / 4u][n % 4u] = rb[i].w;`
          : 'bs[li + i * 256u] = rb[i];'
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let b0 = bs[kk * 32u + tx];
      let b1 = bs[kk * 32u + 16u + tx];
      for (var g = 0u; g < RG; g++) {
        let av = as_[kk * (BM / 4u) + g * 16u + ty];
        for (var i = 0u; i < 4u; i++) {
          acc[g * 8u + i * 2u] += av[i] * b0;
          acc[g * 8u + i * 2u + 1u] += av[i] * b1;
        }
      }
    }
  }
  for (var i = 0u; i < ${8 * rg}u; i++) {
    put4(r0 + (i / 8u) * 64u + ty * 4u + (i % 8u) / 2u, c0_ + (i % 2u) * 64u + tx * 4u, acc[i]);
  }
}`
  }
