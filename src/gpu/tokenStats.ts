/**
 * Per-token reductions of the validator's checks on the GPU: from logits rows and the next token of
 * each row, the log-probability of that token, its probability at a temperature, and the
 * probability of the EOS set. Only these scalars are read back, never the `[T, vocab]` logits.
 */
import * as tf from '@tensorflow/tfjs-core'
import {
  grid,
  runGpu,
  webgpuBackend,
  wgslBindings,
  runKernel,
  type KernelArgs,
} from './_dispatch.js'

const NAME = 'ReliquaryTokenStats'

const shader = () => `
${wgslBindings({ read: ['x: f32', 'next: i32', 'eos: i32'], readWrite: ['y: f32'], uniform: 'rows: u32, v: u32, e: u32, gx: u32, temp: f32' })}
var<workgroup> pm: array<f32, 256>;
var<workgroup> ps: array<f32, 256>;
var<workgroup> pmt: array<f32, 256>;
var<workgroup> pst: array<f32, 256>;
fn merge(m: f32, s: f32, m2: f32, s2: f32) -> vec2f {
  let mx = max(m, m2);
  return vec2f(mx, s * exp(m - mx) + s2 * exp(m2 - mx));
}
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let row = wg.x + wg.y * u.gx;
  if (row >= u.rows) { return; }
  let base = row * u.v;
  var m = -3.0e38; var s = 0.0; var mt = -3.0e38; var st = 0.0;
  for (var j = li; j < u.v; j += 256u) {
    let a = x[base + j];
    let r = merge(m, s, a, 1.0); m = r.x; s = r.y;
    let rt = merge(mt, st, a / u.temp, 1.0); mt = rt.x; st = rt.y;
  }
  pm[li] = m; ps[li] = s; pmt[li] = mt; pst[li] = st;
  workgroupBarrier();
  for (var o = 128u; o > 0u; o >>= 1u) {
    if (li < o) {
      let r = merge(pm[li], ps[li], pm[li + o], ps[li + o]); pm[li] = r.x; ps[li] = r.y;
      let rt = merge(pmt[li], pst[li], pmt[li + o], pst[li + o]); pmt[li] = rt.x; pst[li] = rt.y;
    }
    workgroupBarrier();
  }
  if (li == 0u) {
    let lse = pm[0] + log(ps[0]);
    let lseT = pmt[0] + log(pst[0]);
    let c = x[base + u32(next[row])];
    var pe = 0.0;
    for (var i = 0u; i < u.e; i++) { pe += exp(x[base + u32(eos[i])] - lse); }
    y[row * 3u] = c - lse;
    y[row * 3u + 1u] = exp(c / u.temp - lseT);
    y[row * 3u + 2u] = pe;
  }
}`

function kernel({ inputs, attrs }: KernelArgs) {
  const { logits, next, eos } = inputs as Record<string, tf.TensorInfo>
  const [rows, v] = logits!.shape as [number, number]
  const [gx, gy] = grid(rows)
  return runGpu(webgpuBackend(), {
    key: 'tokenstats',
    code: shader,
    inputs: [logits!, next!, eos!],
    outputs: [{ shape: [rows, 3], dtype: 'float32' }],
    uniforms: [rows, v, attrs!.eosCount as number, gx, { f: attrs!.temperature as number }],
    workgroups: [gx, gy],
  })[0]!
}

/**
 * For logits `[R, V]` and `next` `[R]` (int32 ids in `[0, V)`): `[R, 3]` float32 holding per row
 * the fp32 log-softmax of `next`, its softmax probability at `temperature`, and the summed
 * probability (no temperature) of the `eos` ids. webgpu backend only; ids are not range-checked
 * here (callers validate tokens first).
 */
export function gpuTokenStats(
  logits: tf.Tensor2D,
  next: tf.Tensor1D,
  eos: readonly number[],
  temperature: number,
): tf.Tensor2D {
  return tf.tidy(() => {
    const e = tf.tensor1d(eos.length ? [...eos] : [0], 'int32')
    return runKernel(
      NAME,
      kernel,
      { logits, next, eos: e },
      { temperature, eosCount: eos.length },
    ) as tf.Tensor2D
  })
}
