/**
 * The decoder's elementwise and normalisation ops under the gradient tape on the webgpu backend:
 * RMSNorm, rotary embedding and the SwiGLU gate, each one fused forward kernel (this folder's
 * `rmsNorm.ts` / `elementwise.ts` shaders, or one of this file's) and hand-written backward
 * kernels, recorded on TF.js's tape as one node each (`tf.customGrad`) that saves only its inputs.
 * Float32 throughout. webgpu backend only: the callers keep TF.js's generic ops elsewhere.
 */
import * as tf from '@tensorflow/tfjs-core'
import { typedCustomGrad } from '../_utils/typedCustomGrad.js'
import { invalidArgument } from '../errors/base.js'
import {
  grid,
  runGpu,
  runKernel,
  webgpuBackend,
  wgslBindings,
  type KernelArgs,
} from './_dispatch.js'
import { gpuSwiGlu } from './elementwise.js'
import { gpuRmsNorm } from './rmsNorm.js'

/**
 * Switch of the fused training ops, settable for benchmarks and parity tests: `gpu: false` makes
 * the decoder's batched training pass use TF.js's generic ops on webgpu as well (as on every other
 * backend).
 */
export const tapeFusedOptions: { gpu: boolean } = { gpu: true }

/** Threads per row of the RMSNorm kernels: 256 for wide rows (the hidden size), 64 for heads. */
const rowThreads = (d: number) => (d > 128 ? 256 : 64)

/**
 * Rows each workgroup of the RMSNorm backward walks: at most 4096 workgroups in all (enough to
 * fill a large GPU), so the partial sums of `dw` stay at most `4096 · d` floats.
 */
const rowsPerGroup = (rows: number) => Math.max(1, Math.ceil(rows / 4096))

// One workgroup per block of `c` consecutive rows. Per row: Σx² and Σ(w·dy·x) by a tree
// reduction, then dx = r·w·dy − x·r³·Σ(w·dy·x)/d with r = rsqrt(Σx²/d + eps) recomputed. Each
// thread owns columns li, li + WG, …: it adds dy·x·r of every row of the block to registers and
// writes them as the block's row of the `[blocks, d]` partial sums of dw.
const rmsNormBackwardShader = (wg: number, cols: number) => () =>
  `
${wgslBindings({
  read: ['x: f32', 'w: f32', 'dy: f32'],
  readWrite: ['dx: f32', 'part: f32'],
  uniform: 'rows: u32, d: u32, c: u32, gx: u32, eps: f32',
})}
var<workgroup> red: array<vec2f, ${wg}>;
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) g: vec3u, @builtin(local_invocation_index) li: u32) {
  let blk = g.x + g.y * u.gx;
  let first = blk * u.c;
  let last = min(u.rows, first + u.c);
  var acc: array<f32, ${cols}>;
  for (var k = 0u; k < ${cols}u; k++) { acc[k] = 0.0; }
  for (var row = first; row < last; row++) {
    let base = row * u.d;
    var s = vec2f(0.0);
    for (var j = li; j < u.d; j += ${wg}u) {
      let v = x[base + j];
      s += vec2f(v * v, w[j] * dy[base + j] * v);
    }
    red[li] = s;
    workgroupBarrier();
    for (var o = ${wg / 2}u; o > 0u; o >>= 1u) {
      if (li < o) { red[li] += red[li + o]; }
      workgroupBarrier();
    }
    let t = red[0];
    workgroupBarrier();
    let r = inverseSqrt(t.x / f32(u.d) + u.eps);
    let m = r * r * r * t.y / f32(u.d);
    var q = 0u;
    for (var j = li; j < u.d; j += ${wg}u) {
      let v = x[base + j];
      let e = dy[base + j];
      dx[base + j] = r * w[j] * e - v * m;
      acc[q] += e * v * r;
      q++;
    }
  }
  if (first >= u.rows) { return; }
  var q = 0u;
  for (var j = li; j < u.d; j += ${wg}u) {
    part[blk * u.d + j] = acc[q];
    q++;
  }
}`

// dw[j] = Σ over the blocks of part[·, j]: one workgroup per column, a strided sum then a tree.
const columnSumShader = () => `
${wgslBindings({ read: ['part: f32'], readWrite: ['dw: f32'], uniform: 'blocks: u32, d: u32' })}
var<workgroup> red: array<f32, 64>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) g: vec3u, @builtin(local_invocation_index) li: u32) {
  let j = g.x;
  var s = 0.0;
  for (var b = li; b < u.blocks; b += 64u) { s += part[b * u.d + j]; }
  red[li] = s;
  workgroupBarrier();
  for (var o = 32u; o > 0u; o >>= 1u) {
    if (li < o) { red[li] += red[li + o]; }
    workgroupBarrier();
  }
  if (li == 0u) { dw[j] = red[0]; }
}`

