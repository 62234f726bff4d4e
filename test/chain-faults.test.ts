// Faults of the chain under a running validator: its window loop (a real `runValidator`, windows
// closed as soon as they open) goes on while the weights setter beside it meets the node paused
// (SIGSTOP) in the middle of set_weights, or killed and restarted; weights are set once it is back.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ApiPromise } from '@polkadot/api'
import { afterAll, beforeAll, expect, it } from 'vitest'
import {
  connectChain,
  createWeightsSetter,
  type ChainClient,
  type ChainClientEvent,
  type WeightsSetter,
  type WeightsTick,
} from '../src/chain/index.js'
import { createHotkey, type Hotkey } from '../src/crypto/sr25519.js'
import { createTargetTokenEnvironment } from '../src/demo/environment.js'
import { createLocalBeaconChain } from '../src/drand/localBeaconChain.js'
import { isReliquaryError } from '../src/errors/base.js'
import { useBackend } from '../src/model/backend.js'
import { loadTokenizer } from '../src/model/loadTokenizer.js'
import { defineProfile, e3 } from '../src/protocol/profiles.js'
import { runValidator, type RunValidatorParameters } from '../src/validator/runValidator.js'
import type { Validator } from '../src/validator/createValidator.js'
import {
  KEY_URIS,
  SUBNET,
  adminApi,
  chainKeys,
  setupSubnet,
  startLocalChain,
  type ChainKeys,
  type LocalChain,
} from './_chain.js'

let chain: LocalChain
let admin: ApiPromise
let keys: ChainKeys
let validatorKey: Hotkey
let dir: string
let base: Omit<RunValidatorParameters, 'archiveDir'>

async function freshChain(port?: number, listening?: () => void): Promise<void> {
  chain = await startLocalChain(port === undefined ? {} : { port })
  listening?.()
  admin = await adminApi(chain.url)
  await setupSubnet(admin, keys)
}

beforeAll(async () => {
  keys = await chainKeys()
  validatorKey = await createHotkey(KEY_URIS.validator)
  await freshChain()
  await useBackend('wasm')
  dir = await mkdtemp(join(tmpdir(), 'reliquary-chain-faults-'))
  const modelDir = 'test/fixtures/reference/qwen3-tiny-s0'
  const tokenizer = await loadTokenizer(modelDir)
  const beacons = createLocalBeaconChain({
    genesisTime: Math.floor(Date.now() / 1000) - 5,
    periodSeconds: 1,
  })
  base = {
    profile: defineProfile(e3, {
      id: 'e3-chain-faults',
      drand: {
        chainHash: beacons.info.hash,
        genesisTime: beacons.info.genesis_time,
        periodSeconds: beacons.info.period,
      },
    }),
    modelDir,
    tokenizer,
    environment: createTargetTokenEnvironment({ tokenizer, vocabSize: 459, size: 16 }),
    hotkey: validatorKey,
    beacons,
  }
}, 150_000)

afterAll(async () => {
  await admin?.disconnect()
  if (chain) {
    chain.process.kill('SIGCONT')
    await chain.kill()
  }
  if (dir) await rm(dir, { recursive: true, force: true })
})

const ema = (): Map<string, number> => new Map([[keys.miners[0]!.address, 0.4]])
const storedWeights = async (): Promise<number[][]> =>
  (await admin.query.subtensorModule!.weights!(SUBNET.netuid, 0)).toJSON() as number[][]

/**
 * Runs the validator with `setter` beside it, every window closed as soon as it opens, until
 * `stop` aborts; `timeline` gets `window N` per finished window, in order with the setter's
 * entries. At most 300 windows.
 */
async function runWindows(
  name: string,
  setter: WeightsSetter,
  stop: AbortController,
  timeline: string[],
): Promise<number[]> {
  let v: Validator | null = null
  const out = await runValidator({
    ...base,
    archiveDir: join(dir, name),
    windows: 300,
    signal: stop.signal,
    weightsSetter: () => setter,
    onStart: (x) => {
      v = x
    },
    onEvent: (e) => {
      if (e.type === 'open') v?.closeWindow()
      if (e.type === 'window') timeline.push(`window ${e.report.windowN}`)
    },
  })
  return out.reports.map((r) => r.windowN)
}

const codeOf = (e: unknown): string => (isReliquaryError(e) ? e.code : String(e))
const consecutive = (ns: number[]): number[] => ns.map((_, i) => ns[0]! + i)

