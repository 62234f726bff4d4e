/**
 * The log-probability of one chosen token per row, `log_softmax(rows · lm_head)[i, targets[i]]`,
 * differentiable, with the `[rows, vocab]` work in two kernels: one per-row reduction in the
 * forward (log-sum-exp and the picked logit) and one elementwise kernel in the backward (the
 * logits' gradient), around this folder's GEMMs. It replaces about ten TF.js ops forward and a
 * dozen backward, each reading and writing the whole `[rows, vocab]` tensor.
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
import { gpuMatMul } from './matmul.js'
import { tapeMatMulGrads } from './tapeMatMul.js'

const FORWARD = 'ReliquaryPickedLogprobs'
const BACKWARD = 'ReliquaryPickedLogprobsGrad'

// One workgroup per row. Each thread keeps an online (max, Σ exp(x − max)) over its strided
// columns, the workgroup merges the 256 pairs, and thread 0 writes `(x[t] − max) − log Σ` (TF.js's
// LogSoftmax order) and the pair (max, log Σ) the backward needs. A target outside [0, V) picks
// nothing (0), as the one-hot product does.
const forwardShader = () => `
${wgslBindings({ read: ['x: f32', 'tg: i32'], readWrite: ['lp: f32', 'st: f32'], uniform: 'rows: u32, v: u32, gx: u32' })}
var<workgroup> pm: array<f32, 256>;
var<workgroup> ps: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let row = wg.x + wg.y * u.gx;
  if (row >= u.rows) { return; }
  let base = row * u.v;
  var m = -3.0e38;
  var s = 0.0;
  for (var j = li; j < u.v; j += 256u) {
    let a = x[base + j];
    if (a > m) { s = s * exp(m - a) + 1.0; m = a; } else { s += exp(a - m); }
  }
  pm[li] = m;
  ps[li] = s;
  workgroupBarrier();
  for (var o = 128u; o > 0u; o >>= 1u) {
    if (li < o) {
      let m2 = pm[li + o];
      let mx = max(pm[li], m2);
      ps[li] = ps[li] * exp(pm[li] - mx) + ps[li + o] * exp(m2 - mx);
      pm[li] = mx;
    }
    workgroupBarrier();
  }
  if (li == 0u) {
    let mx = pm[0];
    let ls = log(ps[0]);
    let t = tg[row];
    var p = 0.0;
    if (t >= 0 && u32(t) < u.v) { p = (x[base + u32(t)] - mx) - ls; }
    lp[row] = p;
    st[row * 2u] = mx;
    st[row * 2u + 1u] = ls;
  }
}`

// One thread per element: dy·[j = t] − dy·exp((x − max) − log Σ) (TF.js's LogSoftmax gradient of
// the one-hot product, whose row sum is dy); a row whose target is out of range gets 0.
const backwardShader = () => `
${wgslBindings({ read: ['x: f32', 'tg: i32', 'st: f32', 'dy: f32'], readWrite: ['dx: f32'], uniform: 'n: u32, v: u32, gx: u32' })}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let i = (wg.x + wg.y * u.gx) * 256u + li;
  if (i >= u.n) { return; }
  let row = i / u.v;
  let j = i - row * u.v;
  let t = tg[row];
  let d = select(0.0, dy[row], t >= 0 && u32(t) < u.v);
  let p = exp((x[i] - st[row * 2u]) - st[row * 2u + 1u]);
  dx[i] = select(0.0, d, u32(t) == j) - d * p;
}`

function forwardKernel({ inputs }: KernelArgs) {
  const { logits, targets } = inputs as Record<string, tf.TensorInfo>
  const [rows, v] = logits!.shape as [number, number]
  const [gx, gy] = grid(rows)
  return runGpu(webgpuBackend(), {
    key: 'pickedlogprobs',
    code: forwardShader,
    inputs: [logits!, targets!],
    outputs: [
      { shape: [rows], dtype: 'float32' },
      { shape: [rows, 2], dtype: 'float32' },
    ],
    uniforms: [rows, v, gx],
    workgroups: [gx, gy],
  })
}

function backwardKernel({ inputs }: KernelArgs) {
  const { logits, targets, stats, dy } = inputs as Record<string, tf.TensorInfo>
  const [rows, v] = logits!.shape as [number, number]
  const n = rows * v
  const [gx, gy] = grid(Math.ceil(n / 256))
  return runGpu(webgpuBackend(), {
    key: 'pickedlogprobs-grad',
    code: backwardShader,
    inputs: [logits!, targets!, stats!, dy!],
    outputs: [{ shape: [rows, v], dtype: 'float32' }],
    uniforms: [n, v, gx],
    workgroups: [gx, gy],
  })[0]!
}

/**
 * Per row of `logits` `[R, V]`: the log-softmax at `targets[i]` (`[R]`) and the row's
 * `(max, log Σ exp(x − max))` (`[R, 2]`). One dispatch. webgpu backend only.
 * @internal
 */
