// Batched generation and a GRPO step on the TF.js webgpu backend, for a machine with a GPU
// (bundled with esbuild, run with a carried Node binary: bench/gpu/README.md). One JSON document
// to argv[2], saved after each row:
//   PARTS=gen,grpo node generate.mjs OUT.json MODEL_DIR...
// gen: for each checkpoint and precision (GEN_PRECISIONS, default f16), 64 prompts of 32-63
//   tokens x 512 new tokens with gpuGenerateBatch at temperature 0.9 (top-p 1, top-k 0: the
//   protocol profiles' sampling), EOS off so every sequence runs to the cap; new tokens/s over the
//   whole call (prefill included), after a warm-up call of 8 new tokens.
// grpo: one GRPO step (createTrainer, grpoStep under TF.js's gradient tape on the webgpu backend,
//   f32 weights) on the first checkpoint, 8 groups x 8 rollouts x 256 tokens (32 prompt tokens),
//   the model's own completion log-probs as pi_old; median of GRPO_REPEATS after one warm-up. The
//   decoder's products (forward, dy·wᵀ, xᵀ·dy) run on the src/gpu GEMMs (tapeMatMul) unless the
//   row's gemm is `tfjs` (TF.js's own product kernels, the path before tapeMatMul).
// host: main-thread ms and WebGPU/TF.js objects created per decode step on a tiny 28-layer
//   checkpoint written to a temporary folder (no model argument needed; hostProfile.ts), for the
//   software adapter as well as a GPU: HOST_PRECISIONS (f32,f16), HOST_SEQS (64), HOST_NEW1/2 (2/10),
//   HOST_REPEATS (3), HOST_LAYERS (28).
// Knobs: GEN_SEQS (64), GEN_NEW (512), GEN_SYNC (8), GRPO_REPEATS (2), and comma-separated lists,
// one row per combination: GRPO_PER_PASS (rollouts per forward/backward pass; default 8),
// GRPO_GEMM (`gpu`: src/gpu GEMMs and fused RMSNorm/RoPE/SwiGLU; `gemm-only`: the GEMMs with
// TF.js's elementwise ops; `tfjs`; default `gpu,tfjs`), GRPO_CHECKPOINT (layer checkpointing `0`/`1`;
// default `0,1`; with `tfjs` only `0` runs); GRPO_PROFILE=1 adds one step under tf.profile per row
// (GPU time per kernel, program and shape); GRPO_ROWS=per:gemm:ckpt,... names the rows instead
// (e.g. `8:gpu:1,64:gpu:1:p`, a
// fourth field `p` profiles that row). Each row also has the peak tf.memory().numBytes of its
// timed steps (bench/_peakMeter.ts).
import { writeFileSync } from 'node:fs'
import * as tf from '@tensorflow/tfjs-core'
import { createTrainer, type GrpoBatch } from '../../src/grpo/index.js'
import {
  gpuCapabilities,
  gpuEvaluateRollouts,
  gpuGenerateBatch,
  gpuGenerateBatchSwitches,
  loadGpuModel,
  prepareGpuModel,
  type GpuPrecision,
  tapeFusedOptions,
  tapeMatMulOptions,
} from '../../src/gpu/index.js'
import { type CausalLM, loadModel, useBackend } from '../../src/model/index.js'
import { peakMeter } from '../_peakMeter.js'
import { hostProfile } from './hostProfile.js'
import { gradientsRegistered } from '../../src/tfjs-gradients/index.js'

const out = process.argv[2] ?? 'generate.json'
const dirs = process.argv.slice(3)
const parts = (process.env.PARTS ?? 'gen,grpo').split(',')
const env = (k: string, d: number) => Number(process.env[k] ?? d)
const report: Record<string, unknown> & { gen: unknown[]; grpo: unknown[]; host: unknown[] } = {
  started: new Date().toISOString(),
  gen: [],
  grpo: [],
  host: [],
}
const save = () => writeFileSync(out, JSON.stringify(report, null, 2))
const gpuBytes = () =>
  (tf.memory() as unknown as { numBytesAllocatedInGPU?: number }).numBytesAllocatedInGPU ?? null

/** The prompts of both sides (torch_generate.py builds the same ones). */
export function benchPrompts(n: number, vocab: number): number[][] {
  return Array.from({ length: n }, (_, i) => {
    const len = 32 + ((i * 7) % 32)
    return Array.from({ length: len }, (_, j) => 1 + ((j * 7919 + i * 104729) % (vocab - 1)))
  })
}

