// The hash dedup a restarted validator rebuilds (src/validator/resumeValidator.ts, docs/protocol.md
// §5.1, §5.5) must equal the live one for custom profiles too. At the seal the dedup takes the
// rollout hashes of every submission on a winning prompt, runners-up included, but the archive
// holds the batch's rollouts only. With a cooldown shorter than the dedup retention the winning
// prompt comes back while those hashes still count: a runner-up's rollouts resubmitted there are a
// `hash_duplicate` for the validator that kept running, and must stay one after a restart.
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { createHotkey, type Hotkey } from '../src/crypto/sr25519.js'
import { createTargetTokenEnvironment } from '../src/demo/environment.js'
import { createLocalBeaconChain } from '../src/drand/localBeaconChain.js'
import { drandRoundAt } from '../src/drand/round.js'
import { useBackend } from '../src/model/backend.js'
import { loadTokenizer, type ModelTokenizer } from '../src/model/loadTokenizer.js'
import { defineProfile, e3 } from '../src/protocol/profiles.js'
import type { RewardEnvironment } from '../src/reward/environment.js'
import {
  createValidator,
  type Validator,
  type ValidatorEvent,
} from '../src/validator/createValidator.js'
import { decodeWindowArchive } from '../src/window/archive/decodeWindowArchive.js'
import { schemaOnlyVerifier } from './_admission.js'
import { type PlainRollout, rewardPair, schemaOnlyBody } from './_schemaOnlyBody.js'

const modelDir = 'test/fixtures/reference/qwen3-tiny-s0'
const PROMPT = 3
let dir: string
let tokenizer: ModelTokenizer
let environment: RewardEnvironment
let keys: Hotkey[]
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reliquary-resume-dedup-'))
  await useBackend('wasm')
  tokenizer = await loadTokenizer(modelDir)
  environment = createTargetTokenEnvironment({ tokenizer, vocabSize: 459, size: 16 })
  keys = await Promise.all(['//dedup/a', '//dedup/b', '//dedup/c'].map((u) => createHotkey(u)))
})
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

const chain = createLocalBeaconChain({
  genesisTime: Math.floor(Date.now() / 1000) - 5,
  periodSeconds: 1,
})
/** A short cooldown (one window) under e3's dedup retention (10,000 windows). */
const profile = defineProfile(e3, {
  id: 'e3-short-cooldown',
  group: { batchSize: 2, rolloutsPerGroup: 2 },
  window: { cooldownWindows: 1, drandBackwardTolerance: 5 },
  drand: {
    chainHash: chain.info.hash,
    genesisTime: chain.info.genesis_time,
    periodSeconds: chain.info.period,
  },
})

/** Two rollouts of PROMPT with rewards 1 and 0 (random completions, `salt` makes them differ). */
function group(salt: number): PlainRollout[] {
  let x = 2_654_435_761 * (salt + 1)
  return rewardPair({
    environment,
    tokenizer,
    promptIdx: PROMPT,
    length: 12,
    tries: 2000,
    token: () => {
      x = (x * 1_103_515_245 + 12_345) % 2_147_483_648
      return 1 + (x % 458)
    },
  })
}

function body(
  hotkey: Hotkey,
  rollouts: PlainRollout[],
  s: { window_n: number; randomness: string },
): string {
  return schemaOnlyBody({
    hotkey,
    windowN: s.window_n,
    promptIdx: PROMPT,
    promptLength: tokenizer.encode(environment.getProblem(PROMPT).prompt).length,
    rollouts,
    round: drandRoundAt(Date.now() / 1000, profile.drand),
    randomness: s.randomness,
    checkpoint: '',
    nonce: `${hotkey.address.slice(0, 8)}-${s.window_n}`,
  })
}

/** Opens the validator's next window, sends `sends` in order, waits for their verdicts, seals. */
async function window(
  v: Validator,
  events: ValidatorEvent[],
  sends: [Hotkey, PlainRollout[]][],
): Promise<string[]> {
  const running = v.runWindow()
  while (v.phase !== 'open') await new Promise((r) => setTimeout(r, 20))
  const s = v.state()!
  const verdicts = () =>
    events.flatMap((e) =>
      e.type === 'submission' && e.submission.stage === 'worker' ? [e.submission.reason] : [],
    )
  const before = verdicts().length
  for (const [i, [hotkey, rollouts]] of sends.entries()) {
    const r = await fetch(`${v.url}/submit`, { method: 'POST', body: body(hotkey, rollouts, s) })
    expect(r.status).toBe(200)
    while (verdicts().length < before + i + 1) await new Promise((r) => setTimeout(r, 20))
  }
  v.closeWindow()
  await running
  return verdicts().slice(before)
}

test('a restart keeps the hashes of a window’s runners-up when the cooldown is shorter than the dedup retention', async () => {
  const tensors = tf.memory().numTensors
  const [a, b, c] = keys as [Hotkey, Hotkey, Hotkey]
  const [ga, gb] = [group(1), group(2)]
  const stateDir = join(dir, 'live')
  const base = {
    profile,
    modelDir,
    environment,
    tokenizer,
    beacons: chain,
    verifyRollout: schemaOnlyVerifier,
  }
  const hotkey = await createHotkey('//dedup/validator')
  const events: ValidatorEvent[] = []
  const live = await createValidator({ ...base, hotkey, stateDir, onEvent: (e) => events.push(e) })
  let runnerUp: PlainRollout[]
  let restartedVerdict: string[]
  try {
    // Window 1: a and b both send PROMPT; one is batched, the other is the runner-up.
    expect(
      await window(live, events, [
        [a, ga],
        [b, gb],
      ]),
    ).toEqual(['accepted', 'accepted'])
    const archive = await decodeWindowArchive(await readFile(live.reports().at(-1)!.archivePath))
    expect(archive.batch).toHaveLength(1)
    expect(archive.runners_up).toHaveLength(1)
    const winner = archive.batch[0]!.hotkey
    runnerUp = winner === a.address ? gb : ga
    // A copy of the state directory as it stands after window 1, for the restart below.
    await cp(stateDir, join(dir, 'restarted'), { recursive: true })
    // Window 2 on the validator that kept running: PROMPT is out of cooldown, the runner-up's
    // rollouts (sent by c) are a duplicate.
    expect(await window(live, events, [[c, runnerUp]])).toEqual(['hash_duplicate'])
  } finally {
    await live.dispose()
  }
  const events2: ValidatorEvent[] = []
  const restarted = await createValidator({
    ...base,
    hotkey,
    stateDir: join(dir, 'restarted'),
    onEvent: (e) => events2.push(e),
  })
  try {
    expect(restarted.windowN).toBe(1)
    restartedVerdict = await window(restarted, events2, [[c, runnerUp]])
  } finally {
    await restarted.dispose()
  }
  expect(restartedVerdict).toEqual(['hash_duplicate'])
  expect(tf.memory().numTensors).toBe(tensors)
}, 120_000)
