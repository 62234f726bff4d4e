// Faults of the chain under a running weights setter: the node paused (SIGSTOP) in the middle of
// set_weights, the node killed and restarted, and the window loop never waiting on either.
import type { ApiPromise } from '@polkadot/api'
import { afterAll, beforeAll, expect, it } from 'vitest'
import {
  connectChain,
  createWeightsSetter,
  type ChainClient,
  type ChainClientEvent,
  type WeightsTick,
} from '../src/chain/index.js'
import { createHotkey, type Hotkey } from '../src/crypto/sr25519.js'
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
let validator: Hotkey

async function freshChain(port?: number): Promise<void> {
  chain = await startLocalChain(port === undefined ? {} : { port })
  admin = await adminApi(chain.url)
  await setupSubnet(admin, keys)
}

beforeAll(async () => {
  keys = await chainKeys()
  validator = await createHotkey(KEY_URIS.validator)
  await freshChain()
}, 150_000)

afterAll(async () => {
  await admin?.disconnect()
  if (chain) {
    chain.process.kill('SIGCONT')
    await chain.kill()
  }
})

const ema = (): Map<string, number> => new Map([[keys.miners[0]!.address, 0.4]])
const storedWeights = async (): Promise<unknown> =>
  (await admin.query.subtensorModule!.weights!(SUBNET.netuid, 0)).toJSON()

/** Ticks until `set` (at most `max` looks); returns every tick. */
async function tickUntilSet(tick: () => Promise<WeightsTick>, max: number): Promise<WeightsTick[]> {
  const ticks: WeightsTick[] = []
  for (let i = 0; i < max; i++) {
    const t = await tick()
    ticks.push(t)
    if (t.status === 'set') break
    await new Promise((r) => setTimeout(r, 300))
  }
  return ticks
}

it('SIGSTOP during set_weights: a timeout, a reconnection, weights set at the next chance; the window loop never waits', async () => {
  const events: ChainClientEvent[] = []
  const base = connectChain({
    url: chain.url,
    readTimeoutMs: 3000,
    writeTimeoutMs: 4000,
    connectTimeoutMs: 3000,
    onEvent: (e) => events.push(e),
  })
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
  const setter = createWeightsSetter({ client, hotkey: validator, netuid: SUBNET.netuid, ema })
  try {
    // The window loop goes on while the setter's look is stalled on the paused node.
    const stalled = setter.tick()
    let settled = false
    void stalled.finally(() => {
      settled = true
    })
    let windows = 0
    for (; windows < 5; windows++) await new Promise((r) => setTimeout(r, 100))
    expect(settled).toBe(false)
    const first = await stalled
    expect(first).toMatchObject({ status: 'failed', retry: 'next_block' })
    if (first.status !== 'failed') throw new Error('unreachable')
    expect(first.error).toMatchObject({ code: 'CHAIN_TIMEOUT' })
    expect(events.some((e) => e.type === 'dropped')).toBe(true)

    chain.process.kill('SIGCONT')
    const ticks = await tickUntilSet(() => setter.tick(), 6)
    const set = ticks.at(-1)!
    expect(set.status).toBe('set')
    expect(events.filter((e) => e.type === 'connected').length).toBeGreaterThanOrEqual(2)
    if (set.status !== 'set') throw new Error('unreachable')
    expect(((await storedWeights()) as number[][]).map(([u]) => u)).toEqual(set.uids)
  } finally {
    chain.process.kill('SIGCONT')
    await setter.stop()
    await base.disconnect()
  }
}, 90_000)

it('the node killed and restarted: failures are logged, nothing throws, weights are set once it is back', async () => {
  const client = connectChain({
    url: chain.url,
    readTimeoutMs: 3000,
    writeTimeoutMs: 5000,
    connectTimeoutMs: 3000,
  })
  const failures: unknown[] = []
  const setter = createWeightsSetter({
    client,
    hotkey: validator,
    netuid: SUBNET.netuid,
    ema,
    onEvent: (e) => {
      if (e.type === 'weights_failed') failures.push(e.tick.error)
    },
  })
  try {
    await client.api()
    const port = chain.port
    await admin.disconnect()
    await chain.kill()
    const down = await setter.tick()
    expect(down).toMatchObject({ status: 'failed', retry: 'next_block' })
    expect(failures[0]).toMatchObject({
      code: expect.stringMatching(/^CHAIN_(UNAVAILABLE|TIMEOUT)$/),
    })

    await freshChain(port)
    const ticks = await tickUntilSet(() => setter.tick(), 6)
    expect(ticks.at(-1)!.status).toBe('set')
    const stored = (await storedWeights()) as number[][]
    expect(stored.length).toBeGreaterThan(0)
  } finally {
    await setter.stop()
    await client.disconnect()
  }
}, 150_000)