async function gen(dir: string, precision: GpuPrecision): Promise<void> {
  const t0 = performance.now()
  const gm = await loadGpuModel(dir, { precision })
  const loadS = (performance.now() - t0) / 1000
  try {
    const B = env('GEN_SEQS', 64)
    const N = env('GEN_NEW', 512)
    const prompts = benchPrompts(B, gm.config.vocabSize)
    const o = {
      temperature: 0.9,
      eosTokenIds: [] as number[],
      seeds: prompts.map((_, i) => 1000 + i),
      syncEvery: env('GEN_SYNC', 8),
    }
    // GEN_REPLAY: the decode-step replay modes timed on this one load (1 = on, the default; 0 =
    // off), one list per model directory separated by ';' (the last list serves the rest).
    const lists = (process.env.GEN_REPLAY ?? '1').split(';')
    const modes = lists[Math.min(dirs.indexOf(dir), lists.length - 1)]!.split(',')
    if (modes.some((m) => m !== '0' && m !== '1'))
      throw new Error(`GEN_REPLAY: each mode is 0 or 1, got ${process.env.GEN_REPLAY}`)
    let first: string | undefined
    for (const replay of modes.map((x) => x === '1')) {
      gpuGenerateBatchSwitches.replaySteps = replay
      const w0 = performance.now()
      await gpuGenerateBatch(gm, prompts, { ...o, maxNewTokens: 8 })
      const warmS = (performance.now() - w0) / 1000
      const s0 = performance.now()
      const res = await gpuGenerateBatch(gm, prompts, { ...o, maxNewTokens: N })
      const s = (performance.now() - s0) / 1000
      const newTokens = res.reduce((a, r) => a + r.completion.length, 0)
      const key = res.map((r) => r.completion.join(',')).join(';')
      first ??= key
      report.gen.push({
        model: dir,
        precision,
        replay_steps: replay,
        sequences: B,
        new_tokens_each: N,
        prompt_tokens: prompts.reduce((a, p) => a + p.length, 0),
        new_tokens: newTokens,
        seconds: s,
        new_tokens_per_s: newTokens / s,
        // The call's time over its decode steps: the prefill is inside it.
        ms_per_step_with_prefill: (s * 1000) / N,
        warmup_8_tokens_s: warmS,
        load_s: loadS,
        distinct_completions: new Set(res.map((r) => r.completion.join(','))).size,
        same_tokens_as_first_mode: key === first,
        gpu_bytes_allocated: gpuBytes(),
      })
      save()
    }
    gpuGenerateBatchSwitches.replaySteps = true
  } finally {
    gm.dispose()
  }
}

let meter: ReturnType<typeof peakMeter> | undefined

/** One row of the grpo part; `profile` adds a step under tf.profile (also GRPO_PROFILE=1). */
type GrpoRow = { per: number; gemm: string; ckpt: boolean; profile?: boolean }

/** One row of the grpo part: warm-up, then GRPO_REPEATS timed steps. */
async function grpoRow(
  model: CausalLM,
  batch: GrpoBatch,
  dir: string,
  o: GrpoRow,
  start: ReadonlyMap<string, { readonly shape: number[]; readonly data: Float32Array }>,
): Promise<void> {
  meter ??= peakMeter()
  // Every row from the same weights: the warm-up step's loss and gradient norm compare across rows.
  for (const [n, w] of model.weights) {
    const { shape, data } = start.get(n)!
    tf.tidy(() => w.assign(tf.tensor(data, shape, 'float32')))
  }
  tapeMatMulOptions.gpu = o.gemm !== 'tfjs'
  tapeFusedOptions.gpu = o.gemm === 'gpu'
  const trainer = createTrainer({ model, rolloutsPerPass: o.per, checkpointLayers: o.ckpt })
  const row: Record<string, unknown> = {
    model: dir,
    backend: 'webgpu',
    rollouts_per_pass: o.per,
    gemm: o.gemm,
    checkpoint_layers: o.ckpt,
  }
  report.grpo.push(row)
  try {
    const ts: number[] = []
    const n = env('GRPO_REPEATS', 2)
    let peak = 0
    let peakGpu = 0
    for (let i = 0; i <= n; i++) {
      meter.reset()
      const t0 = performance.now()
      const r = await trainer.step(batch)
      ts.push((performance.now() - t0) / 1000)
      if (i > 0) {
        const m = meter.read()
        peak = Math.max(peak, m.peak_num_bytes)
        peakGpu = Math.max(peakGpu, m.peak_gpu_in_use_bytes ?? 0)
      }
      if (i === 0) Object.assign(row, { first_step_loss: r.loss, first_step_grad_norm: r.gradNorm })
      Object.assign(row, {
        groups: 8,
        rollouts: 8,
        seq_len: 256,
        step_s: ts,
        median_s:
          ts.length > 1 ? [...ts.slice(1)].sort((a, b) => a - b)[(ts.length - 1) >> 1] : null,
        stepped: r.stepped,
        loss: r.loss,
        grad_norm: r.gradNorm,
        peak_num_bytes_timed_steps: i > 0 ? peak : null,
        // GPU buffers in use at the peak (numBytesInGPU; no clone counted twice, no free pool).
        peak_gpu_in_use_bytes_timed_steps: i > 0 ? peakGpu : null,
        gpu_bytes_allocated: gpuBytes(),
        at: new Date().toISOString(),
      })
      save()
    }
    if (o.profile || env('GRPO_PROFILE', 0))
      row.profile = await profileStep(() => trainer.step(batch))
    save()
  } finally {
    trainer.dispose()
    tapeMatMulOptions.gpu = true
    tapeFusedOptions.gpu = true
  }
}

