/**
 * Fused RMSNorm (optionally with the residual add before it) as a TF.js webgpu kernel.
 */
import * as tf from '@tensorflow/tfjs-core'
import { grid, runGpu, webgpuBackend, runKernel, type KernelArgs } from './_dispatch.js'

const NAME = 'ReliquaryRmsNorm'

const shader = (residual: boolean) => () =>
  `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> w: array<f32>;
${residual ? '@group(0) @binding(2) var<storage, read> r: array<f32>;' : ''}
@group(0) @binding(${residual ? 3 : 2}) var<storage, read_write> y: array<f32>;
${residual ? '@group(0) @binding(4) var<storage, read_write> s: array<f32>;' : ''}
struct U { rows: u32, d: u32, gx: u32, eps: f32 }
@group(0) @binding(${residual ? 5 : 3}) var<uniform> u: U;
var<workgroup> part: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let row = wg.x + wg.y * u.gx;
  if (row >= u.rows) { return; }
  let base = row * u.d;
  var acc = 0.0;
  for (var j = li; j < u.d; j += 256u) {
    ${residual ? 'let v = x[base + j] + r[base + j]; s[base + j] = v;' : 'let v = x[base + j];'}
    acc += v * v;
  }
  part[li] = acc;
  workgroupBarrier();
  for (var o = 128u; o > 0u; o >>= 1u) {
    if (li < o) { part[li] += part[li + o]; }
    workgroupBarrier();
  }
  let inv = inverseSqrt(part[0] / f32(u.d) + u.eps);
  for (var j = li; j < u.d; j += 256u) {
    ${residual ? 'let v = s[base + j];' : 'let v = x[base + j];'}
    y[base + j] = w[j] * (v * inv);
  }
}`

function kernel({ inputs, attrs }: KernelArgs) {
  const { x, w, r } = inputs as Record<string, tf.TensorInfo>
  const d = x!.shape[x!.shape.length - 1]!
  const rows = tf.util.sizeFromShape(x!.shape) / d
  const [gx, gy] = grid(rows)
  const residual = r !== undefined
  const outs = runGpu(webgpuBackend(), {
    key: `rmsnorm-${residual}`,
    code: shader(residual),
    inputs: residual ? [x!, w!, r] : [x!, w!],
    outputs: residual
      ? [
          { shape: x!.shape, dtype: 'float32' },
          { shape: x!.shape, dtype: 'float32' },
        ]
      : [{ shape: x!.shape, dtype: 'float32' }],
    uniforms: [rows, d, gx, { f: attrs!.eps as number }],
    workgroups: [gx, gy],
  })
  return residual ? outs : outs[0]!
}

/**
 * transformers `RMSNorm` over the last axis: `w · (x / sqrt(mean(x²) + eps))`, in float32, one
 * workgroup per row. webgpu backend only.
 */
export function gpuRmsNorm<T extends tf.Tensor>(x: T, w: tf.Tensor1D, eps: number): T {
  return runKernel(NAME, kernel, { x, w }, { eps }) as T
}

/**
 * Residual add then RMSNorm in one pass: returns `[x + r, rmsNorm(x + r)]`. webgpu backend only.
 */
export function gpuAddRmsNorm<T extends tf.Tensor>(
  x: T,
  r: T,
  w: tf.Tensor1D,
  eps: number,
): [sum: T, normed: T] {
  const [normed, sum] = runKernel(NAME, kernel, { x, w, r }, { eps }) as unknown as [T, T]
  return [sum, normed]
}
