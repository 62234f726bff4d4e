// WebGPU backend check and benchmark, for a machine with a GPU (bundled with esbuild and run with
// a carried Node binary; see bench/gpu/README.md). Writes one JSON document to argv[2].
// Parity: forward vectors and reference proofs on the webgpu backend. Speed: forward tokens/s on
// qwen3-tiny and on a generated Qwen3-0.6B-shaped checkpoint.
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { computeSketch, computeSketchAsync, e1, verifySketch } from '../../src/index.js'
import { evaluateRollout, loadModel, useBackend } from '../../src/model/index.js'
import { benchArgs } from '../_args.js'

const { out, fixtures, bigDir } = benchArgs(
  {},
  {
    out: { type: 'string', default: 'webgpu.json' },
    fixtures: { type: 'string', default: 'test/fixtures/reference' },
    bigDir: { type: 'string' },
  },
)
const report: Record<string, unknown> = { started: new Date().toISOString() }
const save = () => writeFileSync(out, JSON.stringify(report, null, 2))

const backend = await useBackend('webgpu')
report.backend = backend
report.adapter = String(
  (tf.backend() as unknown as { adapterInfo?: { vendor?: string; architecture?: string } })
    .adapterInfo?.vendor ?? 'unknown',
)
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!

async function parity(file: string) {
  const doc = JSON.parse(readFileSync(join(fixtures, file), 'utf8'))
  const model = await loadModel(join(fixtures, doc.model_dir))
  const res: Record<string, unknown> = {}
  let worstHidden = 0
  let worstLogits = 0
  for (const c of doc.forward) {
    const { hidden, logits } = model.forward(c.tokens)
    const h = (await hidden.data()) as Float32Array
    const l = (await logits.data()) as Float32Array
    const d = model.config.hiddenSize
    const V = model.config.vocabSize
    c.hidden_rows.forEach((row: number, j: number) => {
      let num = 0,
        den = 0
      for (let k = 0; k < d; k++) {
        num += (h[row * d + k]! - c.last_hidden[j][k]) ** 2
        den += c.last_hidden[j][k] ** 2
      }
      worstHidden = Math.max(worstHidden, Math.sqrt(num / den))
    })
    const T = c.tokens.length
    for (let v = 0; v < V; v++)
      worstLogits = Math.max(worstLogits, Math.abs(l[(T - 1) * V + v]! - c.logits_last[v]))
    hidden.dispose()
    logits.dispose()
  }
  res.forward_hidden_rel_l2_max = worstHidden
  res.forward_logits_abs_max = worstLogits
  if (doc.proofs) {
    let equal = 0,
      total = 0,
      verdicts = 0,
      agree = 0,
      lpWorst = 0
    for (const p of doc.proofs) {
      const T = p.tokens.length
      const ev = await evaluateRollout(model, p.tokens, {
        hiddenRows: Array.from({ length: T }, (_, j) => j),
        temperature: 0.9,
      })
      const sk = computeSketch(ev.hidden, p.randomness, { profile: e1 })
      sk.forEach((s, j) => {
        total++
        if (s === p.commitments[j]) equal++
      })
      for (let j = p.prompt_length; j < T; j++)
        lpWorst = Math.max(
          lpWorst,
          Math.abs(ev.scores.logprobs[j]! - p.token_logprobs[j - p.prompt_length]),
        )
      for (const [c, ref] of [
        [p.commitments, p.verify_self],
        [p.commitments_bf16_gpu, p.verify_bf16_against_fp32],
      ]) {
        const v = verifySketch({
          tokens: p.tokens,
          commitments: c,
          randomness: doc.randomness,
          hidden: ev.hidden,
          profile: e1,
        })
        verdicts++
        if (
          v.valid === ref.all_passed &&
          Math.abs(v.sketchDiffMax - ref.sketch_diff_max) <= 0.1 * ref.sketch_diff_max + 300
        )
          agree++
      }
    }
    Object.assign(res, {
      sketches_equal: `${equal}/${total}`,
      verdicts_agree: `${agree}/${verdicts}`,
      token_logprobs_abs_max: lpWorst,
    })
  }
  model.dispose()
  return res
}

async function speed(dir: string, seqLens: number[], repeats: number) {
  const model = await loadModel(dir)
  const rows: Record<string, unknown>[] = []
  for (const T of seqLens) {
    const toks = Array.from(
      { length: T },
      (_, i) => 1 + ((i * 7919) % (model.config.vocabSize - 1)),
    )
    const ts: number[] = []
    for (let r = 0; r < repeats + 1; r++) {
      const t0 = performance.now()
      const { hidden, logits } = model.forward(toks)
      // Wait for the whole pass, logits included, reading back one scalar.
      const s = tf.sum(logits)
      await s.data()
      s.dispose()
      hidden.dispose()
      logits.dispose()
      if (r > 0) ts.push((performance.now() - t0) / 1000)
    }
    rows.push({ seq_len: T, median_s: median(ts), tokens_per_s: T / median(ts) })
    report.speed_partial = rows
    save()
  }
  model.dispose()
  return rows
}

try {
  report.llama_parity = await parity('llama-s0.json')
  save()
  report.qwen3_parity = await parity('qwen3-s0.json')
  save()
  report.tiny_speed = await speed(join(fixtures, 'qwen3-tiny-s0'), [256, 1024], 5)
  save()
  // Sketch of a [4096, 2560] tensor that lives on the GPU: one read-back, then plain-JS sketches.
  const x = tf.randomNormal([4096, 2560])
  const r = 'ab'.repeat(32)
  const ts: number[] = []
  for (let i = 0; i < 6; i++) {
    const t0 = performance.now()
    await computeSketchAsync(x as tf.Tensor2D, r)
    if (i) ts.push((performance.now() - t0) / 1000)
  }
  x.dispose()
  report.sketch_from_gpu_tensor_4096x2560_s = median(ts)
  save()
  if (bigDir) {
    report['qwen3_0.6b_speed'] = await speed(bigDir, [256, 1024], 3)
    save()
  }
} catch (e) {
  report.error = String((e as Error)?.stack ?? e)
}
report.finished = new Date().toISOString()
save()
void execFileSync
