// The child process of test/validator-crash.test.ts: a
// deterministic multi-window validator run on its state directory, meant to be SIGKILLed and
// restarted. Everything an uninterrupted run depends on is a function of the window number: a
// virtual clock that jumps to a fixed time before each window (so window n always opens on the
// same drand round of a local chain with a fixed key), and two in-process miners whose
// submissions depend only on the window, its randomness and the served checkpoint. The clock
// stands still while the miners submit, then runs on until the seal. Training is real (the
// bundled tiny model); rollout verification is the commit schema only (the crash test is about
// state, not proofs). Publishing goes to a local Hub whose store lives in the state directory.
//
// Environment: CRASH_STATE_DIR, CRASH_WINDOWS (run until this window is committed), CRASH_COMPUTE
// (optional: `worker` trains in the model worker, which then writes the trainer state and the
// checkpoints; needs the build, `npx tsup`), CRASH_PARK
// (optional regex over `<point> <path>` of the atomic-write hook, with CRASH_PARK_SKIP matches
// skipped: at the match, print `PARKED <point> <path>` and wait forever, for the parent to kill). Prints `STARTED <windowN>` once resumed and, at the end, one
// `RESULT <json>` line.
import { join } from 'node:path'
import '../src/tfjs-gradients/index.js'
import { createHotkey, type Hotkey } from '../src/crypto/sr25519.js'
import { createTargetTokenEnvironment } from '../src/demo/environment.js'
import { createLocalBeaconChain } from '../src/drand/localBeaconChain.js'
import { startHubServer } from '../src/hub/localHubServer.js'
import { useBackend } from '../src/model/backend.js'
import { loadTokenizer } from '../src/model/loadTokenizer.js'
import { defineProfile, e3 } from '../src/protocol/profiles.js'
import { createValidator } from '../src/validator/createValidator.js'
import { setWriteHook } from '../src/_utils/atomicWrite.js'
import { schemaOnlyVerifier } from './_admission.js'
import { rewardPair, schemaOnlyBody } from './_schemaOnlyBody.js'

const MODEL_DIR = 'assets/qwen3-tiny-s0'
const GENESIS = 1_700_000_000
/** Virtual seconds between window openings (longer than a window can take). */
const SPAN = 100
const SECRET = '11'.repeat(32)
const COMPLETION = 10

const stateDir = process.env.CRASH_STATE_DIR!
const windows = Number(process.env.CRASH_WINDOWS ?? '6')
const park = process.env.CRASH_PARK ? new RegExp(process.env.CRASH_PARK) : null
let skip = Number(process.env.CRASH_PARK_SKIP ?? '0')

setWriteHook(async (point, path) => {
  const at = `${point} ${path}`
  if (process.env.CRASH_DEBUG) process.stderr.write(`hook ${at}\n`)
  if (!park?.test(at) || skip-- > 0) return
  process.stdout.write(`PARKED ${at}\n`)
  await new Promise(() => undefined)
})

const clock = { t: 0, hold: false }
const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const sleep = async (ms: number): Promise<void> => {
  if (clock.hold) return realSleep(Math.min(ms, 5))
  clock.t += ms / 1000
  await new Promise((r) => setImmediate(r))
}

/** xorshift32 over a string seed. */
function rng(seed: string): () => number {
  let x = 2166136261
  for (const c of seed) x = Math.imul(x ^ c.charCodeAt(0), 16777619) >>> 0
  return () => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x / 2 ** 32
  }
}

await useBackend('wasm')
const tokenizer = await loadTokenizer(MODEL_DIR)
const environment = createTargetTokenEnvironment({ tokenizer, vocabSize: 459, size: 64, seed: 0 })
const chain = createLocalBeaconChain({
  secretKey: SECRET,
  genesisTime: GENESIS,
  periodSeconds: 1,
  now: () => clock.t * 1000,
})
const profile = defineProfile(e3, {
  id: 'e3-crash-test',
  group: { batchSize: 2, rolloutsPerGroup: 2 },
  window: { windowTimeoutSeconds: 30 },
  training: { warmupWindows: 0, learningRate: 1e-5 },
  publishing: { intervalWindows: 1 },
  drand: { chainHash: chain.info.hash, genesisTime: GENESIS, periodSeconds: 1 },
})
const validatorKey = await createHotkey('//reliquary-crash/validator')
const miners = [
  await createHotkey('//reliquary-crash/a'),
  await createHotkey('//reliquary-crash/b'),
]
const hub = await startHubServer({ storeDir: join(stateDir, 'hub') })