// y = scale·(x·cos + x[p]·sin) with p the index in the other half of the head; `back` applies the
// transpose (the rotation by −θ): sin read at p, which is where x[p]'s forward term took it from.
const ropeShader = () => `
${wgslBindings({
  read: ['x: f32', 'cs: f32', 'sn: f32'],
  readWrite: ['y: f32'],
  uniform: 'n: u32, heads: u32, hd: u32, t: u32, gx: u32, back: u32, scale: f32',
})}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * u.gx) * 256u + li;
  if (i >= u.n) { return; }
  let half = u.hd / 2u;
  let j = i % u.hd;
  let row = ((i / (u.heads * u.hd)) % u.t) * u.hd;
  let pj = select(j - half, j + half, j < half);
  let p = i - j + pj;
  let sj = select(j, pj, u.back != 0u);
  y[i] = u.scale * (x[i] * cs[row + j] + x[p] * sn[row + sj]);
}`

// SwiGLU's two input gradients in one pass: dg = dy·u·σ(g)·(1 + g·(1 − σ(g))), du = dy·g·σ(g).
const swigluBackwardShader = () => `
${wgslBindings({
  read: ['g: f32', 'v: f32', 'dy: f32'],
  readWrite: ['dg: f32', 'dv: f32'],
  uniform: 'n: u32, gx: u32',
})}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * u.gx) * 256u + li;
  if (i >= u.n) { return; }
  let a = g[i];
  let s = 1.0 / (1.0 + exp(-a));
  let e = dy[i];
  dg[i] = e * v[i] * s * (1.0 + a * (1.0 - s));
  dv[i] = e * a * s;
}`

function rmsNormBackwardKernel({ inputs, attrs }: KernelArgs) {
  const { x, w, dy } = inputs as Record<string, tf.TensorInfo>
  const d = x!.shape[x!.shape.length - 1]!
  const rows = tf.util.sizeFromShape(x!.shape) / d
  const wg = rowThreads(d)
  const cols = Math.ceil(d / wg)
  const c = rowsPerGroup(rows)
  const blocks = Math.ceil(rows / c)
  const [gx, gy] = grid(blocks)
  const b = webgpuBackend()
  const [dx, part] = runGpu(b, {
    key: `tape-rmsnorm-bwd-${wg}-${cols}`,
    code: rmsNormBackwardShader(wg, cols),
    inputs: [x!, w!, dy!],
    outputs: [
      { shape: x!.shape, dtype: 'float32' },
      { shape: [blocks, d], dtype: 'float32' },
    ],
    uniforms: [rows, d, c, gx, { f: attrs!.eps as number }],
    workgroups: [gx, gy],
  }) as [tf.TensorInfo, tf.TensorInfo]
  const [dw] = runGpu(b, {
    key: 'tape-column-sum',
    code: columnSumShader,
    inputs: [part],
    outputs: [{ shape: [d], dtype: 'float32' }],
    uniforms: [blocks, d],
    workgroups: [d],
  }) as [tf.TensorInfo]
  b.disposeData(part.dataId)
  return [dx, dw]
}

function ropeKernel({ inputs, attrs }: KernelArgs) {
  const { x, cos, sin } = inputs as Record<string, tf.TensorInfo>
  const s = x!.shape
  const [heads, hd] = [s[s.length - 2]!, s[s.length - 1]!]
  const t = tf.util.sizeFromShape(cos!.shape) / hd
  const n = tf.util.sizeFromShape(s)
  const [gx, gy] = grid(Math.ceil(n / 256))
  return runGpu(webgpuBackend(), {
    key: 'tape-rope',
    code: ropeShader,
    inputs: [x!, cos!, sin!],
    outputs: [{ shape: s, dtype: 'float32' }],
    uniforms: [n, heads, hd, t, gx, attrs!.back ? 1 : 0, { f: attrs!.scale as number }],
    workgroups: [gx, gy],
  })[0]!
}

function swigluBackwardKernel({ inputs }: KernelArgs) {
  const { gate, up, dy } = inputs as Record<string, tf.TensorInfo>
  const n = tf.util.sizeFromShape(gate!.shape)
  const [gx, gy] = grid(Math.ceil(n / 256))
  return runGpu(webgpuBackend(), {
    key: 'tape-swiglu-bwd',
    code: swigluBackwardShader,
    inputs: [gate!, up!, dy!],
    outputs: [
      { shape: gate!.shape, dtype: 'float32' },
      { shape: gate!.shape, dtype: 'float32' },
    ],
    uniforms: [n, gx],
    workgroups: [gx, gy],
  })
}