export function pickedLogprobsForward(
  logits: tf.Tensor2D,
  targets: tf.Tensor1D,
): [tf.Tensor1D, tf.Tensor2D] {
  return runKernel(FORWARD, forwardKernel, { logits, targets }) as [tf.Tensor1D, tf.Tensor2D]
}

/**
 * The gradient of {@link pickedLogprobsForward}'s log-probs with respect to `logits` for an
 * upstream gradient `dy` `[R]`, from the forward's row statistics: `[R, V]`. One dispatch.
 * webgpu backend only.
 * @internal
 */
export function pickedLogprobsBackward(
  logits: tf.Tensor2D,
  targets: tf.Tensor1D,
  stats: tf.Tensor2D,
  dy: tf.Tensor1D,
): tf.Tensor2D {
  return runKernel(BACKWARD, backwardKernel, { logits, targets, stats, dy }) as tf.Tensor2D
}

/** Options of {@link gpuPickedLogprobs}. */
export type GpuPickedLogprobsOptions = {
  /**
   * Keep only `rows` (and the row statistics, `[R, 2]`) for the backward pass and evaluate the
   * logits again there (one more GEMM), instead of keeping the `[R, V]` logits on the tape.
   * Default false.
   */
  readonly recompute?: boolean | undefined
}

type Picked = (rows: tf.Tensor2D, lmHead: tf.Tensor2D) => tf.Tensor1D

/**
 * `log_softmax(rows · lmHead)[i, targets[i]]` for each row, `[R]`, differentiable with respect to
 * `rows` `[R, d]` and `lmHead` `[d, V]` (float32; `targets` int32 `[R]`). The product runs on
 * this folder's GEMM ({@link gpuMatMul}); the log-sum-exp and the pick are one kernel; the
 * gradient is one elementwise kernel for the logits' gradient, `dy·(onehot − softmax)`, then both
 * product gradients ({@link tapeMatMulGrads}). The tape keeps the logits, or with `recompute`
 * only `rows`. Equal to TF.js's `sum(logSoftmax(rows · lmHead) · oneHot(targets), 1)` and its
 * gradients up to float32 rounding; a target outside `[0, V)` gives 0 and no gradient, as the
 * one-hot product does. webgpu backend only.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core'
 * import { gpuPickedLogprobs } from 'reliquary/gpu'
 * const w = tf.variable(tf.randomNormal([64, 1000]))
 * const rows = tf.randomNormal([8, 64]) as tf.Tensor2D
 * const ids = tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 999], 'int32')
 * const { grads } = tf.variableGrads(() => tf.sum(gpuPickedLogprobs(rows, w, ids)), [w])
 * ```
 */
export function gpuPickedLogprobs(
  rows: tf.Tensor2D,
  lmHead: tf.Tensor2D,
  targets: tf.Tensor1D,
  options: GpuPickedLogprobsOptions = {},
): tf.Tensor1D {
  const recompute = options.recompute === true
  if (rows.rank !== 2 || lmHead.rank !== 2 || rows.shape[1] !== lmHead.shape[0])
    throw invalidArgument('rows, lmHead', '[n, d] and [d, vocab]', [rows.shape, lmHead.shape])
  if (targets.dtype !== 'int32' || targets.rank !== 1 || targets.shape[0] !== rows.shape[0])
    throw invalidArgument('targets', `an int32 [${rows.shape[0]}] tensor`, [
      targets.dtype,
      targets.shape,
    ])
  const op = typedCustomGrad<Picked>((r: tf.Tensor2D, w: tf.Tensor2D, save: tf.GradSaveFunc) => {
    // customGrad runs this in a tidy: the logits and statistics are freed unless saved.
    const logits = gpuMatMul(r, w)
    const [lp, stats] = pickedLogprobsForward(logits, targets)
    save(recompute ? [r, targets, stats] : [r, targets, stats, logits])
    return {
      value: lp,
      gradFunc: (dy: tf.Tensor1D, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const [rs, ids, st] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor2D]
          const x = recompute ? gpuMatMul(rs, w) : (saved[3] as tf.Tensor2D)
          return tapeMatMulGrads(rs, w, pickedLogprobsBackward(x, ids, st, dy))
        }),
    }
  })
  return op(rows, lmHead)
}
