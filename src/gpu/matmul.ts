/**
 * GEMM kernels for the decoder's linear layers, `C[M, N] = A[M, K] · B[K, N] (+ bias)`, with A the
 * float32 activations and B a weight in kernel layout `[in, out]`:
 * - a tiled f32 GEMM (64 x 64 tiles, 4 x 4 outputs per thread) for f32 weights;
 * - the same tiling over f16 weights (two per u32, unpacked to f32: no f16 shader support needed);
 * - a tensor-core GEMM (`chromium_experimental_subgroup_matrix`, f16 x f16 -> f32 16x16x16) where
 *   the device has it. Its activations are scaled per row by a power of two into f16's range
 *   before the product and scaled back after, so no activation overflows f16.
 */
import * as tf from '@tensorflow/tfjs-core'
import { gpuCapabilities } from './device.js'
import { ensureKernel, runGpu, webgpuBackend } from './_dispatch.js'
import type { GpuF16Matrix } from './f16.js'

const NAME = 'ReliquaryMatMul'
const NAME_TC = 'ReliquaryMatMulTensorCore'

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
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read_write> h: array<f16>;
@group(0) @binding(2) var<storage, read_write> inv: array<f32>;
struct U { m: u32, k: u32 }
@group(0) @binding(3) var<uniform> u: U;
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

/** Tile shape of the tensor-core GEMM (16x16 tiles per subgroup), settable for benchmarks. */
export const tensorCoreTiles = { m: 2, n: 4 }

function tensorCoreKernel({ inputs, attrs }: Args) {
  const { a, b, bias } = inputs as Record<string, tf.TensorInfo>
  const [m, k] = a!.shape as [number, number]
  const n = attrs!.n as number
  const { m: tm, n: tn } = tensorCoreTiles
  const mp = Math.ceil(m / (tm * 16)) * tm * 16
  const be = webgpuBackend()
  const [h, inv] = runGpu(be, {
    key: 'tof16rows',
    code: toF16Rows,
    inputs: [a!],
    // f16 elements, two per int32 slot (k is a multiple of 16).
    outputs: [
      { shape: [(mp * k) / 2], dtype: 'int32' },
      { shape: [mp], dtype: 'float32' },
    ],
    uniforms: [m, k],
    workgroups: [mp],
  }) as [tf.TensorInfo, tf.TensorInfo]
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
  const path = gemmPath(w)
  const inputs: tf.NamedTensorMap = { a, b: w instanceof tf.Tensor ? w : w.data }
  if (bias) inputs.bias = bias
  const n = w instanceof tf.Tensor ? w.shape[1] : w.cols
  if (path === 'tensor-core') {
    ensureKernel(NAME_TC, tensorCoreKernel as unknown as tf.KernelFunc)
    return tf.engine().runKernel(NAME_TC, inputs, { n }) as tf.Tensor2D
  }
  ensureKernel(NAME, tiledKernel as unknown as tf.KernelFunc)
  return tf.engine().runKernel(NAME, inputs, { n, f16: path === 'f16-weights' }) as tf.Tensor2D
}