/**
 * transformers `RMSNorm` over the last axis, `w · x · rsqrt(mean(x²) + eps)`, differentiable with
 * respect to `x` and `w` on the webgpu backend: the forward is `gpuRmsNorm` (one workgroup per
 * row); the node saves `x` and `w` only, and its gradient is two kernels: per row
 * `dx = r·(w⊙dy) − x·r³·mean((w⊙dy)⊙x)` with `r` recomputed, together with per-block column sums
 * of `dy⊙x·r`, then one sum over the blocks per column for `dw`. Equals TF.js's autodiff of the
 * same formula up to float32 summation order.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core'
 * import { tapeRmsNorm } from 'reliquary/gpu'
 * const w = tf.variable(tf.ones([64]))
 * const { grads } = tf.variableGrads(() => tf.sum(tapeRmsNorm(tf.randomNormal([8, 64]), w, 1e-6)), [w])
 * ```
 */
export function tapeRmsNorm<T extends tf.Tensor>(x: T, w: tf.Tensor1D, eps: number): T {
  if (w.rank !== 1 || x.rank < 1 || w.shape[0] !== x.shape[x.rank - 1])
    throw invalidArgument('w', `a [${x.shape[x.rank - 1]}] tensor (x's last axis)`, w.shape)
  const op = typedCustomGrad<(x: T, w: tf.Tensor1D) => T>(
    (xi: T, wi: tf.Tensor1D, save: tf.GradSaveFunc) => {
      save([xi, wi])
      return {
        value: gpuRmsNorm(xi, wi, eps),
        gradFunc: (dy: T, [xs, ws]: tf.Tensor[]) =>
          runKernel<tf.Tensor[]>(
            'ReliquaryTapeRmsNormGrad',
            rmsNormBackwardKernel,
            {
              x: xs!,
              w: ws!,
              dy,
            },
            { eps },
          ),
      }
    },
  )
  return op(x, w)
}

/**
 * Rotary embedding times a constant, `scale · (x·cos + rotate_half(x)·sin)`, for `x`
 * `[..., T, heads, hd]` (any leading batch axes) and tables of `T·hd` values (`[T, hd]` or
 * `[T, 1, hd]`, the sine with its first half negated: the decoder's `RopeTables` layout),
 * differentiable with respect to `x` on the webgpu backend: one kernel forward and one backward
 * (the transposed rotation, i.e. by −θ, times `scale`). The tables are constants (no gradient).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core'
 * import { tapeRope } from 'reliquary/gpu'
 * const cos = tf.ones([4, 1, 8])
 * const sin = tf.zeros([4, 1, 8])
 * const y = tapeRope(tf.randomNormal([2, 4, 3, 8]), cos, sin, 0.5)
 * ```
 */
export function tapeRope<T extends tf.Tensor>(
  x: T,
  cos: tf.Tensor,
  sinSigned: tf.Tensor,
  scale = 1,
): T {
  const [t, hd] = [x.shape[x.rank - 3], x.shape[x.rank - 1]]
  if (x.rank < 3 || hd === undefined || hd % 2 !== 0 || t === undefined)
    throw invalidArgument('x', '[..., T, heads, hd] with an even hd', x.shape)
  if (cos.size !== t * hd || sinSigned.size !== t * hd)
    throw invalidArgument('cos, sinSigned', `tables of T·hd = ${t * hd} values`, [
      cos.shape,
      sinSigned.shape,
    ])
  const rope = (a: tf.Tensor, c: tf.Tensor, s: tf.Tensor, back: boolean) =>
    runKernel<T>('ReliquaryTapeRope', ropeKernel, { x: a, cos: c, sin: s }, { back, scale })
  const op = typedCustomGrad<(x: T) => T>((xi: T, save: tf.GradSaveFunc) => {
    save([cos, sinSigned])
    return {
      value: rope(xi, cos, sinSigned, false),
      gradFunc: (dy: T, [c, s]: tf.Tensor[]) => rope(dy, c!, s!, true),
    }
  })
  return op(x)
}

/**
 * The SwiGLU gate `silu(gate) · up` (transformers' `act_fn(gate_proj(x)) * up_proj(x)`),
 * differentiable with respect to both inputs on the webgpu backend: one kernel forward
 * (`gpuSwiGlu`) and one backward that writes both gradients,
 * `dgate = dy·up·σ(gate)·(1 + gate·(1 − σ(gate)))` and `dup = dy·gate·σ(gate)`. Saves its inputs.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core'
 * import { tapeSwiGlu } from 'reliquary/gpu'
 * const g = tf.randomNormal([8, 32])
 * const dg = tf.grad((a: tf.Tensor) => tf.sum(tapeSwiGlu(a, tf.ones([8, 32]))))(g)
 * ```
 */
export function tapeSwiGlu<T extends tf.Tensor>(gate: T, up: T): T {
  const op = typedCustomGrad<(g: T, u: T) => T>((g: T, u: T, save: tf.GradSaveFunc) => {
    save([g, u])
    return {
      value: gpuSwiGlu(g, u),
      gradFunc: (dy: T, [gs, us]: tf.Tensor[]) =>
        runKernel<tf.Tensor[]>('ReliquaryTapeSwiGluGrad', swigluBackwardKernel, {
          gate: gs!,
          up: us!,
          dy,
        }),
    }
  })
  return op(gate, up)
}
