import { createHash } from 'node:crypto'
import * as tf from '@tensorflow/tfjs-core'
import { generate, type GenerateResult } from '../model/generate.js'
import type { CausalLM } from '../model/loadModel.js'
import type { MinerContext } from './minerContext.js'
import type { GeneratedGroup } from './types.js'

/**
 * Step 3a of a miner's window: generates M = `profile.group.rolloutsPerGroup` rollouts of
 * prompt `promptIdx` with the protocol sampling (temperature, top-p, top-k; at most
 * `maxNewTokensCap − prompt length` new tokens; stops at EOS) and rewards each decoded
 * completion with `environment.computeReward`. The prompt is encoded without special tokens, as
 * the validator does to bind `tokens[:prompt_length]` (§2.4). A rollout identical to an earlier
 * one of its group is resampled with a fresh seed up to `duplicateResamples` times; if it still
 * repeats the group comes back with `duplicate: true`. After each rollout kept and each repeat the
 * picker's `keepGenerating` (when it has one) sees the group so far and may give it up: it comes
 * back unfinished with `givenUp: true`. On the webgpu backend with top-p 1 and
 * top-k 0 (the protocol profiles' sampling) the first attempts of the whole group run as one
 * `gpuGenerateBatch` call on the gpu kernels, with the same seeds and so the same tokens.
 *
 * - Spec: docs/protocol.md §2.4, §4.3 worker step 7 (`hash_duplicate`).
 * @internal
 * @returns The group, or null when the prompt leaves no room for a completion.
 */
export async function generateGroup(
  ctx: MinerContext,
  promptIdx: number,
  windowN: number,
  signal: AbortSignal | undefined,
): Promise<GeneratedGroup | null> {
  const { config, state } = ctx
  const { profile, environment: env } = config
  const m = state.model!
  const tok = state.tokenizer!
  const problem = env.getProblem(promptIdx)
  const promptTokens = tok.encode(problem.prompt, { addSpecialTokens: false })
  const maxNewTokens = profile.sampling.maxNewTokensCap - promptTokens.length
  if (promptTokens.length === 0 || maxNewTokens < 1) return null
  const group = state.groupCounter++
  const tokens: number[][] = []
  const rewards: number[] = []
  const seen = new Set<string>()
  const keepGenerating = config.picker.keepGenerating?.bind(config.picker)
  let seenMass = 0
  let repeats = 0
  const givenUp = (): boolean =>
    keepGenerating !== undefined &&
    !keepGenerating(promptIdx, {
      rewards,
      rolloutsPerGroup: profile.group.rolloutsPerGroup,
      seenMass,
      repeats,
    })
  const seedOf = (i: number, attempt: number) =>
    rolloutSeed(config.seed, windowN, promptIdx, group, i, attempt)
  const opts = {
    maxNewTokens,
    temperature: profile.sampling.temperature,
    topP: profile.sampling.topP,
    topK: profile.sampling.topK,
    eosTokenIds: m.config.eosTokenIds,
    ...(signal ? { signal } : {}),
  }
  // On the webgpu backend, every first attempt of the group in one batched call on the GPU: the
  // same seeds give the same tokens as `generate` (gpuGenerateBatch), so the outcome is unchanged.
  const batched =
    tf.getBackend() === 'webgpu' && opts.topP === 1 && opts.topK === 0
      ? await generateOnGpu(m, promptTokens, profile.group.rolloutsPerGroup, seedOf, opts)
      : null
  for (let i = 0; i < profile.group.rolloutsPerGroup; i++) {
    for (let attempt = 0; ; attempt++) {
      const g =
        attempt === 0 && batched
          ? batched[i]!
          : await generate(m, promptTokens, { ...opts, seed: seedOf(i, attempt) })
      // The validator hashes the full token list; the prompt is shared, so the completion decides.
      const key = g.completion.join(',')
      if (!seen.has(key)) {
        seen.add(key)
        tokens.push(g.tokens)
        rewards.push(env.computeReward(problem, tok.decode(g.completion)))
        seenMass += sequenceProbability(g.logprobs, opts.temperature)
        break
      }
      repeats++
      if (attempt >= config.duplicateResamples)
        return { promptTokens, tokens, rewards, duplicate: true }
      if (givenUp()) return { promptTokens, tokens, rewards, duplicate: false, givenUp: true }
    }
    if (i < profile.group.rolloutsPerGroup - 1 && givenUp())
      return { promptTokens, tokens, rewards, duplicate: false, givenUp: true }
  }
  return { promptTokens, tokens, rewards, duplicate: false }
}

/**
 * A lower bound of the chance that sampling at `temperature` draws this completion again:
 * `exp(Σ logprob / T)` from its temperature-1 token log-probabilities (each token's tempered
 * probability is at least its raw probability raised to 1/T when T ≤ 1), capped at 1.
 * @internal
 */
export function sequenceProbability(logprobs: readonly number[], temperature: number): number {
  let s = 0
  for (const l of logprobs) s += l
  return Math.min(1, Math.exp(s / Math.max(temperature, 1e-6)))
}

/**
 * A safe-integer sampling seed for one rollout, from the miner seed and the rollout's
 * coordinates.
 * @internal
 */
export function rolloutSeed(
  seed: number,
  windowN: number,
  promptIdx: number,
  group: number,
  rollout: number,
  attempt: number,
): number {
  const h = createHash('sha256')
    .update(`reliquary-miner-seed|${seed}|${windowN}|${promptIdx}|${group}|${rollout}|${attempt}`)
    .digest()
  return h.readUIntBE(0, 6)
}

const gpuModels = new WeakMap<CausalLM, Promise<import('../gpu/gpuModel.js').GpuModel>>()

/**
 * The first attempt of each of `n` rollouts as one `gpuGenerateBatch` call on the f32 gpu kernels
 * (which use the model's own weights: nothing is copied, nothing to free).
 */
async function generateOnGpu(
  m: CausalLM,
  prompt: readonly number[],
  n: number,
  seedOf: (i: number, attempt: number) => number,
  o: {
    maxNewTokens: number
    temperature: number
    eosTokenIds: readonly number[]
    signal?: AbortSignal
  },
): Promise<GenerateResult[]> {
  const { prepareGpuModel } = await import('../gpu/prepareGpuModel.js')
  const { gpuGenerateBatch } = await import('../gpu/generateBatch.js')
  let gm = gpuModels.get(m)
  if (!gm) {
    gm = prepareGpuModel(m, { precision: 'f32' })
    gpuModels.set(m, gm)
  }
  return gpuGenerateBatch(
    await gm,
    Array.from({ length: n }, () => prompt),
    { ...o, seeds: Array.from({ length: n }, (_, i) => seedOf(i, 0)) },
  )
}
