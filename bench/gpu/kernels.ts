// GPU kernel check and benchmark for a machine with a GPU (bundled with esbuild, run with a carried
// Node binary: bench/gpu/README.md). Writes one JSON document to argv[2], saved after each part.
//   node kernels.mjs OUT.json FIXTURES_DIR MODEL_DIR... (Qwen3-shaped checkpoints to time)
// Parts: device capabilities; GEMM (TF.js matMul, tiled f32, f16 weights, tensor-core tile shapes)
// with errors against TF.js's f32 product; reference-vector parity on the f32 and f16 paths with
// the sketch-difference distribution; forward timings at 1024 tokens for each precision; and a
// window of 64 rollouts x 1024 tokens through the evaluator (forward, check statistics, hidden
// rows at 32 challenged positions, sketches on the host).
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { computeSketch, e1, e3, sketchDistance, verifySketch } from '../../src/index.js'
import {
  gpuCapabilities,
  gpuEvaluateRollout,
  gpuMatMul,
  prepareGpuModel,
  tensorCoreTiles,
  toGpuF16,
  type GpuModel,
} from '../../src/gpu/index.js'
import { loadModel, useBackend } from '../../src/model/index.js'

const out = process.argv[2] ?? 'kernels.json'
const fixtures = process.argv[3] ?? 'test/fixtures/reference'
const modelDirs = process.argv.slice(4)
const only = (process.env.PARTS ?? 'gemm,parity,forward,window').split(',')
const report: Record<string, unknown> = { started: new Date().toISOString() }
const save = () => writeFileSync(out, JSON.stringify(report, null, 2))
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!
const quant = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!
const gpuBytes = () =>
  (tf.memory() as unknown as { numBytesAllocatedInGPU?: number }).numBytesAllocatedInGPU

type Device = {
  pushErrorScope(f: string): void
  popErrorScope(): Promise<{ message: string } | null>
}
const device = () => (tf.backend() as unknown as { device: Device }).device

/** Runs fn once under a validation error scope; returns the error message, if any. */
async function checked(fn: () => tf.Tensor): Promise<string | null> {
  device().pushErrorScope('validation')
  const t = fn()
  await t.data()
  t.dispose()
  const e = await device().popErrorScope()
  return e ? e.message.slice(0, 400) : null
}

/** Median seconds of one call, from 3 batches of n pipelined calls each ended by one read. */
async function timeIt(fn: () => tf.Tensor, n: number): Promise<number> {
  const ts: number[] = []
  for (let r = 0; r < 4; r++) {
    const t0 = performance.now()
    let last: tf.Tensor | undefined
    for (let i = 0; i < n; i++) {
      last?.dispose()
      last = fn()
    }
    const s = tf.sum(last!)
    await s.data()
    tf.dispose([s, last!])
    if (r) ts.push((performance.now() - t0) / 1000 / n)
  }
  return median(ts)
}

async function relErr(a: tf.Tensor, b: tf.Tensor): Promise<number> {
  const r = tf.tidy(() => tf.div(tf.norm(tf.sub(a, b)), tf.norm(b)))
  const v = (await r.data())[0]!
  r.dispose()
  return v
}

async function gemm() {
  const rows: Record<string, unknown>[] = []
  for (const [M, K, N] of [
    [4096, 4096, 4096],
    [1024, 2560, 9728],
    [1024, 9728, 2560],
    [1024, 2560, 151936],
  ] as const) {
    const a = tf.randomNormal([M, K]) as tf.Tensor2D
    const w = tf.div(tf.randomNormal([K, N]), Math.sqrt(K)) as tf.Tensor2D
    const ref = tf.matMul(a, w)
    const h = await toGpuF16(w)
    const flop = 2 * M * K * N
    const row: Record<string, unknown> = { M, K, N }
    const n = M * N > 1e8 ? 3 : 10
    row.tfjs_tflops = flop / (await timeIt(() => tf.matMul(a, w), n)) / 1e12
    const f32 = gpuMatMul(a, w)
    row.tiled_f32_rel_err = await relErr(f32, ref)
    f32.dispose()
    row.tiled_f32_tflops = flop / (await timeIt(() => gpuMatMul(a, w), n)) / 1e12
    if (gpuCapabilities()?.subgroupMatrix) {
      for (const [tm, tn] of [
        [1, 1],
        [2, 2],
        [2, 4],
        [4, 2],
        [4, 4],
      ] as const) {
        Object.assign(tensorCoreTiles, { m: tm, n: tn })
        const key = `tc_${tm}x${tn}`
        const err = await checked(() => gpuMatMul(a, h))
        if (err) {
          row[`${key}_error`] = err
          continue
        }
        const c = gpuMatMul(a, h)
        row[`${key}_rel_err`] = await relErr(c, ref)
        c.dispose()
        row[`${key}_tflops`] = flop / (await timeIt(() => gpuMatMul(a, h), n)) / 1e12
        report.gemm_partial = [...rows, row]
        save()
      }
      Object.assign(tensorCoreTiles, { m: 2, n: 4 })
    }
    tf.dispose([a, w, ref, h.data])
    rows.push(row)
    report.gemm = rows
    save()
  }
}