/** A client of the test node with short timeouts (reads and connections 3 s). */
const clientOf = (writeTimeoutMs: number, onEvent?: (e: ChainClientEvent) => void): ChainClient =>
  connectChain({
    url: chain.url,
    readTimeoutMs: 3000,
    writeTimeoutMs,
    connectTimeoutMs: 3000,
    ...(onEvent ? { onEvent } : {}),
  })

/**
 * The validator's weights setter on the test subnet over `client`, polling every 300 ms: `failed`
 * gets each failed tick; the first success goes to `timeline` as `set <uids>` and stops the run.
 */
function setterOf(
  client: ChainClient,
  timeline: string[],
  stop: AbortController,
  failed: (tick: Extract<WeightsTick, { status: 'failed' }>) => void,
): WeightsSetter {
  return createWeightsSetter({
    client,
    hotkey: validatorKey,
    netuid: SUBNET.netuid,
    ema,
    pollIntervalMs: 300,
    onEvent: (e) => {
      if (e.type === 'weights_failed') failed(e.tick)
      else {
        timeline.push(`set ${e.tick.uids.join(',')}`)
        stop.abort()
      }
    },
  })
}

/** No window lost, and the weights on chain are the ones the setter last set. */
async function expectWindowsAndWeights(windows: number[], setter: WeightsSetter): Promise<void> {
  expect(windows).toEqual(consecutive(windows))
  expect((await storedWeights()).map(([u]) => u)).toEqual(setter.lastSet()!.uids)
}

it('SIGSTOP during set_weights: a timeout, a reconnection, weights set at the next chance; no window lost', async () => {
  const events: ChainClientEvent[] = []
  const base = clientOf(8000, (e) => events.push(e))
  let paused = false
  // Pause the node at the moment the extrinsic goes out.
  const client: ChainClient = {
    ...base,
    write: (label, fn, o) => {
      if (!paused) {
        paused = true
        chain.process.kill('SIGSTOP')
      }
      return base.write(label, fn, o)
    },
  }
  const timeline: string[] = []
  const stop = new AbortController()
  const setter = setterOf(client, timeline, stop, (tick) => {
    timeline.push(`failed ${codeOf(tick.error)} retry ${tick.retry}`)
    chain.process.kill('SIGCONT')
  })
  try {
    const windows = await runWindows('sigstop', setter, stop, timeline)
    const failed = timeline.indexOf('failed CHAIN_TIMEOUT retry next_block')
    const set = timeline.findIndex((t) => t.startsWith('set '))
    expect(failed, timeline.join('\n')).toBeGreaterThan(0)
    // Windows finished while the setter's write hung on the paused node, then after it.
    expect(timeline.slice(0, failed).some((t) => t.startsWith('window'))).toBe(true)
    expect(set, timeline.join('\n')).toBeGreaterThan(failed)
    expect(timeline.filter((t) => t.startsWith('failed'))).toHaveLength(1)
    expect(windows.length).toBe(timeline.filter((t) => t.startsWith('window')).length)
    expect(events.some((e) => e.type === 'dropped')).toBe(true)
    expect(events.filter((e) => e.type === 'connected').length).toBeGreaterThanOrEqual(2)
    await expectWindowsAndWeights(windows, setter)
  } finally {
    chain.process.kill('SIGCONT')
    await base.disconnect()
  }
}, 120_000)

it('the node killed and restarted: the validator keeps running windows, failures are logged, weights are set once it is back', async () => {
  const client = clientOf(5000)
  const timeline: string[] = []
  const stop = new AbortController()
  let restarting: Promise<void> | null = null
  const port = chain.port
  const setter = setterOf(client, timeline, stop, (tick) => {
    timeline.push(`failed ${codeOf(tick.error)}`)
    // The node comes back (same port, a fresh chain) while the validator runs on.
    restarting ??= freshChain(port, () => void timeline.push('back'))
  })
  try {
    await client.api()
    await admin.disconnect()
    await chain.kill()
    const windows = await runWindows('killed', setter, stop, timeline)
    await restarting
    const back = timeline.indexOf('back')
    expect(back, timeline.join('\n')).toBeGreaterThan(0)
    expect(timeline.find((t) => t.startsWith('failed'))).toMatch(
      /^failed CHAIN_(UNAVAILABLE|TIMEOUT)$/,
    )
    // Windows finished while the node was down, and weights were set only once it was back.
    expect(timeline.slice(0, back).some((t) => t.startsWith('window'))).toBe(true)
    expect(timeline.findIndex((t) => t.startsWith('set '))).toBeGreaterThan(back)
    await expectWindowsAndWeights(windows, setter)
  } finally {
    await client.disconnect()
  }
}, 150_000)
