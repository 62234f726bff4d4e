/**
 * GEMM kernels for the decoder's linear layers, `C[M, N] = A[M, K] · B[K, N] (+ bias)`, with A the
 * float32 activations and B a weight in kernel layout `[in, out]`:
 * - a tiled f32 GEMM for f32 weights (128 x 128 blocks, 8 x 8 outputs per thread where K and N are
 *   multiples of 4; else 64 x 64 tiles, 4 x 4 outputs per thread);
 * - the same tiling over f16 weights (two per u32, unpacked to f32: no f16 shader support needed);
 * - a tensor-core GEMM (`chromium_experimental_subgroup_matrix`, f16 x f16 -> f32 16x16x16) where
 *   the device has it: 128 x 128 blocks staged in workgroup memory where K is a multiple of 32 and
 *   N of 128, else one subgroup per workgroup loading its tiles from global memory. Its activations are scaled per row by a power of two into f16's range
 *   before the product and scaled back after, so no activation overflows f16.
 */
import * as tf from '@tensorflow/tfjs-core'
import { probeTensorCoreAttention } from './attention.js'
import { gpuCapabilities } from './device.js'
import { grid, probeShader, runGpu, webgpuBackend, wgslBindings, runKernel } from './_dispatch.js'
import type { GpuF16Matrix } from './f16.js'
import {
  type Epilogue,
  STAGED_BK,
  type StagedConfig,
  stagedTensorCoreShader,
  tiledF32Shader,
} from './_gemmStaged.js'

export type { StagedConfig }

const NAME = 'ReliquaryMatMul'
const NAME_TC = 'ReliquaryMatMulTensorCore'
const NAME_MULTI = 'ReliquaryMatMulMulti'

const tiled = (f16: boolean, bias: boolean) => () =>
  `
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<${f16 ? 'u32' : 'f32'}>;
${bias ? '@group(0) @binding(2) var<storage, read> bias: array<f32>;' : ''}
@group(0) @binding(${bias ? 3 : 2}) var<storage, read_write> c: array<f32>;
struct U { m: u32, n: u32, k: u32 }
@group(0) @binding(${bias ? 4 : 3}) var<uniform> u: U;
var<workgroup> as_: array<f32, 1024>;
var<workgroup> bs: array<f32, 1024>;
fn bAt(kk: u32, n: u32) -> f32 {
  ${f16 ? 'let i = kk * u.n + n; return unpack2x16float(b[i >> 1u])[i & 1u];' : 'return b[kk * u.n + n];'}
}
@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_id) lid: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let r0 = wg.y * 64u;
  let c0 = wg.x * 64u;
  var acc: array<f32, 16>;
  for (var i = 0u; i < 16u; i++) { acc[i] = 0.0; }
  for (var k0 = 0u; k0 < u.k; k0 += 16u) {
    for (var e = li; e < 1024u; e += 256u) {
      let am = e / 16u; let ak = e % 16u;
      let ar = r0 + am; let ac = k0 + ak;
      as_[ak * 64u + am] = select(0.0, a[min(ar, u.m - 1u) * u.k + min(ac, u.k - 1u)], ar < u.m && ac < u.k);
      let bk = e / 64u; let bn = e % 64u;
      let br = k0 + bk; let bc = c0 + bn;
      bs[e] = select(0.0, bAt(min(br, u.k - 1u), min(bc, u.n - 1u)), br < u.k && bc < u.n);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      var av: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) { av[i] = as_[kk * 64u + lid.y * 4u + i]; }
      let bv = vec4f(bs[kk * 64u + lid.x * 4u], bs[kk * 64u + lid.x * 4u + 1u],
                     bs[kk * 64u + lid.x * 4u + 2u], bs[kk * 64u + lid.x * 4u + 3u]);
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i * 4u + j] += av[i] * bv[j]; }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let r = r0 + lid.y * 4u + i;
    for (var j = 0u; j < 4u; j++) {
      let col = c0 + lid.x * 4u + j;
      if (r < u.m && col < u.n) { c[r * u.n + col] = acc[i * 4u + j]${bias ? ' + bias[col]' : ''}; }
    }
  }
}`

