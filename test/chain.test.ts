// The chain entry point against a real subtensor runtime (chopsticks, offline; see test/_chain.ts).
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ApiPromise } from '@polkadot/api'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  blocksUntilNextEpoch,
  connectChain,
  createChainRegistry,
  createWeightsSetter,
  discoverValidator,
  loadWalletHotkey,
  readMetagraph,
  serveAxon,
  setWeights,
  type ChainClient,
} from '../src/chain/index.js'
import { createHotkey, type Hotkey } from '../src/crypto/sr25519.js'
import { emaToWeights } from '../src/window/scoring/emaToWeights.js'
import {
  KEY_URIS,
  SUBNET,
  adminApi,
  chainKeys,
  headBlock,
  newBlocks,
  setupSubnet,
  startLocalChain,
  sudo,
  type ChainKeys,
  type LocalChain,
} from './_chain.js'
import { expectRejectCode } from './_errors.js'
import { chainCommand, discoverValidatorOnChain, openValidatorChain } from '../src/cli/chain.js'

const { netuid, tempo } = SUBNET
let chain: LocalChain
let admin: ApiPromise
let keys: ChainKeys
let client: ChainClient
let validator: Hotkey
let miner1: Hotkey

beforeAll(async () => {
  chain = await startLocalChain()
  admin = await adminApi(chain.url)
  keys = await chainKeys()
  await setupSubnet(admin, keys)
  client = connectChain({ url: chain.url, readTimeoutMs: 10_000, writeTimeoutMs: 20_000 })
  validator = await createHotkey(KEY_URIS.validator)
  miner1 = await createHotkey(KEY_URIS.miners[0])
}, 150_000)

afterAll(async () => {
  await client?.disconnect()
  await admin?.disconnect()
  await chain?.kill()
})

/** The genesis runtime (spec 103) stores weights renormalised to sum 65535 (floor), not max-upscaled. */
function normalisedBySpec103(weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + BigInt(b), 0n)
  return weights.map((w) => Number((BigInt(w) * 65_535n) / sum))
}

