/**
 * Qwen3's per-head query/key RMSNorm followed by the rotary embedding, for queries and keys in one
 * dispatch (four dispatches and three round trips through memory otherwise).
 */
import type * as tf from '@tensorflow/tfjs-core'
import {
  grid,
  runGpu,
  webgpuBackend,
  wgslBindings,
  runKernel,
  type KernelArgs,
} from './_dispatch.js'

const NAME = 'ReliquaryQkNormRope'

/** Decoder kernel choices, settable for benchmarks. */
export const qkNormRopeOptions: {
  /** The decoder layers use {@link gpuQkNormRope} where the model has q/k norms. */
  fused: boolean
} = { fused: true }

// One workgroup of 256 per (row, head), q's heads first: the norm's sum of squares is reduced by
// the same 256-slot tree as gpuRmsNorm and the normed values are formed the same way, then RoPE
// reads its rotation partner from workgroup memory, so the result equals gpuRmsNorm then gpuRope.
const shader = () => `
${wgslBindings({ read: ['q: f32', 'k: f32', 'wq: f32', 'wk: f32', 'cs: f32', 'sn: f32'], readWrite: ['qo: f32', 'ko: f32'], uniform: 'rows: u32, heads: u32, kvHeads: u32, hd: u32, gx: u32, eps: f32' })}
var<workgroup> part: array<f32, 256>;
var<workgroup> nv: array<f32, 256>;
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let id = wg.x + wg.y * u.gx;
  let per = u.heads + u.kvHeads;
  if (id >= u.rows * per) { return; }
  let t = id / per;
  let hh = id % per;
  let isQ = hh < u.heads;
  let base = select((t * u.kvHeads + hh - u.heads) * u.hd, (t * u.heads + hh) * u.hd, isQ);
  var x = 0.0;
  if (li < u.hd) { x = select(k[base + li], q[base + li], isQ); }
  part[li] = x * x;
  workgroupBarrier();
  for (var o = 128u; o > 0u; o >>= 1u) {
    if (li < o) { part[li] += part[li + o]; }
    workgroupBarrier();
  }
  let inv = inverseSqrt(part[0] / f32(u.hd) + u.eps);
  if (li < u.hd) { nv[li] = select(wk[li], wq[li], isQ) * (x * inv); }
  workgroupBarrier();
  if (li < u.hd) {
    let half = u.hd / 2u;
    let p = select(li - half, li + half, li < half);
    let y = nv[li] * cs[t * u.hd + li] + nv[p] * sn[t * u.hd + li];
    if (isQ) { qo[base + li] = y; } else { ko[base + li] = y; }
  }
}`

function kernel({ inputs, attrs }: KernelArgs) {
  const { q, k, wq, wk, cos, sin } = inputs as Record<string, tf.TensorInfo>
  const [rows, heads, hd] = q!.shape as [number, number, number]
  const kvHeads = k!.shape[1]!
  const [gx, gy] = grid(rows * (heads + kvHeads))
  return runGpu(webgpuBackend(), {
    key: 'qknormrope',
    code: shader,
    inputs: [q!, k!, wq!, wk!, cos!, sin!],
    outputs: [
      { shape: q!.shape, dtype: 'float32' },
      { shape: k!.shape, dtype: 'float32' },
    ],
    uniforms: [rows, heads, kvHeads, hd, gx, { f: attrs!.eps as number }],
    workgroups: [gx, gy],
  })
}

/**
 * `rope(rmsNorm(q, wq))` and `rope(rmsNorm(k, wk))` in one dispatch, for q `[T, H, hd]`, k
 * `[T, KV, hd]`, norm weights `[hd]` and RoPE tables `[T, hd]` (sine with its first half negated,
 * as {@link gpuRope}); the same values as {@link gpuRmsNorm} then {@link gpuRope}. Needs an even
 * `hd` of at most 256. webgpu backend only.
 */
export function gpuQkNormRope(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  w: { q: tf.Tensor1D; k: tf.Tensor1D; eps: number },
  cos: tf.Tensor2D,
  sinSigned: tf.Tensor2D,
): [tf.Tensor3D, tf.Tensor3D] {
  const hd = q.shape[2]
  if (hd > 256 || hd % 2 !== 0 || k.shape[2] !== hd)
    throw new Error('gpuQkNormRope: head dimension must be even, at most 256, equal for q and k.')
  const inputs = { q, k, wq: w.q, wk: w.k, cos, sin: sinSigned }
  return runKernel(NAME, kernel, inputs, { eps: w.eps }) as unknown as [tf.Tensor3D, tf.Tensor3D]
}
