import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { basename } from 'node:path'
import { createHotkey } from '../crypto/sr25519.js'
import { defineProfile, e3 } from '../protocol/profiles.js'
import { verifyRollout } from '../rollout/verifyRollout.js'
import type { CausalLM } from '../model/loadModel.js'
import type { BenchLine } from './sketch.js'
import { machineInfo } from './sketch.js'
import { median } from './stats.js'

/** Options of the model benchmarks. */
export type ModelBenchOptions = {
  modelDir: string
  /** `forward`: full forward pass; `generate`: KV-cache decoding; `verify`: verifyRollout of one rollout; `grpo`: one GRPO step. */
  what: 'forward' | 'generate' | 'verify' | 'grpo'
  /** grpo: groups × rollouts of `seqLen` tokens (32 prompt tokens). */
  groups?: number | undefined
  rollouts?: number | undefined
  /** grpo: the torch GRPO script (bench/torch_grpo.py) to run beside it. */
  grpoBaseline?: string | undefined
  /** Sequence length (forward, verify) or new tokens (generate). */
  seqLen: number
  repeats: number
  /** torch baseline script; run for `forward` when it exists. */
  baseline?: string | undefined
  python?: string | undefined
}

function rssMiB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024)
}

async function timeAsync(
  fn: () => Promise<unknown>,
  repeats: number,
  warmup = 1,
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn()
  const out: number[] = []
  for (let i = 0; i < repeats; i++) {
    const t = process.hrtime.bigint()
    await fn()
    out.push(Number(process.hrtime.bigint() - t) / 1e9)
  }
  return out
}

/** Deterministic token ids in [1, vocab). */
function tokensFor(n: number, vocab: number, salt = 1): number[] {
  let x = salt >>> 0
  return Array.from({ length: n }, () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0
    return 1 + (x % (vocab - 1))
  })
}

/** What every model benchmark needs: the options, the loaded model and how to name lines. */
type BenchContext = {
  readonly o: ModelBenchOptions
  readonly model: CausalLM
  /** The model directory's name. */
  readonly name: string
  readonly backend: string
}

/**
 * Times the decoder on the current TensorFlow.js backend: a full forward pass, KV-cache
 * generation, `verifyRollout` of a proved rollout, or one GRPO step; reports the median and this
 * process's peak RSS. Run one configuration per process so the peak belongs to it.
 */
export async function runModelBench(
  o: ModelBenchOptions,
): Promise<{ machine: Record<string, unknown>; results: BenchLine[] }> {
  const tf = await import('@tensorflow/tfjs-core')
  const { loadModel } = await import('../model/index.js')
  const model = await loadModel(o.modelDir)
  const name = basename(o.modelDir.replace(/\/+$/, ''))
  const backend = tf.getBackend()
  const ctx: BenchContext = { o, model, name, backend }
  const results: BenchLine[] = []
  try {
    if (o.what === 'forward') results.push(await benchForward(ctx))
    else if (o.what === 'generate') results.push(await benchGenerate(ctx))
    else if (o.what === 'grpo') {
      results.push(await benchGrpo(ctx))
      if (o.grpoBaseline && existsSync(o.grpoBaseline)) {
        const args = [
          o.grpoBaseline,
          o.modelDir,
          ...[o.groups ?? 8, o.rollouts ?? 8, o.seqLen, o.repeats].map(String),
        ]
        if (o.baseline) args.push('--baseline', o.baseline)
        results.push(...runTorch(o, args, 'torch_grpo_step', 'rollouts'))
      }
    } else results.push(await benchVerify(ctx))
  } finally {
    model.dispose()
  }
  if (o.what === 'forward' && o.baseline && existsSync(o.baseline)) {
    const args = [o.baseline, 'forward', o.modelDir, String(o.seqLen), String(o.repeats)]
    results.push(...runTorch(o, args, 'torch_forward', 'tokens'))
  }
  return { machine: { ...machineInfo(), backend }, results }
}

/** Runs a torch baseline script; its JSON lines, or one line carrying the error. */
function runTorch(o: ModelBenchOptions, args: string[], what: string, unit: string): BenchLine[] {
  const r = spawnSync(o.python ?? '/usr/bin/python3', args, {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  })
  if (r.status !== 0) {
    const error = (r.stderr || '').split('\n').slice(-3).join(' ')
    return [{ what, median_s: Number.NaN, per_s: Number.NaN, unit, error }]
  }
  return r.stdout
    .split('\n')
    .filter((line) => line.trim().startsWith('{'))
    .map((line) => JSON.parse(line) as BenchLine)
}

