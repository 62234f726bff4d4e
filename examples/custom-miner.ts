// A miner built from the SDK's parts instead of `createMiner`: read /state, sample M rollouts
// per prompt with the model, reward them, keep only groups in the zone (σ ≥ σ_min), prove every
// rollout (GRAIL sketches over the last-layer hidden states, bound to the window randomness),
// sign the E3 envelope with the current drand round, POST /submit and read the verdict.
//
//   npx tsx examples/custom-miner.ts --validator URL --drand-genesis T --drand-period S
//
// Without --validator it starts a local validator (as examples/minimal-validator.ts does) for one
// window, so it runs offline. The model here is the bundled tiny one; a live miner loads the
// checkpoint /state announces (see `downloadCheckpoint` in 'reliquary/hub').
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import {
  createHotkey,
  drandRoundAt,
  groupSigma,
  isBootstrapWindow,
  isInZone,
  parseState,
  parseSubmitResponse,
  parseVerdicts,
} from 'reliquary'
import { bundledModelDir, createDemoProfile, createTargetTokenEnvironment } from 'reliquary/demo'
import { createLocalBeaconChain } from 'reliquary/drand'
import { buildSubmitRequest } from 'reliquary/miner'
import { generate, loadModel, loadTokenizer, proveWithModel, useBackend } from 'reliquary/model'
import { createValidator, type Validator } from 'reliquary/validator'

const { values } = parseArgs({
  options: {
    validator: { type: 'string' },
    'drand-genesis': { type: 'string' },
    'drand-period': { type: 'string' },
    prompts: { type: 'string', default: '6' },
  },
})
await useBackend('wasm')
const modelDir = bundledModelDir()
const model = await loadModel(modelDir, { trainable: false })
const tokenizer = await loadTokenizer(modelDir)
const environment = createTargetTokenEnvironment({ tokenizer }) // must be the validator's environment
const hotkey = await createHotkey('//my-miner') // your miner hotkey's secret URI

// ---- the validator to mine against: given, or a local one for this run ------------------------
let local: Validator | null = null
let url = values.validator
let drand = {
  genesisTime: Number(values['drand-genesis']),
  periodSeconds: Number(values['drand-period']),
}
if (!url) {
  const chain = createLocalBeaconChain({
    genesisTime: Math.floor(Date.now() / 1000) - 4,
    periodSeconds: 2,
  })
  drand = { genesisTime: chain.info.genesis_time, periodSeconds: chain.info.period }
  local = await createValidator({
    profile: createDemoProfile({ ...drand, chainHash: chain.info.hash }),
    modelDir,
    environment,
    tokenizer,
    hotkey: await createHotkey('//local-validator'),
    beacons: chain,
    archiveDir: await mkdtemp(join(tmpdir(), 'validator-')),
  })
  url = local.url
}
const profile = createDemoProfile(drand)
// The local validator's window runs alongside; its failure is reported at the end, not lost.
const windowDone = local?.runWindow().catch((e: unknown) => e as Error)

const get = async (path: string): Promise<string> => (await fetch(`${url}${path}`)).text()
/** /state once the window is open (the validator answers 503 between windows). */
async function openState() {
  for (;;) {
    const res = await fetch(`${url}/state`)
    if (res.status === 200) {
      const s = parseState(await res.text())
      if (s.state === 'open') return s
    }
    await new Promise((r) => setTimeout(r, 500))
  }
}
const state = await openState()
console.log(`window ${state.window_n} open, randomness ${state.randomness.slice(0, 16)}…`)

// ---- mine: a few prompts, skipping cooldown ones ----------------------------------------------
const M = profile.group.rolloutsPerGroup
const { temperature, topP, topK, maxNewTokensCap } = profile.sampling
const submitted: string[] = []
for (let promptIdx = 0, tried = 0; tried < Number(values.prompts); promptIdx++) {
  if (state.cooldown_prompts.includes(promptIdx)) continue
  tried++
  const problem = environment.getProblem(promptIdx)
  const prompt = tokenizer.encode(problem.prompt, { addSpecialTokens: false })
  // The validator rejects a group holding two identical rollouts (hash_duplicate): resample those.
  const samples: { tokens: number[]; reward: number }[] = []
  const seen = new Set<string>()
  for (let seed = promptIdx * 1000; samples.length < M && seed < promptIdx * 1000 + 4 * M; seed++) {
    const g = await generate(model, prompt, {
      maxNewTokens: maxNewTokensCap - prompt.length,
      temperature,
      topP,
      topK,
      seed,
      eosTokenIds: model.config.eosTokenIds,
    })
    if (seen.has(g.completion.join(','))) continue
    seen.add(g.completion.join(','))
    samples.push({
      tokens: g.tokens,
      reward: environment.computeReward(problem, tokenizer.decode(g.completion)),
    })
  }
  if (samples.length < M) continue
  const sigma = groupSigma(samples.map((s) => s.reward))
  if (!isInZone(sigma, { profile, bootstrap: isBootstrapWindow(state.window_n, { profile }) })) {
    console.log(`prompt ${promptIdx}: σ ${sigma.toFixed(3)}, outside the zone, not submitted`)
    continue
  }
  const rollouts = []
  for (const s of samples) {
    const commit = await proveWithModel({
      model,
      tokens: s.tokens,
      promptLength: prompt.length,
      randomness: state.randomness,
      hotkey,
      profile,
    })
    rollouts.push({ tokens: s.tokens, reward: s.reward, commit })
  }
  const body = buildSubmitRequest({
    hotkey,
    windowStart: state.window_n,
    promptIdx,
    rollouts,
    randomness: state.randomness,
    checkpointHash: state.checkpoint_n === 0 ? '' : (state.checkpoint_revision ?? ''),
    drandRound: drandRoundAt(Date.now() / 1000, drand),
  })
  const res = await fetch(`${url}/submit`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  const answer =
    res.status === 200
      ? parseSubmitResponse(await res.text())
      : { accepted: false, reason: `HTTP ${res.status}` }
  console.log(`prompt ${promptIdx}: σ ${sigma.toFixed(3)} → ${answer.reason}`)
  if (answer.accepted) submitted.push(body.merkle_root)
}

// ---- verdicts: the worker's final word on each submitted group --------------------------------
for (let tries = 0; tries < 60 && submitted.length > 0; tries++) {
  const { verdicts } = parseVerdicts(await get(`/verdicts/${hotkey.address}`))
  const mine = verdicts.filter(
    (v) => v.window_n === state.window_n && submitted.includes(v.merkle_root),
  )
  if (mine.length === submitted.length) {
    for (const v of mine) console.log(`verdict ${v.merkle_root.slice(0, 12)}…: ${v.reason}`)
    break
  }
  await new Promise((r) => setTimeout(r, 500))
}
if (local) {
  local.closeWindow()
  const report = await windowDone!
  if (report instanceof Error) throw report
  console.log(
    `local validator: window ${report.windowN} ${report.sealReason}, ${report.validSubmissions} valid submission(s)`,
  )
  await local.dispose()
}
model.dispose()