describe('metagraph and discovery', () => {
  it('reads uids, hotkeys, coldkeys, stake, permits and last updates from storage', async () => {
    const mg = await readMetagraph(client, { netuid })
    expect(mg.netuid).toBe(netuid)
    expect(mg.block).toBe(await headBlock(admin))
    expect(mg.neurons.map((n) => n.uid)).toEqual([0, 1, 2])
    expect(mg.neurons.map((n) => n.hotkey)).toEqual([
      keys.validator.address,
      ...keys.miners.map((m) => m.address),
    ])
    expect(mg.neurons.every((n) => n.coldkey === keys.sudo.address)).toBe(true)
    expect(mg.neurons.map((n) => n.stakeRao)).toEqual([BigInt(SUBNET.validatorStakeRao), 0n, 0n])
    expect(mg.neurons.map((n) => n.validatorPermit)).toEqual([true, false, false])
    expect(mg.neurons.every((n) => n.lastUpdate > 0)).toBe(true)
    expect(mg.uidOf(keys.miners[1]!.address)).toBe(2)
    expect(mg.uidOf(keys.stranger.address)).toBeUndefined()
  })

  it('blocks_until_next_epoch is 0 at the block where the chain ran the epoch', async () => {
    const step = Number(
      (await admin.query.subtensorModule!.lastMechansimStepBlock!(netuid)).toString(),
    )
    expect(step).toBeGreaterThan(0)
    expect(blocksUntilNextEpoch({ block: step, netuid, tempo })).toBe(0)
    expect(blocksUntilNextEpoch({ block: step + 1, netuid, tempo })).toBe(tempo)
    expect(blocksUntilNextEpoch({ block: 100, netuid: 81, tempo: 360 })).toBe(178)
    expect(blocksUntilNextEpoch({ block: 5, netuid: 1, tempo: 0 })).toBeNull()
  })

  it('serveAxon announces the validator; a miner finds it as the first permitted uid with an ip', async () => {
    // A miner's axon (no permit) is skipped; 127.0.0.1 is refused by the runtime, 127.0.0.2 is loopback too.
    await serveAxon(client, miner1, { netuid, ip: '127.0.0.3', port: 9001 })
    const before = discoverValidator(await readMetagraph(client, { netuid }))
    expect(before).toBeNull()
    await serveAxon(client, validator, { netuid, ip: '127.0.0.2', port: 18_888 })
    const stored = (
      await admin.query.subtensorModule!.axons!(netuid, keys.validator.address)
    ).toJSON()
    expect(stored).toMatchObject({ ip: 2130706434, port: 18_888, ipType: 4 })
    const found = discoverValidator(await readMetagraph(client, { netuid }))
    expect(found).toEqual({ url: 'http://127.0.0.2:18888', uid: 0, hotkey: keys.validator.address })
  })

  it('serveAxon on 127.0.0.1 is a decoded chain error with a hint', async () => {
    const e = await expectRejectCode(
      serveAxon(client, validator, { netuid, ip: '127.0.0.1', port: 8888 }),
      'CHAIN_MODULE_ERROR',
    )
    expect(e.meta.name).toBe('InvalidIpAddress')
    expect(e.hints.join(' ')).toMatch(/127\.0\.0\.1/)
  })

  it('reliquary chain metagraph prints the table and JSON, with the validator miners would find', async () => {
    const lines: string[] = []
    const argv = ['metagraph', '--chain', chain.url, '--netuid', String(netuid)]
    expect(await chainCommand(argv, (l) => lines.push(l))).toBe(0)
    expect(lines.join('\n')).toMatch(/^netuid 1 at block \d+: 3 uids/)
    expect(lines.join('\n')).toContain(
      `validator for miners: uid 0 http://127.0.0.2:18888 (${keys.validator.address})`,
    )
    lines.length = 0
    expect(await chainCommand([...argv, '--json'], (l) => lines.push(l))).toBe(0)
    const doc = JSON.parse(lines.join('\n'))
    expect(doc.neurons[0]).toMatchObject({
      uid: 0,
      stakeRao: String(SUBNET.validatorStakeRao),
      validatorPermit: true,
    })
    expect(doc.validator.hotkey).toBe(keys.validator.address)
  })

  it('reliquary miner --chain without --validator: the URL and hotkey come from the metagraph', async () => {
    const lines: string[] = []
    const found = await discoverValidatorOnChain(
      { chain: chain.url, netuid: String(netuid) },
      (l) => lines.push(l),
    )
    expect(found).toEqual({ url: 'http://127.0.0.2:18888', hotkey: keys.validator.address })
    await expect(
      discoverValidatorOnChain({ chain: chain.url, netuid: '7' }, () => undefined),
    ).rejects.toMatchObject({ code: 'CLI_USAGE' })
  })

  it('reliquary validator --chain: registry read before the first window, weights and axon in the background', async () => {
    const lines: string[] = []
    const log = (l: string): void => void lines.push(l)
    const link = await openValidatorChain(
      { chain: chain.url, netuid: String(netuid), axonIp: '127.0.0.2', hotkey: validator },
      log,
    )
    try {
      expect(lines[0]).toMatch(/this hotkey is uid 0$/)
      expect(link.registry.isRegistered(keys.stranger.address)).toBe(false)
      const setter = link.weightsSetter({ ema: () => new Map([[keys.miners[1]!.address, 0.25]]) })
      expect(await setter.tick()).toMatchObject({ status: 'set', uids: [0, 2] })
      link.serve(18_888)
      for (let i = 0; i < 100 && !lines.some((l) => l.includes('axon')); i++)
        await new Promise((r) => setTimeout(r, 100))
      expect(lines.join('\n')).toContain('chain: axon served at 127.0.0.2:18888')
      expect(lines.join('\n')).toMatch(/chain: weights set for epoch \d+ \(uids 0,2;/)
    } finally {
      await link.close()
    }
  })

  it('a started registry re-reads the metagraph on its cadence: a hotkey registered later is seen without a refresh call', async () => {
    const late = await createHotkey('//Late')
    const registry = createChainRegistry({ client, netuid, refreshIntervalMs: 200 })
    await registry.refresh()
    registry.start()
    try {
      expect(registry.isRegistered(late.address)).toBe(false)
      await sudo(
        admin,
        keys,
        admin.tx.subtensorModule!.sudoRegister!(netuid, late.address, keys.sudo.address, 0, 1e12),
      )
      for (let i = 0; i < 100 && !registry.isRegistered(late.address); i++)
        await new Promise((r) => setTimeout(r, 100))
      expect(registry.isRegistered(late.address)).toBe(true)
      expect(registry.uidOf(late.address)).toBe(3)
    } finally {
      await registry.stop()
    }
  })

  it('the registry answers from the last metagraph, and nothing before the first read', async () => {
    const registry = createChainRegistry({ client, netuid })
    expect(registry.isRegistered(keys.miners[0]!.address)).toBeUndefined()
    await registry.refresh()
    expect(registry.isRegistered(keys.miners[0]!.address)).toBe(true)
    expect(registry.isRegistered(keys.stranger.address)).toBe(false)
    expect(registry.uidOf(keys.validator.address)).toBe(0)
  })
})

describe('weights', () => {
  it('set_weights puts the SDK u16 vector on chain: WeightsSet event, Weights storage read back', async () => {
    const mg = await readMetagraph(client, { netuid })
    const ema = new Map([
      [keys.miners[0]!.address, 0.3],
      [keys.miners[1]!.address, 0.1],
      [keys.stranger.address, 0.05],
    ])
    const w = emaToWeights(ema, { uidOf: mg.uidOf })
    expect(w.uids).toEqual([0, 1, 2])
    const out = await setWeights(client, validator, { netuid, uids: w.uids, weights: w.weights })
    expect(out.event).toEqual([netuid, 0])
    const stored = (await admin.query.subtensorModule!.weights!(netuid, 0)).toJSON() as number[][]
    expect(stored.map(([u]) => u)).toEqual(w.uids)
    expect(stored.map(([, v]) => v)).toEqual(normalisedBySpec103(w.weights))
  })

  it("set_weights sends the subnet's WeightsVersionKey unless one is given; a stale key is a decoded error", async () => {
    await sudo(admin, keys, admin.tx.subtensorModule!.sudoSetWeightsVersionKey!(netuid, 7))
    try {
      const out = await setWeights(client, validator, {
        netuid,
        uids: [0, 1],
        weights: [65_535, 1],
      })
      expect(out.versionKey).toBe(7n)
      const e = await expectRejectCode(
        setWeights(client, validator, { netuid, uids: [0], weights: [65_535], versionKey: 6 }),
        'CHAIN_MODULE_ERROR',
      )
      expect(e.meta).toMatchObject({
        section: 'subtensorModule',
        name: 'IncorrectNetworkVersionKey',
      })
    } finally {
      await sudo(admin, keys, admin.tx.subtensorModule!.sudoSetWeightsVersionKey!(netuid, 0))
    }
  })

  it('two quick writes from one key do not race on the nonce: serve_axon and set_weights at once both land', async () => {
    const [served, set] = await Promise.all([
      serveAxon(client, validator, { netuid, ip: '127.0.0.2', port: 18_889 }),
      setWeights(client, validator, { netuid, uids: [0, 1], weights: [65_535, 65_535] }),
      setWeights(client, validator, { netuid, uids: [0, 2], weights: [65_535, 32_768] }),
    ]).then(([a, , c]) => [a, c] as const)
    expect(served.blockHash).toMatch(/^0x/)
    expect(set.event).toEqual([netuid, 0])
    const stored = (await admin.query.subtensorModule!.weights!(netuid, 0)).toJSON() as number[][]
    expect(stored.map(([u]) => u)).toEqual([0, 2])
    const axon = (
      await admin.query.subtensorModule!.axons!(netuid, keys.validator.address)
    ).toJSON()
    expect(axon).toMatchObject({ port: 18_889 })
    // Back to the port the discovery tests announced.
    await serveAxon(client, validator, { netuid, ip: '127.0.0.2', port: 18_888 })
  })

  it('set_weights from a hotkey without a validator permit is a decoded NoValidatorPermit', async () => {
    const e = await expectRejectCode(
      setWeights(client, miner1, { netuid, uids: [0], weights: [65_535] }),
      'CHAIN_MODULE_ERROR',
    )
    expect(e.meta).toMatchObject({ section: 'subtensorModule', name: 'NoValidatorPermit' })
    expect(e.hints[0]).toMatch(/permit/)
  })

  it('set_weights from an unregistered hotkey is a decoded chain error', async () => {
    const stranger = await createHotkey(KEY_URIS.stranger)
    const e = await expectRejectCode(
      setWeights(client, stranger, { netuid, uids: [0], weights: [65_535] }),
      'CHAIN_MODULE_ERROR',
    )
    expect(e.meta).toMatchObject({ section: 'subtensorModule', name: 'NotRegistered' })
    expect(e.hints[0]).toMatch(/register/i)
  })

  it('the weights setter submits at boot, then once per epoch inside the lead window', async () => {
    const ema = new Map([[keys.miners[0]!.address, 0.5]])
    const events: string[] = []
    const setter = createWeightsSetter({
      client,
      hotkey: validator,
      netuid,
      ema: () => ema,
      leadBlocks: 3,
      onEvent: (e) => events.push(e.type),
    })
    const boot = await setter.tick()
    expect(boot.status).toBe('set')
    expect(await setter.tick()).toMatchObject({ status: 'already_set' })
    // Move to the start of the next epoch: more than 3 blocks remain, so it waits.
    const head = await headBlock(admin)
    await newBlocks(admin, (blocksUntilNextEpoch({ block: head, netuid, tempo }) ?? 0) + 1)
    expect(await setter.tick()).toMatchObject({ status: 'waiting', blocksUntilEpoch: tempo })
    await newBlocks(admin, tempo - 3)
    const second = await setter.tick()
    expect(second.status).toBe('set')
    if (second.status !== 'set' || boot.status !== 'set') throw new Error('unreachable')
    expect(second.epoch).toBe(boot.epoch + tempo + 1)
    expect(events).toEqual(['weights_set', 'weights_set'])
    const stored = (await admin.query.subtensorModule!.weights!(netuid, 0)).toJSON() as number[][]
    expect(stored).toEqual([
      [0, normalisedBySpec103(second.weights)[0]],
      [1, normalisedBySpec103(second.weights)[1]],
    ])
  })

  it('rate limit: SettingWeightsTooFast is decoded into the validator log, retried next epoch; no throw', async () => {
    await sudo(admin, keys, admin.tx.subtensorModule!.sudoSetWeightsSetRateLimit!(netuid, 1000))
    const lines: string[] = []
    const link = await openValidatorChain(
      { chain: chain.url, netuid: String(netuid), axonIp: undefined, hotkey: validator },
      (l) => lines.push(l),
    )
    try {
      const setter = link.weightsSetter({
        ema: () => new Map([[keys.miners[1]!.address, 0.2]]),
      })
      const t = await setter.tick()
      expect(t).toMatchObject({ status: 'failed', retry: 'next_epoch' })
      if (t.status !== 'failed') throw new Error('unreachable')
      expect(t.error).toMatchObject({
        code: 'CHAIN_MODULE_ERROR',
        meta: { name: 'SettingWeightsTooFast' },
      })
      expect(lines.filter((l) => l.includes('set_weights failed'))).toEqual([
        expect.stringMatching(
          /^chain: set_weights failed \(CHAIN_MODULE_ERROR: .*SubtensorModule\.SettingWeightsTooFast\.\); retry at the next epoch$/,
        ),
      ])
      expect(await setter.tick()).toMatchObject({ status: 'waiting' })
    } finally {
      await link.close()
      await sudo(admin, keys, admin.tx.subtensorModule!.sudoSetWeightsSetRateLimit!(netuid, 0))
    }
  })

  it('no permit: NoValidatorPermit is decoded into the validator log; the setter goes on', async () => {
    const lines: string[] = []
    const link = await openValidatorChain(
      { chain: chain.url, netuid: String(netuid), axonIp: undefined, hotkey: miner1 },
      (l) => lines.push(l),
    )
    try {
      const setter = link.weightsSetter({ ema: () => new Map([[keys.miners[1]!.address, 0.2]]) })
      expect(await setter.tick()).toMatchObject({ status: 'failed', retry: 'next_epoch' })
      expect(lines.filter((l) => l.includes('set_weights failed'))).toEqual([
        expect.stringMatching(
          /^chain: set_weights failed \(CHAIN_MODULE_ERROR: .*SubtensorModule\.NoValidatorPermit\.\); retry at the next epoch$/,
        ),
      ])
      expect(await setter.tick()).toMatchObject({ status: 'waiting' })
    } finally {
      await link.close()
    }
  })
})

describe('client', () => {
  it("reads 30 s and writes 180 s by default, as the reference's CHAIN_READ_TIMEOUT / CHAIN_WRITE_TIMEOUT", async () => {
    const c = connectChain({ url: 'ws://127.0.0.1:9' })
    expect([c.readTimeoutMs, c.writeTimeoutMs]).toEqual([30_000, 180_000])
    const custom = connectChain({ url: 'ws://127.0.0.1:9', readTimeoutMs: 5, writeTimeoutMs: 7 })
    expect([custom.readTimeoutMs, custom.writeTimeoutMs]).toEqual([5, 7])
    await c.disconnect()
    await custom.disconnect()
  })

  it('an unreachable endpoint is CHAIN_UNAVAILABLE within the connect timeout', async () => {
    const c = connectChain({ url: 'ws://127.0.0.1:9', connectTimeoutMs: 5000 })
    const t = Date.now()
    await expectRejectCode(readMetagraph(c, { netuid }), 'CHAIN_UNAVAILABLE', 'CHAIN_TIMEOUT')
    expect(Date.now() - t).toBeLessThan(8000)
    await c.disconnect()
  })

  it('refuses to set weights in the clear when the subnet has commit-reveal on', async () => {
    // The genesis runtime has no commit-reveal; a later runtime exposes the flag as storage.
    const api = {
      tx: { subtensorModule: { setWeights: () => undefined } },
      query: {
        subtensorModule: { commitRevealWeightsEnabled: async () => ({ toJSON: () => true }) },
      },
    }
    const fake = connectChainLike(api)
    const e = await expectRejectCode(
      setWeights(fake, validator, { netuid, uids: [0], weights: [1] }),
      'CHAIN_UNSUPPORTED',
    )
    expect(e.shortMessage).toMatch(/commit-reveal/)
  })
})

function connectChainLike(api: unknown): ChainClient {
  const run = <T>(_l: string, fn: (a: ApiPromise) => Promise<T>) => fn(api as ApiPromise)
  return {
    url: 'ws://fake',
    readTimeoutMs: 1000,
    writeTimeoutMs: 1000,
    api: async () => api as ApiPromise,
    read: run,
    write: run,
    reconnect: () => undefined,
    disconnect: async () => undefined,
  }
}

describe('wallets', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'reliquary-wallet-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })
  // Alice's well-known dev seed and address (substrate `subkey inspect //Alice`).
  const ALICE_SEED = '0xe5be9a5092b81bca64be81d212e7f2f9eba183bb7a90954f7b76361f6edb5c0a'
  const ALICE = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY'

  it('loads the unencrypted btcli hotkey file <path>/<name>/hotkeys/<hotkey>', async () => {
    await mkdir(join(dir, 'vali', 'hotkeys'), { recursive: true })
    await writeFile(
      join(dir, 'vali', 'hotkeys', 'default'),
      JSON.stringify({
        secretSeed: ALICE_SEED,
        ss58Address: ALICE,
        accountId: '0x',
        publicKey: '0x',
      }),
    )
    const hk = await loadWalletHotkey({ name: 'vali', path: dir })
    expect(hk.address).toBe(ALICE)
  })

  it('defaults to ~/.bittensor/wallets/<name>/hotkeys/default, as btcli writes it', async () => {
    const home = join(dir, 'home')
    await mkdir(join(home, '.bittensor', 'wallets', 'vali', 'hotkeys'), { recursive: true })
    await writeFile(
      join(home, '.bittensor', 'wallets', 'vali', 'hotkeys', 'default'),
      JSON.stringify({ secretSeed: ALICE_SEED, ss58Address: ALICE }),
    )
    const saved = process.env.HOME
    process.env.HOME = home
    try {
      expect((await loadWalletHotkey({ name: 'vali' })).address).toBe(ALICE)
    } finally {
      if (saved === undefined) delete process.env.HOME
      else process.env.HOME = saved
    }
  })

  it('refuses a missing, encrypted, inconsistent or path-escaping wallet', async () => {
    await mkdir(join(dir, 'bad', 'hotkeys'), { recursive: true })
    await writeFile(join(dir, 'bad', 'hotkeys', 'enc'), '$NACL\u0000\u0001garbage')
    await writeFile(
      join(dir, 'bad', 'hotkeys', 'other'),
      JSON.stringify({ secretSeed: ALICE_SEED, ss58Address: keys.validator.address }),
    )
    await expectRejectCode(loadWalletHotkey({ name: 'nope', path: dir }), 'WALLET_INVALID')
    await expectRejectCode(
      loadWalletHotkey({ name: 'bad', hotkey: 'enc', path: dir }),
      'WALLET_INVALID',
    )
    await expectRejectCode(
      loadWalletHotkey({ name: 'bad', hotkey: 'other', path: dir }),
      'WALLET_INVALID',
    )
    await expectRejectCode(loadWalletHotkey({ name: '../x', path: dir }), 'INVALID_ARGUMENT')
  })
})