/** Two rollouts of `promptIdx` with rewards 1 and 0, from a seeded search over random tokens. */
function groupOf(promptIdx: number, seed: string) {
  const next = rng(seed)
  return rewardPair({
    environment,
    tokenizer,
    promptIdx,
    length: COMPLETION,
    tries: 500,
    token: () => 1 + Math.floor(next() * 458),
  })
}

function bodyOf(
  hotkey: Hotkey,
  o: { windowN: number; promptIdx: number; round: number; randomness: string; checkpoint: string },
): string {
  return schemaOnlyBody({
    ...o,
    hotkey,
    promptLength: tokenizer.encode(environment.getProblem(o.promptIdx).prompt).length,
    rollouts: groupOf(o.promptIdx, `${o.windowN}|${o.promptIdx}|${hotkey.address}`),
    nonce: `n${o.windowN}-${o.promptIdx}`,
  })
}

let decided = 0
const validator = await createValidator({
  profile,
  modelDir: MODEL_DIR,
  environment,
  tokenizer,
  hotkey: validatorKey,
  beacons: chain,
  now: () => clock.t,
  sleep,
  hub: { hubUrl: hub.url, repoId: 'crash/policy', accessToken: hub.token },
  stateDir,
  ...(process.env.CRASH_COMPUTE === 'worker' ? { compute: 'worker' as const } : {}),
  verifyRollout: schemaOnlyVerifier,
  onEvent: (e) => {
    if (process.env.CRASH_DEBUG)
      process.stderr.write(
        `${(performance.now() / 1000).toFixed(2)} ${clock.t} ${JSON.stringify(e).slice(0, 300)}\n`,
      )
    if (e.type === 'submission' && (e.submission.stage === 'worker' || !e.submission.accepted))
      decided++
    if (e.type !== 'open') return
    clock.hold = true
    void mine(e.windowN, e.round, e.randomness).finally(() => {
      clock.hold = false
    })
  },
})

/**
 * The miners of window n: a submits prompt 2n and b prompt 2n + 1, b also submits 2n (the
 * prompt's reward is split), and a replays prompt 2n − 2, which won window n − 1 (the one-shot
 * cooldown must refuse it, restart or not).
 */
async function mine(windowN: number, round: number, randomness: string): Promise<void> {
  const checkpoint = validator.checkpoint()?.revision ?? ''
  const plan: [Hotkey, number][] = [
    [miners[0]!, 2 * windowN],
    [miners[1]!, 2 * windowN + 1],
    [miners[1]!, 2 * windowN],
  ]
  if (windowN > 1) plan.push([miners[0]!, 2 * windowN - 2])
  const start = decided
  for (const [hotkey, promptIdx] of plan) {
    const body = bodyOf(hotkey, { windowN, promptIdx, round, randomness, checkpoint })
    await fetch(`${validator.url}/submit`, { method: 'POST', body })
  }
  while (decided - start < plan.length) await realSleep(5)
}

process.stdout.write(`STARTED ${validator.windowN}\n`)
while (validator.windowN < windows) {
  clock.t = Math.max(clock.t, GENESIS + (validator.windowN + 1) * SPAN + 0.5)
  await validator.runWindow()
}
const result = {
  worker: validator.modelWorker !== null,
  windowN: validator.windowN,
  ema: Object.fromEntries([...validator.ema()].sort()),
  checkpointN: validator.checkpoint()?.checkpoint_n ?? 0,
  commits: hub.commits('crash/policy').map((c) => c.title),
}
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`)
await validator.dispose()
await hub.close()
