// A weight over the storage-binding limit on a real GPU, for bench/gpu/kernels.ts (`split` part):
// the `wide` checkpoint of bench/make-qwen3-0.6b.ts (hidden 4096, tied output projection
// [4096, 151936], 2.3 GiB in float32) loaded by loadGpuModel at f32 (split by output columns) and
// at f16 (1.2 GiB, one buffer); the last row's logits of a 64-token forward from both, their
// relative difference, and the f32 logits written to a file for bench/gpu/torch_split.py to
// compare with torch fp32.
import { writeFileSync } from 'node:fs'
import * as tf from '@tensorflow/tfjs-core'
import { gpuCapabilities, loadGpuModel } from '../../src/gpu/index.js'

export async function splitCheck(dir: string, logitsOut: string) {
  const res: Record<string, unknown> = { model: dir }
  const rows: Record<string, Float32Array> = {}
  let tokens: number[] = []
  for (const precision of ['f32', 'f16'] as const) {
    const t0 = performance.now()
    const gm = await loadGpuModel(dir, { precision })
    res[`load_s_${precision}`] = (performance.now() - t0) / 1000
    const { vocabSize: V, hiddenSize: d } = gm.config
    tokens = Array.from({ length: 64 }, (_, i) => 1 + ((i * 7919) % (V - 1)))
    res.lm_head_f32_bytes = V * d * 4
    const h = gm.forwardHidden(tokens)
    const last = tf.slice(h, [63, 0], [1, d]) as tf.Tensor2D
    const lg = gm.logits(last)
    rows[precision] = (await lg.data()) as Float32Array
    tf.dispose([h, last, lg])
    gm.dispose()
  }
  res.max_binding_bytes = gpuCapabilities()?.maxBindingBytes
  let num = 0
  let den = 0
  rows.f32!.forEach((x, i) => {
    num += (x - rows.f16![i]!) ** 2
    den += x * x
  })
  res.last_row_logits_rel_l2_f32_split_vs_f16 = Math.sqrt(num / den)
  res.f32_logits_finite = rows.f32!.every(Number.isFinite)
  writeFileSync(logitsOut, JSON.stringify({ tokens, logits: Array.from(rows.f32!) }))
  return res
}
