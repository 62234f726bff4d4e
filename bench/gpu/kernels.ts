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
  attentionOptions,
  gemmOptions,
  gpuEvaluateRollouts,
  gpuCapabilities,
  gpuEvaluateRollout,
  gpuMatMul,
  gpuMatMulTransposed,
  prepareGpuModel,
  probeStagedGemm,
  qkNormRopeOptions,
  stagedGemmProbe,
  tensorCoreAttentionProbe,
  tensorCoreTiles,
  toGpuF16,
  type GpuModel,
} from '../../src/gpu/index.js'
import { loadModel, useBackend } from '../../src/model/index.js'
import { attentionCheck, tcAttentionError } from './attentionCheck.js'
import { profileOps } from './profile.js'
import { splitCheck } from './splitCheck.js'
import { applyVariant, VARIANTS } from './variants.js'
import { verifyWindow } from './window.js'

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
  if (!e) return null
  const lines = e.message.split('\n')
  const at = lines.findIndex((l) => / error: /.test(l))
  return (at >= 0 ? lines.slice(at, at + 4) : lines.slice(0, 6)).join('\n').slice(0, 1500)
}

/**
 * One scalar from a result, to end a timed batch: row sums (one workgroup per row) then their sum.
 * TF.js's whole-tensor `sum` reduces in a single workgroup, which alone takes tens of ms on a
 * `[1024, 151936]` logits tensor (runs 1-6 timed with it: `FULL_SUM=1` restores it).
 */
const scalar = (t: tf.Tensor) =>
  tf.tidy(() =>
    process.env.FULL_SUM === '1' || t.rank < 2
      ? tf.sum(t)
      : tf.sum(tf.sum(tf.reshape(t, [t.shape[0]!, -1]), 1)),
  )

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
    const s = scalar(last!)
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

const STAGED = [
  { bm: 128, bn: 128, sgm: 2, sgn: 4 },
  { bm: 128, bn: 128, sgm: 2, sgn: 2 },
  { bm: 128, bn: 128, sgm: 4, sgn: 2 },
  { bm: 64, bn: 128, sgm: 2, sgn: 2 },
  { bm: 128, bn: 64, sgm: 2, sgn: 2 },
  { bm: 64, bn: 64, sgm: 2, sgn: 2 },
] as const