/** Per-row power-of-two scale into f16 range, and the scaled rows as f16 (rows padded to 64). */
const toF16Rows = () => `
enable f16;
${wgslBindings({ read: ['a: f32'], readWrite: ['h: f16', 'inv: f32'], uniform: 'm: u32, k: u32' })}
var<workgroup> part: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let row = wg.x;
  let live = row < u.m;
  var mx = 0.0;
  if (live) { for (var j = li; j < u.k; j += 256u) { mx = max(mx, abs(a[row * u.k + j])); } }
  part[li] = mx;
  workgroupBarrier();
  for (var o = 128u; o > 0u; o >>= 1u) {
    if (li < o) { part[li] = max(part[li], part[li + o]); }
    workgroupBarrier();
  }
  // 2^e with |x| * 2^e <= 2^15 < 65504 for every x of the row.
  var e = 0.0;
  if (part[0] > 0.0) { e = clamp(15.0 - ceil(log2(part[0])), -100.0, 100.0); }
  let sc = exp2(e);
  for (var j = li; j < u.k; j += 256u) {
    h[row * u.k + j] = select(f16(0.0), f16(a[min(row, u.m - 1u) * u.k + j] * sc), live);
  }
  if (li == 0u) { inv[row] = exp2(-e); }
}`

const tensorCore = (tm: number, tn: number, bias: boolean) => () => {
  const tiles: string[] = []
  for (let i = 0; i < tm; i++) for (let j = 0; j < tn; j++) tiles.push(`${i}_${j}`)
  return `
enable f16;
enable chromium_experimental_subgroup_matrix;
@group(0) @binding(0) var<storage, read> a: array<f16>;
@group(0) @binding(1) var<storage, read> b: array<f16>;
@group(0) @binding(2) var<storage, read> inv: array<f32>;
${bias ? '@group(0) @binding(3) var<storage, read> bias: array<f32>;' : ''}
@group(0) @binding(${bias ? 4 : 3}) var<storage, read_write> c: array<f32>;
struct U { m: u32, n: u32, k: u32 }
@group(0) @binding(${bias ? 5 : 4}) var<uniform> u: U;
const W = ${tn * 16}u;
var<workgroup> cs: array<f32, ${tm * 16 * tn * 16}>;
@compute @workgroup_size(32)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let r0 = wg.y * ${tm * 16}u;
  let c0 = wg.x * W;
  ${tiles.map((t) => `var acc${t}: subgroup_matrix_result<f32, 16, 16>;`).join('\n  ')}
  for (var k = 0u; k < u.k; k += 16u) {
    ${Array.from({ length: tm }, (_, i) => `let a${i} = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>>(&a, (r0 + ${i * 16}u) * u.k + k, false, u.k);`).join('\n    ')}
    ${Array.from({ length: tn }, (_, j) => `let b${j} = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>>(&b, k * u.n + c0 + ${j * 16}u, false, u.n);`).join('\n    ')}
    ${tiles.map((t) => `acc${t} = subgroupMatrixMultiplyAccumulate(a${t[0]}, b${t[2]}, acc${t});`).join('\n    ')}
  }
  ${tiles.map((t) => `subgroupMatrixStore(&cs, ${Number(t[0]) * 16}u * W + ${Number(t[2]) * 16}u, acc${t}, false, W);`).join('\n  ')}
  workgroupBarrier();
  for (var e = li; e < ${tm * 16 * tn * 16}u; e += 32u) {
    let r = r0 + e / W;
    let col = c0 + e % W;
    if (r < u.m) { c[r * u.n + col] = cs[e] * inv[r]${bias ? ' + bias[col]' : ''}; }
  }
}`
}

type Args = { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap }

/** GEMM kernel choices, settable for benchmarks (the defaults are the fastest measured). */
export const gemmOptions: {
  /** Tensor-core block shape of the staged kernel; `null` keeps one subgroup per workgroup. */
  staged: StagedConfig | null
  /** 128 x 128 f32 kernel where K and N are multiples of 4. */
  bigF32: boolean
  /** Below this many 128 x 128 blocks, the f32 kernel uses 64 x 128 blocks. */
  f32Blocks: number
  /**
   * Split-K for the staged tensor-core GEMM: a product with one output and no bias that would
   * launch fewer than `splitKBlocks` blocks (a thin N such as the output and down projections)
   * runs its K range in `splitK` parts at once (fewer where K does not divide), then sums the
   * partial products in f32. 1: off.
   */
  splitK: number
  splitKBlocks: number
} = {
  staged: { bm: 128, bn: 128, sgm: 2, sgn: 2 },
  bigF32: true,
  f32Blocks: 264,
  splitK: 4,
  splitKBlocks: 264,
}

