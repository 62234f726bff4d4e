// GRPO on the demo's target-token environment raises the reward of the prompts it trains on: the
// claim behind the demo's learning curve, checked without the network around it. The frozen base
// model samples the groups (as miners do between checkpoints), the trainer steps the policy with
// the demo profile's hyper-parameters, and policy and base are sampled on the trained prompts with
// the same seeds, so the two differ only by their weights.
import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { bundledModelDir } from '../src/demo/bundledModel.js'
import {
  createTargetTokenEnvironment,
  isTargetRewardDecided,
  parseTargetRule,
} from '../src/demo/environment.js'
import { createDemoProfile } from '../src/demo/profile.js'
import { createTrainer } from '../src/grpo/createTrainer.js'
import type { GrpoRollout } from '../src/grpo/types.js'
import { useBackend } from '../src/model/backend.js'
import { generate } from '../src/model/generate.js'
import { loadModel, type CausalLM } from '../src/model/loadModel.js'
import { loadTokenizer, type ModelTokenizer } from '../src/model/loadTokenizer.js'
import type { RewardEnvironment } from '../src/reward/environment.js'
import { groupSigma, isInZone } from '../src/reward/groups.js'

const profile = createDemoProfile({ genesisTime: 0, periodSeconds: 2 })
const M = profile.group.rolloutsPerGroup
const B = profile.group.batchSize
const STEPS = 3
const EVAL_SAMPLES = 16

let base: CausalLM
let policy: CausalLM
let tokenizer: ModelTokenizer
let env: RewardEnvironment
let tensorsBefore: number

/** M rollouts of `model` on prompt `idx` with seeds `seed0 + j`, rewarded by the environment. */
async function sample(
  model: CausalLM,
  idx: number,
  seed0: number,
  n: number,
): Promise<GrpoRollout[]> {
  const problem = env.getProblem(idx)
  const ids = tokenizer.encode(problem.prompt)
  const { temperature, topP, topK, maxNewTokensCap } = profile.sampling
  const out: GrpoRollout[] = []
  for (let j = 0; j < n; j++) {
    const g = await generate(model, ids, {
      maxNewTokens: maxNewTokensCap - ids.length,
      temperature,
      topP,
      topK,
      seed: seed0 + j,
    })
    out.push({
      tokens: g.tokens,
      reward: env.computeReward(problem, tokenizer.decode(g.completion)),
      promptLength: ids.length,
      tokenLogprobs: g.logprobs,
    })
  }
  return out
}

const meanReward = (rs: readonly GrpoRollout[]): number =>
  rs.reduce((a, r) => a + r.reward, 0) / rs.length

async function evaluate(model: CausalLM, prompts: readonly number[]): Promise<number> {
  const all: GrpoRollout[] = []
  for (const idx of prompts)
    all.push(...(await sample(model, idx, 9_000_000 + idx * 1000, EVAL_SAMPLES)))
  return meanReward(all)
}

beforeAll(async () => {
  await useBackend('wasm')
  tensorsBefore = tf.memory().numTensors
  const dir = bundledModelDir()
  base = await loadModel(dir, { trainable: false })
  policy = await loadModel(dir)
  tokenizer = await loadTokenizer(dir)
  env = createTargetTokenEnvironment({ tokenizer, vocabSize: base.config.vocabSize })
}, 60_000)

afterAll(() => {
  policy?.dispose()
  base?.dispose()
})

describe('GRPO on the target-token environment (demo profile)', () => {
  test('stopping when the reward is decided gives a prefix of the full generation and the same reward', async () => {
    const { temperature, topP, topK, maxNewTokensCap } = profile.sampling
    let saved = 0
    let total = 0
    for (let idx = 0; idx < 12; idx++) {
      const problem = env.getProblem(idx)
      const rule = parseTargetRule(problem.groundTruth)
      const ids = tokenizer.encode(problem.prompt)
      for (let j = 0; j < 3; j++) {
        const opts = {
          maxNewTokens: maxNewTokensCap - ids.length,
          temperature,
          topP,
          topK,
          seed: idx * 31 + j,
        }
        const full = await generate(base, ids, opts)
        const early = await generate(base, ids, {
          ...opts,
          stopWhen: (c) => isTargetRewardDecided(rule, tokenizer.decode(c)),
        })
        expect(full.completion.slice(0, early.completion.length)).toEqual(early.completion)
        expect(env.computeReward(problem, tokenizer.decode(early.completion))).toBe(
          env.computeReward(problem, tokenizer.decode(full.completion)),
        )
        if (early.finishReason === 'stop') saved += full.completion.length - early.completion.length
        total += full.completion.length
      }
    }
    expect(saved / total).toBeGreaterThan(0.2) // the point of stopping early
  }, 120_000)

  test(`${STEPS} steps raise the mean reward of the trained zone prompts above the base model's`, async () => {
    // The prompts a frontier miner would submit: in the zone under the base model.
    const zone: number[] = []
    for (let i = 0; zone.length < B && i < 64; i++) {
      if (
        isInZone(
          groupSigma((await sample(base, i, 7_000_000 + i * 1000, M)).map((r) => r.reward)),
          { profile },
        )
      )
        zone.push(i)
    }
    expect(zone).toHaveLength(B)

    const trainer = createTrainer({ profile, model: policy, referenceModel: base })
    try {
      for (let step = 1; step <= STEPS; step++) {
        const batch = []
        for (const idx of zone)
          batch.push({
            promptIdx: idx,
            rollouts: await sample(base, idx, step * 100_000 + idx * 100, M),
          })
        const r = await trainer.step(batch)
        expect(Number.isFinite(r.loss)).toBe(true)
        expect(r.kl).toBeLessThan(1) // the demo learning rate stays stable (3e-5 does not)
      }
    } finally {
      trainer.dispose()
    }
    const before = await evaluate(base, zone)
    const after = await evaluate(policy, zone)
    // 64 samples per model with shared seeds; a wrong-signed or vanishing update leaves `after` at or below `before`.
    expect(after - before, `base ${before}, policy ${after}`).toBeGreaterThan(0.05)
  }, 600_000)

  test('tensors are freed', () => {
    policy.dispose()
    base.dispose()
    expect(tf.memory().numTensors).toBe(tensorsBefore)
  })
})