async function gemm() {
  const rows: Record<string, unknown>[] = []
  const shapes = (
    process.env.GEMM_SHAPES ??
    '4096x4096x4096,1024x2560x6144,1024x2560x19456,1024x4096x2560,1024x9728x2560,1024x2560x151936'
  )
    .split(',')
    .map((x) => x.split('x').map(Number) as [number, number, number])
  const defaults = {
    staged: gemmOptions.staged,
    bigF32: gemmOptions.bigF32,
    splitK: gemmOptions.splitK,
  }
  for (const [M, K, N] of shapes) {
    const a = tf.randomNormal([M, K]) as tf.Tensor2D
    const w = tf.div(tf.randomNormal([K, N]), Math.sqrt(K)) as tf.Tensor2D
    const ref = tf.matMul(a, w)
    const h = await toGpuF16(w)
    const flop = 2 * M * K * N
    const row: Record<string, unknown> = { M, K, N }
    const n = M * N > 1e8 ? 3 : 10
    const variant = async (key: string, fn: () => tf.Tensor) => {
      const err = await checked(fn)
      if (err) {
        row[`${key}_error`] = err
        return
      }
      const c = fn()
      row[`${key}_rel_err`] = await relErr(c, ref)
      c.dispose()
      row[`${key}_tflops`] = flop / (await timeIt(fn, n)) / 1e12
      report.gemm_partial = [...rows, row]
      save()
    }
    row.tfjs_tflops = flop / (await timeIt(() => tf.matMul(a, w), n)) / 1e12
    gemmOptions.bigF32 = false
    await variant('tiled_f32', () => gpuMatMul(a, w))
    gemmOptions.bigF32 = true
    await variant('big_f32', () => gpuMatMul(a, w))
    if (N >= 32768) {
      const wt = tf.transpose(w) as tf.Tensor2D
      await variant('big_f32_transposed_b', () => gpuMatMulTransposed(a, wt))
      wt.dispose()
    }
    if (gpuCapabilities()?.subgroupMatrix) {
      gemmOptions.splitK = 1
      gemmOptions.staged = null
      Object.assign(tensorCoreTiles, { m: 2, n: 4 })
      await variant('tc_2x4', () => gpuMatMul(a, h))
      for (const c of STAGED) {
        gemmOptions.staged = c
        await probeStagedGemm()
        if (stagedGemmProbe.error) {
          row[`staged_${c.bm}x${c.bn}_${c.sgm}x${c.sgn}_error`] = stagedGemmProbe.error
          stagedGemmProbe.error = null
          continue
        }
        await variant(`staged_${c.bm}x${c.bn}_${c.sgm}x${c.sgn}`, () => gpuMatMul(a, h))
      }
      // Split-K of the default block (used only below gemmOptions.splitKBlocks blocks).
      gemmOptions.staged = defaults.staged
      for (const parts of [2, 4]) {
        gemmOptions.splitK = parts
        await variant(`staged_default_splitk${parts}`, () => gpuMatMul(a, h))
      }
    }
    Object.assign(gemmOptions, defaults)
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
  const variants = [
    ['f32', 'f32', false],
    ['f16', 'f16', true],
    ['f16_scalar_attention', 'f16', false],
  ] as const
  for (const [name, precision, tcAttention] of variants) {
    attentionOptions.tensorCores = tcAttention && tensorCoreAttentionProbe.error === null
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
    res[name] = {
      gemm: gpuCapabilities()?.subgroupMatrix && precision === 'f16' ? 'tensor-core' : precision,
      attention:
        gpuCapabilities()?.subgroupMatrix && precision === 'f16' && attentionOptions.tensorCores
          ? 'tensor-core'
          : 'f32',
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
  attentionOptions.tensorCores = tensorCoreAttentionProbe.error === null
  model.dispose()
}

/** Median seconds of a forward with full logits, ended by one scalar read (`full`: tf.sum). */
async function forwardTime(gm: GpuModel, toks: number[], full: boolean) {
  const ts: number[] = []
  for (let r = 0; r < 4; r++) {
    const t0 = performance.now()
    const h = gm.forwardHidden(toks)
    const lg = gm.logits(h)
    const s = full ? tf.sum(lg) : scalar(lg)
    await s.data()
    tf.dispose([h, lg, s])
    if (r) ts.push((performance.now() - t0) / 1000)
  }
  return median(ts)
}

async function forwardSpeed(dir: string, gm: GpuModel, T: number, variant: string) {
  const toks = Array.from({ length: T }, (_, i) => 1 + ((i * 7919) % (gm.config.vocabSize - 1)))
  const med = await forwardTime(gm, toks, false)
  const fullSum =
    variant === 'landed' || gm.precision === 'f32' ? await forwardTime(gm, toks, true) : undefined
  const h = gm.forwardHidden(toks)
  const hidden = (await h.data()) as Float32Array
  h.dispose()
  hiddenOf.set(`${dir}-${gm.precision}`, hidden)
  const other = hiddenOf.get(`${dir}-f16`)
  let f16VsF32: number | undefined
  if (gm.precision === 'f32' && other) {
    let num = 0
    let den = 0
    hidden.forEach((x, i) => {
      num += (x - other[i]!) ** 2
      den += x * x
    })
    f16VsF32 = Math.sqrt(num / den)
  }
  return {
    model: dir,
    precision: gm.precision,
    variant,
    staged: gemmOptions.staged,
    split_k: gemmOptions.splitK,
    attention_heads_per_thread: attentionOptions.headsPerThread,
    fused_qk_norm_rope: qkNormRopeOptions.fused,
    tensor_core_attention: gm.precision === 'f16' && attentionOptions.tensorCores,
    seq_len: T,
    median_s: med,
    tokens_per_s: T / med,
    median_s_whole_tensor_sum_readback: fullSum,
    final_hidden_rel_l2_f16_vs_f32: f16VsF32,
    gpu_bytes_allocated: gpuBytes(),
  }
}

const hiddenOf = new Map<string, Float32Array>()

/** 64 rollouts x T tokens through gpuEvaluateRollouts (packed forwards, 32 hidden rows each). */
async function batchedWindow(dir: string, gm: GpuModel, T: number) {
  const V = gm.config.vocabSize
  const reqs = Array.from({ length: 64 }, (_, m) => ({
    tokens: Array.from({ length: T }, (_, j) => 1 + ((j * 7919 + (m % 8) * 104729) % (V - 1))),
    hiddenRows: Array.from({ length: 32 }, (_, i) => Math.floor((i * (T - 1)) / 31)),
  }))
  const ts: number[] = []
  for (let r = 0; r < 2; r++) {
    const t0 = performance.now()
    await gpuEvaluateRollouts(gm, reqs, { temperature: 0.9 })
    ts.push((performance.now() - t0) / 1000)
  }
  return {
    model: dir,
    precision: gm.precision,
    rollouts: 64,
    seq_len: T,
    seconds: ts,
    gpu_bytes_allocated: gpuBytes(),
  }
}

async function perModel(
  dir: string,
  model: Awaited<ReturnType<typeof loadModel>>,
  out: Record<string, unknown[]>,
) {
  const T = Number(process.env.FORWARD_SEQ ?? 1024)
  const variants = (process.env.FORWARD_VARIANTS ?? 'landed,landed_2x2,tc_attention_2x2').split(',')
  // The library's defaults (2x2 subgroups, f32 attention) unless BEST_VARIANT names another; a
  // tensor-core attention variant only where that kernel agrees with the f32 one.
  const tcErr = attentionOptions.tensorCores ? await tcAttentionError(relErr) : null
  report.tc_attention_rel_err_256 = tcErr
  const asked = process.env.BEST_VARIANT ?? 'defaults'
  const best = !VARIANTS[asked]!.tc || (tcErr !== null && tcErr < 1e-2) ? asked : 'defaults'
  report.best_variant = best
  const push = (k: string, v: unknown) => {
    out[k]!.push(v)
    report[k] = out[k]
    save()
  }
  for (const precision of ['f16', 'f32'] as const) {
    const gm = await prepareGpuModel(model, { precision })
    const set = (name: string) => applyVariant(VARIANTS[name]!)
    const f32Variants = (process.env.F32_VARIANTS ?? best).split(',')
    if (only.includes('forward'))
      for (const name of precision === 'f16' ? variants : f32Variants) {
        set(name)
        push('forward', await forwardSpeed(dir, gm, T, name))
      }
    set(best)
    if (only.includes('profile') && dir === modelDirs[modelDirs.length - 1])
      push('profile', await profileOps(gm, T, timeIt))
    if (only.includes('batch')) push('batched_window', await batchedWindow(dir, gm, T))
    if (only.includes('window'))
      for (const concurrency of (process.env.WINDOW_CONCURRENCY ?? '4').split(',').map(Number)) {
        const w = {
          groups: 8,
          perGroup: 8,
          seqLen: Number(process.env.WINDOW_SEQ ?? 1024),
          concurrency,
        }
        push('window', { model: dir, variant: best, ...(await verifyWindow(gm, w)) })
      }
    gm.dispose()
  }
}

try {
  report.backend = await useBackend('webgpu')
  report.capabilities = gpuCapabilities()
  // Compile the opt-in tensor-core attention kernel too, so the variants below can use it.
  attentionOptions.tensorCores = true
  await probeStagedGemm()
  report.staged_gemm_probe_error = stagedGemmProbe.error
  report.tensor_core_attention_probe_error = tensorCoreAttentionProbe.error
  save()
  if (only.includes('split')) {
    report.split = await splitCheck(modelDirs[0]!, process.env.SPLIT_LOGITS ?? 'split-logits.json')
    save()
    modelDirs.length = 0
  }
  if (only.includes('gemm')) await gemm()
  if (only.includes('attention')) {
    report.attention = await attentionCheck(timeIt, relErr, checked).catch((e) =>
      String(e?.stack ?? e),
    )
    save()
  }
  if (only.includes('parity')) await parity()
  const out: Record<string, unknown[]> = {
    forward: [],
    profile: [],
    window: [],
    batched_window: [],
  }
  for (const dir of modelDirs) {
    const t0 = performance.now()
    const model = await loadModel(dir)
    report[`load_s_${dir}`] = (performance.now() - t0) / 1000
    await perModel(dir, model, out)
    model.dispose()
  }
} catch (e) {
  report.error = String((e as Error)?.stack ?? e)
}
report.finished = new Date().toISOString()
save()
process.exit(0)