/** Why the staged tensor-core GEMM was turned off on this device (null: it compiled). */
export const stagedGemmProbe: { error: string | null } = { error: null }

/**
 * Compiles the staged tensor-core shaders once on the current device; where the driver rejects
 * them, turns them off ({@link gemmOptions}.staged = null, the reason in {@link stagedGemmProbe})
 * so every GEMM takes the one-subgroup tensor-core kernel. Probes the tensor-core attention
 * kernel the same way ({@link probeTensorCoreAttention}). No-op without subgroup matrices.
 */
export async function probeStagedGemm(): Promise<void> {
  await probeTensorCoreAttention()
  const c = gemmOptions.staged
  if (!c || !gpuCapabilities()?.subgroupMatrix) return
  const kinds = [
    { kind: 'split', outputs: 3, bias: false },
    { kind: 'split', outputs: 1, bias: false },
    { kind: 'swiglu' },
  ] as const
  for (const e of kinds) {
    const err = await probeShader(stagedTensorCoreShader(c, e)())
    if (err) {
      stagedGemmProbe.error = err
      gemmOptions.staged = null
      return
    }
  }
}

/** K parts of a staged product of `blocks` blocks (1: no split); each part a multiple of 32. */
function splitParts(blocks: number, k: number, e: Epilogue): number {
  if (e.kind !== 'split' || e.outputs !== 1 || e.bias || blocks >= gemmOptions.splitKBlocks)
    return 1
  for (let s = gemmOptions.splitK; s > 1; s--) if (k % (s * STAGED_BK) === 0) return s
  return 1
}

const sumSlices = () => `
${wgslBindings({ read: ['p: vec4f'], readWrite: ['y: vec4f'], uniform: 'n: u32, parts: u32, gx: u32' })}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * u.gx) * 256u + li;
  if (i >= u.n) { return; }
  var acc = p[i];
  for (var z = 1u; z < u.parts; z++) { acc += p[z * u.n + i]; }
  y[i] = acc;
}`

/** `[parts, m, n]` partial products summed to `[m, n]` (m·n a multiple of 4). */
function sumParts(p: tf.TensorInfo, m: number, n: number, parts: number): tf.TensorInfo {
  const n4 = (m * n) / 4
  const [gx, gy] = grid(Math.ceil(n4 / 256))
  return runGpu(webgpuBackend(), {
    key: 'sumslices',
    code: sumSlices,
    inputs: [p],
    outputs: [{ shape: [m, n], dtype: 'float32' }],
    uniforms: [n4, parts, gx],
    workgroups: [gx, gy],
  })[0]!
}

/** Tile shape of the unstaged tensor-core GEMM (16x16 tiles per subgroup). */
export const tensorCoreTiles = { m: 2, n: 4 }

const uniformsOf = (m: number, n: number, k: number, widths: readonly number[]) => [
  m,
  n,
  k,
  widths[0] ?? n,
  (widths[0] ?? n) + (widths[1] ?? 0),
]

function tiledKernel({ inputs, attrs }: Args) {
  const { a, b, bias } = inputs as Record<string, tf.TensorInfo>
  const [m, k] = a!.shape as [number, number]
  const n = attrs!.n as number
  const f16 = attrs!.f16 as boolean
  return runGpu(webgpuBackend(), {
    key: `matmul-${f16}-${bias !== undefined}`,
    code: tiled(f16, bias !== undefined),
    inputs: bias ? [a!, b!, bias] : [a!, b!],
    outputs: [{ shape: [m, n], dtype: 'float32' }],
    uniforms: [m, n, k],
    workgroups: [Math.ceil(n / 64), Math.ceil(m / 64)],
  })[0]!
}

/** A's rows as f16 scaled per row into range, padded to a multiple of `rows`, and the inverses. */
function f16Rows(a: tf.TensorInfo, rows: number): [tf.TensorInfo, tf.TensorInfo, number] {
  const [m, k] = a.shape as [number, number]
  const mp = Math.ceil(m / rows) * rows
  const [h, inv] = runGpu(webgpuBackend(), {
    key: 'tof16rows',
    code: toF16Rows,
    inputs: [a],
    // f16 elements, two per int32 slot (k is a multiple of 16).
    outputs: [
      { shape: [(mp * k) / 2], dtype: 'int32' },
      { shape: [mp], dtype: 'float32' },
    ],
    uniforms: [m, k],
    workgroups: [mp],
  }) as [tf.TensorInfo, tf.TensorInfo]
  return [h, inv, mp]
}