async function benchForward({ o, model, name, backend }: BenchContext): Promise<BenchLine> {
  const toks = tokensFor(o.seqLen, model.config.vocabSize)
  const ts = await timeAsync(async () => {
    const { hidden, logits } = model.forward(toks)
    await logits.data()
    hidden.dispose()
    logits.dispose()
  }, o.repeats)
  const m = median(ts)
  return {
    what: `reliquary_forward_${backend}`,
    model: name,
    seq_len: o.seqLen,
    median_s: m,
    per_s: o.seqLen / m,
    unit: 'tokens',
    repeats: o.repeats,
    peak_rss_mib: rssMiB(),
  }
}

async function benchGenerate({ o, model, name, backend }: BenchContext): Promise<BenchLine> {
  const { generate } = await import('../model/index.js')
  const prompt = tokensFor(16, model.config.vocabSize)
  const options = { maxNewTokens: o.seqLen, temperature: 0.9, seed: 1, eosTokenIds: [] }
  const ts = await timeAsync(() => generate(model, prompt, options), o.repeats)
  const m = median(ts)
  return {
    what: `reliquary_generate_${backend}`,
    model: name,
    new_tokens: o.seqLen,
    median_s: m,
    per_s: o.seqLen / m,
    unit: 'tokens',
    repeats: o.repeats,
    peak_rss_mib: rssMiB(),
  }
}

type BenchRollout = {
  tokens: number[]
  reward: number
  promptLength: number
  tokenLogprobs: number[]
}

async function benchGrpo({ o, model, name, backend }: BenchContext): Promise<BenchLine> {
  const { createTrainer } = await import('../grpo/index.js')
  const { evaluateRollout } = await import('../rollout/evaluateRollout.js')
  const G = o.groups ?? 8
  const M = o.rollouts ?? 8
  const P = 32
  let salt = 11
  const batch: { rollouts: BenchRollout[] }[] = []
  for (let gi = 0; gi < G; gi++) {
    const rollouts: BenchRollout[] = []
    for (let m = 0; m < M; m++) {
      const tokens = tokensFor(o.seqLen, model.config.vocabSize, salt++)
      // π_old: the model's own completion log-probs (what an honest miner sends).
      const ev = await evaluateRollout(model, tokens, { hiddenRows: [], temperature: 1 })
      rollouts.push({
        tokens,
        reward: (gi + m) % 2,
        promptLength: P,
        tokenLogprobs: Array.from(ev.scores.logprobs.subarray(P)),
      })
    }
    batch.push({ rollouts })
  }
  const trainer = createTrainer({ model })
  try {
    const ts = await timeAsync(() => trainer.step(batch), o.repeats)
    const m = median(ts)
    return {
      what: `reliquary_grpo_step_${backend}`,
      model: name,
      groups: G,
      rollouts: M,
      seq_len: o.seqLen,
      median_s: m,
      per_s: (G * M) / m,
      unit: 'rollouts',
      repeats: o.repeats,
      peak_rss_mib: rssMiB(),
    }
  } finally {
    trainer.dispose()
  }
}

async function benchVerify({ o, model, name, backend }: BenchContext): Promise<BenchLine> {
  const { generate, proveWithModel, createRolloutEvaluator } = await import('../model/index.js')
  const profile = defineProfile(e3, { id: 'bench', sampling: { maxNewTokensCap: o.seqLen } })
  const hotkey = await createHotkey('//Alice')
  const randomness = 'ab'.repeat(32)
  const P = 32
  const g = await generate(model, tokensFor(P, model.config.vocabSize), {
    maxNewTokens: o.seqLen - P,
    temperature: 0.9,
    seed: 3,
    eosTokenIds: [],
  })
  const commit = await proveWithModel({
    model,
    tokens: g.tokens,
    promptLength: P,
    randomness,
    hotkey,
    profile,
  })
  const evaluator = createRolloutEvaluator(model)
  let reason: string | null = 'unset'
  const ts = await timeAsync(async () => {
    reason = (
      await verifyRollout({
        commit,
        minerHotkey: hotkey.address,
        randomness,
        promptTokens: g.tokens.slice(0, P),
        model: evaluator,
        profile,
      })
    ).reason
  }, o.repeats)
  const m = median(ts)
  return {
    what: `reliquary_verifyRollout_${backend}`,
    model: name,
    seq_len: o.seqLen,
    median_s: m,
    per_s: 1 / m,
    unit: 'rollouts',
    verdict: reason ?? 'accepted',
    repeats: o.repeats,
    peak_rss_mib: rssMiB(),
  }
}
