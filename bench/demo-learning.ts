// Measures whether GRPO steps raise the reward of the demo's target-token prompts on the bundled
// random tiny model, outside the network: the frozen checkpoint samples the groups (as miners do
// between publishes), the trainer steps the policy, and the policy is evaluated on the trained
// prompts with fixed sampling seeds after every step.
//
//   npx tsx bench/demo-learning.ts [--lr 1e-5] [--steps 10] [--prompts 8] [--eval 16] [--scan 48]
import { createTargetTokenEnvironment } from '../src/demo/environment.js'
import { createTrainer } from '../src/grpo/createTrainer.js'
import { generate, loadModel, loadTokenizer, useBackend } from '../src/model/index.js'
import { defineProfile, e3 } from '../src/protocol/profiles.js'
import { groupSigma, isInZone } from '../src/reward/groups.js'
import { benchArgs } from './_args.js'

const values = benchArgs({
  lr: { type: 'number', default: 1e-5 },
  steps: { type: 'integer', default: 10 },
  prompts: { type: 'integer', default: 8 },
  eval: { type: 'integer', default: 16 },
  scan: { type: 'integer', default: 48 },
  batch: { type: 'integer', default: 4 },
  kl: { type: 'number' },
  model: { type: 'string', default: 'assets/qwen3-tiny-s0' },
})
const { lr } = values
const cap = 74
await useBackend('wasm')
const profile = defineProfile(e3, {
  id: 'learn',
  group: { batchSize: values.batch },
  sampling: { maxNewTokensCap: cap },
  training: {
    learningRate: lr,
    warmupWindows: 0,
    ...(values.kl !== undefined ? { klBeta: values.kl } : {}),
  },
})
const checkpoint = await loadModel(values.model, { trainable: false })
const policy = await loadModel(values.model)
const tokenizer = await loadTokenizer(values.model)
const env = createTargetTokenEnvironment({
  tokenizer,
  vocabSize: policy.config.vocabSize,
  seed: 0,
  size: 256,
})
const { temperature, topP, topK } = profile.sampling
const M = profile.group.rolloutsPerGroup

async function group(model: typeof policy, idx: number, seedBase: number, n: number) {
  const problem = env.getProblem(idx)
  const ids = tokenizer.encode(problem.prompt)
  const out = []
  for (let j = 0; j < n; j++) {
    const g = await generate(model, ids, {
      maxNewTokens: cap - ids.length,
      temperature,
      topP,
      topK,
      seed: seedBase + j,
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

const zone: number[] = []
for (let i = 0; i < values.scan && zone.length < values.prompts; i++) {
  const g = await group(checkpoint, i, 7_000_000 + i * 1000, M)
  const k = g.reduce((a, r) => a + r.reward, 0)
  process.stdout.write(`${k} `)
  if (isInZone(groupSigma(g.map((r) => r.reward)))) zone.push(i)
}
console.log(`lr ${lr} · zone prompts ${zone.join(',')}`)
const evalN = values.eval
async function evaluate(model: typeof policy): Promise<number> {
  let s = 0
  for (const idx of zone)
    for (const r of await group(model, idx, 9_000_000 + idx * 1000, evalN)) s += r.reward
  return s / (zone.length * evalN)
}
console.log(`step 0 reward ${(await evaluate(policy)).toFixed(3)}`)
const trainer = createTrainer({ profile, model: policy, referenceModel: checkpoint })
const B = profile.group.batchSize
for (let step = 1; step <= values.steps; step++) {
  const batch = []
  for (let b = 0; b < B; b++) {
    const idx = zone[((step - 1) * B + b) % zone.length]!
    batch.push({
      rollouts: await group(checkpoint, idx, step * 100_000 + idx * 100, M),
      promptIdx: idx,
    })
  }
  const t = performance.now()
  const r = await trainer.step(batch)
  const dt = (performance.now() - t) / 1000
  console.log(
    `step ${step} loss ${r.loss.toFixed(5)} kl ${r.kl.toExponential(2)} (${dt.toFixed(1)} s) batch reward ${(batch.flatMap((g) => g.rollouts.map((x) => x.reward)).reduce((a, c) => a + c, 0) / (B * M)).toFixed(3)} → eval ${(await evaluate(policy)).toFixed(3)}`,
  )
}