function tensorCoreKernel({ inputs, attrs }: Args) {
  const { a, b, bias } = inputs as Record<string, tf.TensorInfo>
  const [m, k] = a!.shape as [number, number]
  const n = attrs!.n as number
  const { m: tm, n: tn } = tensorCoreTiles
  const be = webgpuBackend()
  const [h, inv, mp] = f16Rows(a!, tm * 16)
  const out = runGpu(be, {
    key: `matmul-tc-${tm}x${tn}-${bias !== undefined}`,
    code: tensorCore(tm, tn, bias !== undefined),
    inputs: bias ? [h, b!, inv, bias] : [h, b!, inv],
    outputs: [{ shape: [m, n], dtype: 'float32' }],
    uniforms: [m, n, k],
    workgroups: [n / (tn * 16), mp / (tm * 16)],
  })[0]!
  be.disposeData(h.dataId)
  be.disposeData(inv.dataId)
  return out
}

/** The staged kernels: tensor cores (f16 weight) or 128 x 128 f32, split outputs or SwiGLU. */
function multiKernel({ inputs, attrs }: Args) {
  const { a, b, bias } = inputs as Record<string, tf.TensorInfo>
  const [m, k] = a!.shape as [number, number]
  const n = attrs!.n as number
  const widths = (attrs!.widths as number[]).length ? (attrs!.widths as number[]) : [n]
  const swiglu = attrs!.swiglu as boolean
  const e: Epilogue = swiglu
    ? { kind: 'swiglu' }
    : { kind: 'split', outputs: widths.length as 1 | 2 | 3, bias: bias !== undefined }
  const outputs = swiglu
    ? [{ shape: [m, n / 2], dtype: 'float32' as const }]
    : widths.map((w) => ({ shape: [m, w], dtype: 'float32' as const }))
  const be = webgpuBackend()
  const extra = bias ? [bias] : []
  if (attrs!.path === 'f32') {
    if (e.kind !== 'split') throw new Error('SwiGLU epilogue needs the tensor-core path.')
    // 64-row blocks where 128-row ones would leave the GPU under two waves of workgroups.
    const bm = Math.ceil(m / 128) * Math.ceil(n / 128) < gemmOptions.f32Blocks ? 64 : 128
    const bt = attrs!.transposed === true
    return runGpu(be, {
      key: `matmul-big-${e.outputs}-${e.bias}-${bm}-${bt}`,
      code: tiledF32Shader(e, bm, bt),
      inputs: [a!, b!, ...extra],
      outputs,
      uniforms: uniformsOf(m, n, k, widths),
      workgroups: [Math.ceil(m / bm), Math.ceil(n / 128)],
    })
  }
  const c = gemmOptions.staged!
  const [h, inv, mp] = f16Rows(a!, c.bm)
  const parts = splitParts((mp / c.bm) * (n / c.bn), k, e)
  const outs = runGpu(be, {
    key: `matmul-staged-${c.bm}x${c.bn}-${c.sgm}x${c.sgn}-${JSON.stringify(e)}`,
    code: stagedTensorCoreShader(c, e),
    inputs: [h, b!, inv, ...extra],
    outputs: parts > 1 ? [{ shape: [parts, m, n], dtype: 'float32' }] : outputs,
    uniforms: [...uniformsOf(m, n, k, widths), k / parts],
    workgroups: [mp / c.bm, n / c.bn, parts],
  })
  be.disposeData(h.dataId)
  be.disposeData(inv.dataId)
  if (parts === 1) return outs
  const sum = sumParts(outs[0]!, m, n, parts)
  be.disposeData(outs[0]!.dataId)
  return [sum]
}

/** How a GEMM runs: f32 tiles, f16 weights unpacked to f32, or tensor cores. */
export type GemmPath = 'f32' | 'f16-weights' | 'tensor-core'

/** The path {@link gpuMatMul} takes for a weight on the current device. */
export function gemmPath(w: tf.Tensor2D | GpuF16Matrix): GemmPath {
  if (w instanceof tf.Tensor) return 'f32'
  const caps = gpuCapabilities()
  return caps?.subgroupMatrix && w.rows % 16 === 0 && w.cols % (tensorCoreTiles.n * 16) === 0
    ? 'tensor-core'
    : 'f16-weights'
}

