/**
 * Elementwise decoder kernels on the webgpu backend: rotary embedding and the SwiGLU gate.
 */
import * as tf from '@tensorflow/tfjs-core'
import { grid, runGpu, webgpuBackend, wgslBindings, runKernel } from './_dispatch.js'

const ROPE = 'ReliquaryRope'
const SWIGLU = 'ReliquarySwiGlu'

const ropeShader = () => `
${wgslBindings({ read: ['x: f32', 'cs: f32', 'sn: f32'], readWrite: ['y: f32'], uniform: 'n: u32, heads: u32, hd: u32, gx: u32' })}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * u.gx) * 256u + li;
  if (i >= u.n) { return; }
  let half = u.hd / 2u;
  let j = i % u.hd;
  let t = i / (u.heads * u.hd);
  let p = select(i - half, i + half, j < half);
  y[i] = x[i] * cs[t * u.hd + j] + x[p] * sn[t * u.hd + j];
}`

const swigluShader = () => `
${wgslBindings({ read: ['g: f32', 'v: f32'], readWrite: ['y: f32'], uniform: 'n: u32, gx: u32' })}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * u.gx) * 256u + li;
  if (i >= u.n) { return; }
  let a = g[i];
  y[i] = a / (1.0 + exp(-a)) * v[i];
}`

type Args = { inputs: tf.NamedTensorInfoMap }

function ropeKernel({ inputs }: Args) {
  const { x, cos, sin } = inputs as Record<string, tf.TensorInfo>
  const [, heads, hd] = x!.shape as [number, number, number]
  const n = tf.util.sizeFromShape(x!.shape)
  const [gx, gy] = grid(Math.ceil(n / 256))
  return runGpu(webgpuBackend(), {
    key: 'rope',
    code: ropeShader,
    inputs: [x!, cos!, sin!],
    outputs: [{ shape: x!.shape, dtype: 'float32' }],
    uniforms: [n, heads, hd, gx],
    workgroups: [gx, gy],
  })[0]!
}

function swigluKernel({ inputs }: Args) {
  const { gate, up } = inputs as Record<string, tf.TensorInfo>
  const n = tf.util.sizeFromShape(gate!.shape)
  const [gx, gy] = grid(Math.ceil(n / 256))
  return runGpu(webgpuBackend(), {
    key: 'swiglu',
    code: swigluShader,
    inputs: [gate!, up!],
    outputs: [{ shape: gate!.shape, dtype: 'float32' }],
    uniforms: [n, gx],
    workgroups: [gx, gy],
  })[0]!
}

/**
 * Rotary embedding `x·cos + rotate_half(x)·sin` for `x` `[T, heads, hd]` and tables `[T, hd]`
 * whose sine has its first half negated (the decoder's `RopeTables` layout). webgpu backend only.
 */
export function gpuRope(x: tf.Tensor3D, cos: tf.Tensor2D, sinSigned: tf.Tensor2D): tf.Tensor3D {
  return runKernel(ROPE, ropeKernel, { x, cos, sin: sinSigned }) as tf.Tensor3D
}

/** SwiGLU gate `silu(gate) · up` (transformers' `act_fn(gate_proj(x)) * up_proj(x)`). webgpu only. */
export function gpuSwiGlu<T extends tf.Tensor>(gate: T, up: T): T {
  return runKernel(SWIGLU, swigluKernel, { gate, up }) as T
}