async function parity() {
  const doc = JSON.parse(readFileSync(join(fixtures, 'qwen3-s0.json'), 'utf8'))
  const model = await loadModel(join(fixtures, doc.model_dir))
  const res: Record<string, unknown> = {}
  for (const precision of ['f32', 'f16'] as const) {
    const gm = await prepareGpuModel(model, { precision })
    const diffs: number[] = []
    const refDiffs: number[] = []
    let agreeE1 = 0
    let validE3 = 0
    let lpWorst = 0
    for (const p of doc.proofs) {
      const T = p.tokens.length
      const all = Array.from({ length: T }, (_, j) => j)
      const ev = await gpuEvaluateRollout(gm, p.tokens, { hiddenRows: all, temperature: 0.9 })
      const sk = computeSketch(ev.hidden, p.randomness, { profile: e1 })
      sk.forEach((s, j) => {
        const Q = e1.grail.primeQ
        diffs.push(sketchDistance(s, p.commitments[j], Q))
        refDiffs.push(sketchDistance(p.commitments_bf16_gpu[j], p.commitments[j], Q))
      })
      for (let j = p.prompt_length; j < T; j++)
        lpWorst = Math.max(
          lpWorst,
          Math.abs(ev.scores.logprobs[j]! - p.token_logprobs[j - p.prompt_length]),
        )
      const judge = (profile: typeof e1) =>
        verifySketch({
          tokens: p.tokens,
          commitments: p.commitments,
          randomness: doc.randomness,
          hidden: ev.hidden,
          profile,
        }).valid
      if (judge(e1) === p.verify_self.all_passed) agreeE1++
      if (judge(e3)) validE3++
    }
    const dist = (xs: number[]) => ({
      median: median(xs),
      p99: quant(xs, 0.99),
      max: Math.max(...xs),
      n: xs.length,
    })
    res[precision] = {
      gemm: gpuCapabilities()?.subgroupMatrix && precision === 'f16' ? 'tensor-core' : precision,
      proofs: doc.proofs.length,
      honest_verdict_agrees_e1: agreeE1,
      honest_valid_e3: validE3,
      token_logprobs_abs_max: lpWorst,
      sketch_diff_vs_fp32_commitments: dist(diffs),
      reference_bf16_gpu_sketch_diff: dist(refDiffs),
    }
    gm.dispose()
    report.parity = res
    save()
  }
  model.dispose()
}

async function forwardSpeed(dir: string, gm: GpuModel, T: number) {
  const toks = Array.from(
    { length: T },
    (_, i) => 1 + ((i * 7919) % (gm.config.vocabSize - 1)),
  )
  const ts: number[] = []
  for (let r = 0; r < 4; r++) {
    const t0 = performance.now()
    const h = gm.forwardHidden(toks)
    const lg = gm.logits(h)
    const s = tf.sum(lg)
    await s.data()
    tf.dispose([h, lg, s])
    if (r) ts.push((performance.now() - t0) / 1000)
  }
  return {
    model: dir,
    precision: gm.precision,
    seq_len: T,
    median_s: median(ts),
    tokens_per_s: T / median(ts),
    gpu_bytes_allocated: gpuBytes(),
  }
}

async function windowVerify(gm: GpuModel, rollouts: number, T: number) {
  const V = gm.config.vocabSize
  const r = 'ab'.repeat(32)
  const t0 = performance.now()
  for (let i = 0; i < rollouts; i++) {
    const toks = Array.from({ length: T }, (_, j) => 1 + ((j * 7919 + i * 104729) % (V - 1)))
    const rows = Array.from({ length: 32 }, (_, j) => (j * 31 + i) % T)
    const ev = await gpuEvaluateRollout(gm, toks, { hiddenRows: rows, temperature: 0.9 })
    computeSketch(ev.hidden, r, { profile: e1 })
  }
  const s = (performance.now() - t0) / 1000
  return {
    precision: gm.precision,
    rollouts,
    seq_len: T,
    seconds: s,
    per_rollout_s: s / rollouts,
    gpu_bytes_allocated: gpuBytes(),
  }
}

try {
  report.backend = await useBackend('webgpu')
  report.capabilities = gpuCapabilities()
  save()
  if (only.includes('gemm')) await gemm()
  if (only.includes('parity')) await parity()
  const speed: unknown[] = []
  const windows: unknown[] = []
  for (const dir of modelDirs) {
    const t0 = performance.now()
    const model = await loadModel(dir)
    report[`load_s_${dir}`] = (performance.now() - t0) / 1000
    for (const precision of ['f16', 'f32'] as const) {
      const gm = await prepareGpuModel(model, { precision })
      if (only.includes('forward')) {
        speed.push(await forwardSpeed(dir, gm, 1024))
        report.forward = speed
        save()
      }
      if (only.includes('window')) {
        windows.push(await windowVerify(gm, precision === 'f16' ? 64 : 8, 1024))
        report.window = windows
        save()
      }
      gm.dispose()
    }
    model.dispose()
  }
} catch (e) {
  report.error = String((e as Error)?.stack ?? e)
}
report.finished = new Date().toISOString()
save()
process.exit(0)