/**
 * One step under `tf.profile`: every TF.js program and src/gpu kernel in a timed pass of its own
 * (GPU timestamps), summed per kernel, per program and per kernel with its output shape. Each
 * dispatch is its own submission here, so the wall time is not the step's; the GPU sums are.
 */
async function profileStep(f: () => Promise<unknown>): Promise<Record<string, unknown>> {
  const t0 = performance.now()
  const info = await tf.profile(f as () => Promise<tf.Tensor>)
  const wallS = (performance.now() - t0) / 1000
  const add = (m: Map<string, [number, number]>, k: string, ms: number) => {
    const v = m.get(k) ?? [0, 0]
    m.set(k, [v[0] + 1, v[1] + ms])
  }
  const byKernel = new Map<string, [number, number]>()
  const byProgram = new Map<string, [number, number]>()
  const byShape = new Map<string, [number, number]>()
  let total = 0
  for (const k of info.kernels) {
    const ms = Number(k.kernelTimeMs) || 0
    total += ms
    add(byKernel, k.name, ms)
    add(byShape, `${k.name} ${JSON.stringify(k.inputShapes)}`, ms)
    for (const part of String(k.extraInfo ?? '').split(', ')) {
      const i = part.lastIndexOf(': ')
      if (i > 0) add(byProgram, part.slice(0, i), Number(part.slice(i + 2)) || 0)
    }
  }
  const top = (m: Map<string, [number, number]>, n: number) =>
    [...m]
      .sort((a, b) => b[1][1] - a[1][1])
      .slice(0, n)
      .map(([k, [count, ms]]) => ({ k, count, ms: Math.round(ms * 10) / 10 }))
  return {
    wall_s: wallS,
    kernels: info.kernels.length,
    gpu_ms_total: total,
    by_kernel: top(byKernel, 40),
    by_program: top(byProgram, 40),
    by_kernel_shape: top(byShape, 40),
  }
}

async function grpo(dir: string): Promise<void> {
  const model = await loadModel(dir)
  const G = 8
  const M = 8
  const T = 256
  const P = 32
  const V = model.config.vocabSize
  const tokens = Array.from({ length: G * M }, (_, r) =>
    Array.from({ length: T }, (_, j) => 1 + ((j * 7919 + (r + 11) * 104729) % (V - 1))),
  )
  // pi_old: the model's own completion log-probs (an honest miner's), from the gpu kernels.
  const gm = await prepareGpuModel(model, { precision: 'f32' })
  const ev = await gpuEvaluateRollouts(
    gm,
    tokens.map((t) => ({ tokens: t, hiddenRows: [] })),
    { temperature: 1 },
  )
  gm.dispose()
  const batch = Array.from({ length: G }, (_, g) => ({
    rollouts: Array.from({ length: M }, (_, m) => ({
      tokens: tokens[g * M + m]!,
      reward: (g + m) % 2,
      promptLength: P,
      tokenLogprobs: Array.from(ev[g * M + m]!.scores.logprobs.subarray(P)),
    })),
  }))
  try {
    const list = (k: string, d: string) => (process.env[k] ?? d).split(',')
    // The starting weights on the host, so that no GPU copy of them counts in the rows' peaks.
    // (`data()`, not `dataSync()`: the webgpu backend's synchronous read needs a canvas in Node.)
    const start = new Map(
      await Promise.all(
        [...model.weights].map(
          async ([n, v]) =>
            [n, { shape: v.shape, data: (await v.data()) as Float32Array }] as const,
        ),
      ),
    )
    const rows: GrpoRow[] = []
    if (process.env.GRPO_ROWS)
      for (const r of list('GRPO_ROWS', '')) {
        const [per, gemm, ckpt, prof] = r.split(':')
        rows.push({ per: Number(per), gemm: gemm!, ckpt: ckpt === '1', profile: prof === 'p' })
      }
    else
      for (const per of list('GRPO_PER_PASS', '8').map(Number))
        for (const gemm of list('GRPO_GEMM', 'gpu,tfjs'))
          for (const ckpt of list('GRPO_CHECKPOINT', '0,1').map((x) => x === '1'))
            if (gemm !== 'tfjs' || !ckpt) rows.push({ per, gemm, ckpt })
    for (const r of rows) await grpoRow(model, batch, dir, r, start)
  } finally {
    model.dispose()
  }
}

await useBackend('webgpu')
report.device = gpuCapabilities()
report.gradients = gradientsRegistered()
save()
if (parts.includes('host'))
  await hostProfile(env)
    .then((rows) => report.host.push(...rows))
    .catch((e) => report.host.push({ error: String(e?.stack ?? e) }))
    .finally(save)
if (parts.includes('gen'))
  for (const d of dirs)
    for (const p of (process.env.GEN_PRECISIONS ?? 'f16').split(',') as GpuPrecision[])
      await gen(d, p).catch((e) => {
        report.gen.push({ model: d, precision: p, error: String(e?.stack ?? e) })
        save()
      })
if (parts.includes('grpo') && dirs[0])
  await grpo(dirs[0]).catch((e) => {
    report.grpo.push({ model: dirs[0], error: String(e?.stack ?? e) })
    save()
  })
report.finished = new Date().toISOString()
save()
process.exit(0)
