// Measures how often the demo's target-token environment puts a group of M rollouts of the bundled
// random tiny model in the zone.
//
//   npx tsx bench/demo-environment.ts [--prompts 48] [--rollouts 8] [--tokens 40]
//     [--temperature 0.9] [--seed 0] [--env-seed 0] [--model DIR] [--dump out.json] [--json]
//
// Loads the model on the wasm backend, samples `rollouts` completions for each of the first
// `prompts` problems (sampling seeds derived from --seed), rewards each decoded completion with
// env.computeReward, and prints the per-prompt success counts and the fraction of groups in the
// zone (σ ≥ sigmaMin: k ∈ [2, 6] of 8) and in the bootstrap zone (k ∈ [1, 7]).
import { writeFileSync } from 'node:fs'
import { createTargetTokenEnvironment, parseTargetRule } from '../src/demo/environment.js'
import { generate, loadModel, loadTokenizer, useBackend } from '../src/model/index.js'
import { groupSigma, isInZone } from '../src/reward/groups.js'
import { benchArgs } from './_args.js'

const values = benchArgs({
  prompts: { type: 'integer', default: 48 },
  rollouts: { type: 'integer', default: 8 },
  tokens: { type: 'integer', default: 40 },
  temperature: { type: 'number', default: 0.9 },
  seed: { type: 'integer', default: 0 },
  'env-seed': { type: 'integer', default: 0 },
  model: { type: 'string', default: 'test/fixtures/reference/qwen3-tiny-s0' },
  dump: { type: 'string' },
  json: { type: 'boolean' },
})
const { prompts, rollouts, tokens: maxNewTokens, temperature, seed } = values

await useBackend('wasm')
const model = await loadModel(values.model)
const tokenizer = await loadTokenizer(values.model)
const env = createTargetTokenEnvironment({
  tokenizer,
  vocabSize: model.config.vocabSize,
  seed: values['env-seed'],
  size: Math.max(prompts, 1),
})

const started = Date.now()
const rows: {
  index: number
  prompt: string
  targets: string
  window: number
  k: number
  sigma: number
  zone: boolean
  bootstrapZone: boolean
  completions: string[]
}[] = []
for (let i = 0; i < prompts; i++) {
  const problem = env.getProblem(i)
  const ids = tokenizer.encode(problem.prompt)
  const rewards: number[] = []
  const completions: string[] = []
  for (let j = 0; j < rollouts; j++) {
    const out = await generate(model, ids, {
      maxNewTokens,
      temperature,
      seed: seed * 1_000_003 + i * 1_000 + j,
    })
    const text = tokenizer.decode(out.completion)
    completions.push(text)
    rewards.push(env.computeReward(problem, text))
  }
  const sigma = groupSigma(rewards)
  const k = rewards.reduce((a, b) => a + b, 0)
  const rule = parseTargetRule(problem.groundTruth)
  rows.push({
    index: i,
    prompt: problem.prompt,
    ...rule,
    k,
    sigma,
    zone: isInZone(sigma),
    bootstrapZone: isInZone(sigma, { bootstrap: true }),
    completions,
  })
  if (!values.json)
    process.stderr.write(
      `${String(i).padStart(3)} k=${k}/${rollouts} ${rows.at(-1)!.zone ? 'ZONE' : '    '} ${problem.prompt}\n`,
    )
}
const frac = (f: (r: (typeof rows)[number]) => boolean): number =>
  rows.filter(f).length / Math.max(rows.length, 1)
const summary = {
  model: values.model,
  prompts,
  rollouts,
  maxNewTokens,
  temperature,
  zoneFraction: frac((r) => r.zone),
  bootstrapZoneFraction: frac((r) => r.bootstrapZone),
  allZeroFraction: frac((r) => r.k === 0),
  allOneFraction: frac((r) => r.k === rollouts),
  meanReward: rows.reduce((a, r) => a + r.k, 0) / Math.max(rows.length * rollouts, 1),
  histogram: Array.from({ length: rollouts + 1 }, (_, k) => rows.filter((r) => r.k === k).length),
  seconds: (Date.now() - started) / 1000,
}
if (values.dump) writeFileSync(values.dump, JSON.stringify({ summary, rows }, null, 1))
if (values.json) console.log(JSON.stringify(summary))
else {
  console.log(
    `zone fraction (σ ≥ 0.43, k ∈ [2,6]):      ${(summary.zoneFraction * 100).toFixed(1)}%`,
  )
  console.log(
    `bootstrap zone (σ ≥ 0.33, k ∈ [1,7]):     ${(summary.bootstrapZoneFraction * 100).toFixed(1)}%`,
  )
  console.log(
    `always 0: ${(summary.allZeroFraction * 100).toFixed(1)}%   always 1: ${(summary.allOneFraction * 100).toFixed(1)}%   mean reward ${summary.meanReward.toFixed(3)}`,
  )
  console.log(
    `k histogram 0..${rollouts}: ${summary.histogram.join(' ')}   (${summary.seconds.toFixed(1)} s)`,
  )
}