/** Whether an f16 weight `[rows, cols]` would run on the staged tensor-core kernel. */
export function stagedTensorCoreFits(rows: number, cols: number): boolean {
  const c = gemmOptions.staged
  return (
    c !== null &&
    gpuCapabilities()?.subgroupMatrix === true &&
    rows % STAGED_BK === 0 &&
    cols % c.bn === 0
  )
}

/** Whether {@link gpuMatMulSplit} runs this weight on a staged (fast) kernel. */
export function stagedGemm(w: tf.Tensor2D | GpuF16Matrix): boolean {
  if (w instanceof tf.Tensor) return gemmOptions.bigF32 && w.shape[0] % 4 === 0
  const c = gemmOptions.staged
  return (
    c !== null && gemmPath(w) === 'tensor-core' && w.rows % STAGED_BK === 0 && w.cols % c.bn === 0
  )
}

/**
 * `a · w (+ bias)` for activations `a` `[M, K]` (float32) and a weight `[K, N]`: a float32 tensor
 * (tiled f32 GEMM) or an f16 matrix (tensor cores where the device has them, else f16 weights
 * unpacked to f32). Accumulation is float32 on every path. webgpu backend only.
 */
export function gpuMatMul(
  a: tf.Tensor2D,
  w: tf.Tensor2D | GpuF16Matrix,
  bias?: tf.Tensor1D,
): tf.Tensor2D {
  const n = w instanceof tf.Tensor ? w.shape[1] : w.cols
  if (stagedGemm(w) && n % 4 === 0) return gpuMatMulSplit(a, w, [n], bias)[0]!
  const path = gemmPath(w)
  const inputs: tf.NamedTensorMap = { a, b: w instanceof tf.Tensor ? w : w.data }
  if (bias) inputs.bias = bias
  if (path === 'tensor-core') {
    return runKernel(NAME_TC, tensorCoreKernel, inputs, { n }) as tf.Tensor2D
  }
  return runKernel(NAME, tiledKernel, inputs, { n, f16: path === 'f16-weights' }) as tf.Tensor2D
}

/**
 * `a · wtᵀ` for a float32 weight stored transposed, `wt` `[N, K]` (the 128 x 128 f32 kernel; K and
 * N multiples of 4). For very wide weights (the output projection over the vocabulary) this layout
 * keeps each block's weight panel contiguous. webgpu backend only.
 */
export function gpuMatMulTransposed(a: tf.Tensor2D, wt: tf.Tensor2D): tf.Tensor2D {
  const [n, k] = wt.shape
  if (k % 4 !== 0 || n % 4 !== 0 || a.shape[1] !== k)
    throw new Error('gpuMatMulTransposed: K and N must be multiples of 4 and match.')
  const attrs = { n, widths: [n], swiglu: false, path: 'f32', transposed: true }
  const r = runKernel(NAME_MULTI, multiKernel, { a, b: wt }, attrs) as tf.Tensor2D | tf.Tensor2D[]
  return Array.isArray(r) ? r[0]! : r
}

/**
 * One GEMM whose `N` columns are returned as separate tensors `[M, widths[i]]` (for example the
 * fused q/k/v projection), on the staged kernels. With `swiglu`, `w`'s columns alternate 16 gate
 * and 16 up columns and the result is `silu(gate) · up`, `[M, N / 2]` (tensor cores only).
 * Needs {@link stagedGemm}`(w)`, widths that are multiples of 16 summing to N, at most 3 of them.
 */
export function gpuMatMulSplit(
  a: tf.Tensor2D,
  w: tf.Tensor2D | GpuF16Matrix,
  widths: readonly number[],
  bias?: tf.Tensor1D,
  o: { swiglu?: boolean } = {},
): tf.Tensor2D[] {
  const n = w instanceof tf.Tensor ? w.shape[1] : w.cols
  if (!stagedGemm(w) || widths.length > 3 || widths.reduce((s, x) => s + x, 0) !== n)
    throw new Error('gpuMatMulSplit: weight or widths unsupported by the staged kernels.')
  const inputs: tf.NamedTensorMap = { a, b: w instanceof tf.Tensor ? w : w.data }
  if (bias) inputs.bias = bias
  const attrs = {
    n,
    widths: [...widths],
    swiglu: o.swiglu === true,
    path: w instanceof tf.Tensor ? 'f32' : 'tc',
  }
  const r = runKernel(NAME_MULTI, multiKernel, inputs, attrs) as tf.Tensor2D | tf.Tensor2D[]
  return Array.isArray(r) ? r : [r]
}
