// Attention kernels for bench/gpu/kernels.ts: the tensor-core kernel (f16 path) against the f32
// kernel on random q/k/v (relative L2 error of the output), at the 4B shape (32 heads, 8 KV heads,
// head dimension 128) for a 1024-token prefill, a 130-token prefill, two decode-like calls with
// earlier keys (start > 0), and inputs far outside f16's range (|x| up to ~3e5) to check that the
// per-head scaling keeps them finite; plus each kernel's time at 1024 tokens.
import * as tf from '@tensorflow/tfjs-core'
import { tcAttentionDebug } from '../../src/gpu/attention.js'
import { attentionOptions, gpuCausalAttention } from '../../src/gpu/index.js'

type TimeIt = (fn: () => tf.Tensor, n: number) => Promise<number>
type RelErr = (a: tf.Tensor, b: tf.Tensor) => Promise<number>
type Checked = (fn: () => tf.Tensor) => Promise<string | null>

const CASES = [
  { name: 'prefill_1024', t: 1024, start: 0, mag: 1 },
  { name: 'prefill_130', t: 130, start: 0, mag: 1 },
  { name: 'decode_7_after_100', t: 7, start: 100, mag: 1 },
  { name: 'decode_1_after_1000', t: 1, start: 1000, mag: 1 },
  { name: 'prefill_1024_values_3e5', t: 1024, start: 0, mag: 3e5 },
] as const

/**
 * Diagnostics of the tensor-core kernel on 64 queries, 2 heads, 1 KV head: its raw scores of the
 * first 32 keys (`scores`) and its `P = 1` sums of the causal V rows (`pv`) against the host.
 */
async function tcDiagnostics() {
  const [t, H, hd] = [64, 2, 128]
  const q = tf.randomNormal([t, H, hd]) as tf.Tensor3D
  const k = tf.randomNormal([t, 1, hd]) as tf.Tensor3D
  const v = tf.randomNormal([t, 1, hd]) as tf.Tensor3D
  const [qa, ka, va] = (await Promise.all([q.data(), k.data(), v.data()])) as Float32Array[]
  const out: Record<string, unknown> = {}
  for (const mode of ['scores', 'pv'] as const) {
    tcAttentionDebug.mode = mode
    const o = gpuCausalAttention(q, k, v, { start: 0, scale: 1, tensorCores: true })
    const got = (await o.data()) as Float32Array
    o.dispose()
    let worst = 0
    let worstT = 0
    const sample: number[][] = []
    for (let i = 0; i < t; i++)
      for (let h = 0; h < H; h++)
        for (let c = 0; c < (mode === 'scores' ? 32 : hd); c++) {
          let want = 0
          let wantT = 0
          if (mode === 'scores')
            for (let d = 0; d < hd; d++) {
              want += qa![(i * H + h) * hd + d]! * ka![c * hd + d]!
              wantT += qa![((c % t) * H + h) * hd + d]! * ka![i * hd + d]!
            }
          else for (let j = 0; j <= i; j++) want += va![j * hd + c]!
          const g = got[(i * H + h) * hd + c]!
          worst = Math.max(worst, Math.abs(g - want))
          worstT = Math.max(worstT, Math.abs(g - wantT))
          if (i < 2 && h === 0 && c < 3) sample.push([i, c, g, want, wantT])
        }
    out[mode] = { max_abs_err: worst, max_abs_err_if_transposed: worstT, sample }
  }
  tcAttentionDebug.mode = null
  tf.dispose([q, k, v])
  return out
}

export async function attentionCheck(timeIt: TimeIt, relErr: RelErr, checked: Checked) {
  const [H, KV, hd] = [32, 8, 128]
  const scale = 1 / Math.sqrt(hd)
  const rows: Record<string, unknown>[] = []
  if (attentionOptions.tensorCores)
    rows.push({ diagnostics: await tcDiagnostics().catch((e) => String(e?.stack ?? e)) })
  for (const c of CASES) {
    const tk = c.start + c.t
    // Unit-normal q/k/v; in the large case k and v times `mag` (beyond f16) and q divided by it
    // (scores keep their size).
    const qq = tf.tidy(() => tf.div(tf.randomNormal([c.t, H, hd]), c.mag)) as tf.Tensor3D
    const kk = tf.tidy(() => tf.mul(tf.randomNormal([tk, KV, hd]), c.mag)) as tf.Tensor3D
    const v = tf.tidy(() => tf.mul(tf.randomNormal([tk, KV, hd]), c.mag))
    const run = (tc: boolean) => () =>
      gpuCausalAttention(qq, kk, v as tf.Tensor3D, { start: c.start, scale, tensorCores: tc })
    const ref = run(false)()
    const out = run(true)()
    const finite = tf.tidy(() => tf.all(tf.isFinite(out)))
    const row: Record<string, unknown> = {
      case: c.name,
      tensor_cores_used: attentionOptions.tensorCores,
      rel_err_vs_f32_kernel: await relErr(out, ref),
      all_finite: (await finite.data())[0] === 1,
    }
    if (c.t === 1024 && c.mag === 1) {
      row.validation_error = await checked(run(true))
      const flop = 2 * c.t * c.t * H * hd
      row.f32_kernel_ms = 1000 * (await timeIt(run(false), 10))
      row.tensor_core_ms = 1000 * (await timeIt(run(true), 10))
      row.f32_kernel_tflops = flop / (row.f32_kernel_ms as number) / 1e9
      row.tensor_core_tflops = flop / (row.tensor_core_ms as number) / 1e9
    }
    tf.dispose([v, kk, qq, ref, out, finite])
    rows.push(row)
  }
  return rows
}

/** Relative error of the tensor-core kernel against the f32 kernel on 256 random tokens. */
export async function tcAttentionError(relErr: RelErr): Promise<number> {
  const q = tf.randomNormal([256, 32, 128]) as tf.Tensor3D
  const k = tf.randomNormal([256, 8, 128]) as tf.Tensor3D
  const v = tf.randomNormal([256, 8, 128]) as tf.Tensor3D
  const o = { start: 0, scale: 1 / Math.sqrt(128) }
  const a = gpuCausalAttention(q, k, v, { ...o, tensorCores: true })
  const b = gpuCausalAttention(q, k, v, { ...o, tensorCores: false })
  const e = await relErr(a, b)
  tf.dispose([q, k, v, a, b])
  return e
}
