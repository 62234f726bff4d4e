// `reliquary demo --chain`: a local subtensor node inside the demo (./startLocalSubtensor.ts), or
// a chopsticks node on the same genesis at a given URL; the demo creates a subnet with sudo
// calls, registers its validator and miners, checks registration at admission, sets the
// validator's EMA weights through the weights setter at each epoch's lead, and reads them back.
import { join } from 'node:path'
import type { ApiPromise } from '@polkadot/api'
import type { ChainClient } from '../chain/connectChain.js'
import type { ChainRegistry } from '../chain/createChainRegistry.js'
import type { WeightsSetter, WeightsTick } from '../chain/createWeightsSetter.js'
import { createHotkey, type Hotkey } from '../crypto/sr25519.js'
import { ReliquaryError } from '../errors/base.js'
import type { Validator } from '../validator/createValidator.js'
import { type DemoChainWeights, storedBySpec } from './chainWeights.js'
import type { DemoContext } from './demoContext.js'
import {
  type LocalChainFiles,
  type LocalSubtensor,
  startLocalSubtensor,
} from './startLocalSubtensor.js'

/** The demo subnet: netuid 1, an epoch every 11 blocks, weights set 3 blocks before each epoch. */
export const DEMO_CHAIN = /*#__PURE__*/ Object.freeze({
  netuid: 1,
  tempo: 10,
  leadBlocks: 3,
  validatorStakeRao: 1_000_000_000_000,
} as const)

type Rpc = (method: string, ...params: unknown[]) => Promise<unknown>
const rpc = (api: ApiPromise): Rpc => api.rpc as unknown as Rpc

/** The demo's chain, from start to the weights read back. @internal */
export type DemoChain = {
  readonly url: string
  /** Who is registered (given to the validator: admission checks registration). */
  readonly registry: ChainRegistry
  /** Registers the validator (with stake) and the miners, waits for the permit epoch, reads the metagraph. */
  attach(validatorKey: Hotkey, validator: Validator, minerHotkeys: readonly string[]): Promise<void>
  /** After a window: moves the chain to the next epoch's lead and sets the EMA weights there. */
  afterWindow(windowN: number): Promise<WeightsTick | null>
  /** Reads the validator's `Weights` row back, beside the EMA. */
  finish(labels: ReadonlyMap<string, string>): Promise<DemoChainWeights>
  close(): Promise<void>
}

/**
 * Starts the demo's chain: a local node from `at`'s files (see `locateLocalChain`), or the
 * chopsticks node at `at.url`; Alice made sudo, the subnet created (tempo 10, one validator slot,
 * no rate limits).
 * @internal
 * @throws {ReliquaryError} `CHAIN_UNAVAILABLE` (the node did not start or cannot be reached),
 *   `CHAIN_CLIENT_NOT_AVAILABLE` (`@polkadot/api` not installed), chain errors.
 */
export async function startDemoChain(
  ctx: DemoContext,
  at: { readonly url: string } | LocalChainFiles,
): Promise<DemoChain> {
  const node = 'url' in at ? null : await startLocalSubtensor(at, join(ctx.workDir, 'chain'))
  const url = 'url' in at ? at.url : node!.url
  let client: ChainClient | null = null
  try {
    const chain = await import('../chain/index.js')
    client = chain.connectChain({ url, writeTimeoutMs: 60_000 })
    await setupDemoSubnet(client)
    ctx.log(
      `chain: ${node ? 'local subtensor started' : 'subtensor'} at ${url}, subnet ${DEMO_CHAIN.netuid} created`,
    )
    const registry = chain.createChainRegistry({ client, netuid: DEMO_CHAIN.netuid })
    return demoChain(ctx, { client, node, url, registry })
  } catch (e) {
    await client?.disconnect()
    await node?.close()
    throw e
  }
}

/** Runs `calls` as sudo (Alice), one block each; a failed inner call throws. */
async function sudo(client: ChainClient, calls: ((api: ApiPromise) => unknown)[]): Promise<void> {
  const { submitExtrinsic } = await import('../chain/submitExtrinsic.js')
  const alice = await createHotkey('//Alice')
  for (const call of calls) {
    const out = await submitExtrinsic(
      client,
      alice,
      (api) => api.tx.sudo!.sudo!(call(api) as never),
      'a sudo call of the demo setup',
    )
    const sudid = out.events.find((e) => e.method === 'Sudid')
    if (!sudid || JSON.stringify(sudid.data).includes('"err"'))
      throw new ReliquaryError('CHAIN_EXTRINSIC_INVALID', 'A sudo call of the demo setup failed.', {
        meta: { events: out.events },
      })
  }
}

async function newBlocks(client: ChainClient, count: number): Promise<void> {
  await client.write('Building blocks', (api) => rpc(api)('dev_newBlock', { count }))
}

async function setupDemoSubnet(client: ChainClient): Promise<void> {
  const alice = await createHotkey('//Alice')
  await client.write('Making //Alice sudo', (api) =>
    rpc(api)('dev_setStorage', {
      Sudo: { Key: alice.address },
      System: {
        Account: [[[alice.address], { providers: 1, data: { free: '1000000000000000000' } }]],
      },
    }),
  )
  // A fresh head: an extrinsic signed against the rewritten one would not verify.
  await newBlocks(client, 1)
  const { netuid, tempo } = DEMO_CHAIN
  await sudo(client, [
    (api) => api.tx.subtensorModule!.sudoAddNetwork!(netuid, tempo, 0),
    (api) => api.tx.subtensorModule!.sudoSetMinAllowedWeights!(netuid, 1),
    (api) => api.tx.subtensorModule!.sudoSetMaxWeightLimit!(netuid, 65_535),
    (api) => api.tx.subtensorModule!.sudoSetMaxAllowedValidators!(netuid, 1),
    (api) => api.tx.subtensorModule!.sudoSetServingRateLimit!(netuid, 0),
    (api) => api.tx.subtensorModule!.sudoSetWeightsSetRateLimit!(netuid, 0),
  ])
}

function demoChain(
  ctx: DemoContext,
  p: { client: ChainClient; node: LocalSubtensor | null; url: string; registry: ChainRegistry },
): DemoChain {
  const { client, node, url, registry } = p
  const { netuid, tempo, leadBlocks } = DEMO_CHAIN
  let setter: WeightsSetter | null = null
  let attached: { validator: Validator; key: Hotkey } | null = null
  let sets = 0
  const head = (): Promise<number> =>
    client.read('Reading the head', async (api) =>
      (await api.rpc.chain.getHeader()).number.toNumber(),
    )
  return {
    url,
    registry,
    attach: async (key, v, minerHotkeys) => {
      const reg = registry
      attached = { validator: v, key }
      const alice = (await createHotkey('//Alice')).address
      const { validatorStakeRao } = DEMO_CHAIN
      await sudo(client, [
        (api) =>
          api.tx.subtensorModule!.sudoRegister!(
            netuid,
            key.address,
            alice,
            validatorStakeRao,
            1e12,
          ),
        ...minerHotkeys.map(
          (h) => (api: ApiPromise) =>
            api.tx.subtensorModule!.sudoRegister!(netuid, h, alice, 0, 1e12),
        ),
      ])
      // Permits are handed out at the subnet's epoch.
      const { blocksUntilNextEpoch } = await import('../chain/blocksUntilNextEpoch.js')
      await newBlocks(
        client,
        (blocksUntilNextEpoch({ block: await head(), netuid, tempo }) ?? 0) + 1,
      )
      const mg = await reg.refresh()
      ctx.log(
        `chain: validator uid ${mg.uidOf(key.address)} (permit: ${mg.neurons.find((n) => n.hotkey === key.address)?.validatorPermit ? 'yes' : 'no'}), ${minerHotkeys.length} miner(s) registered at block ${mg.block}; admission checks registration`,
      )
      const { createWeightsSetter } = await import('../chain/createWeightsSetter.js')
      setter = createWeightsSetter({
        client,
        hotkey: key,
        netuid,
        ema: () => v.ema(),
        profile: ctx.profile,
        leadBlocks,
        metagraph: () => reg.refresh(),
      })
      // At boot, as a validator's setter does when it starts (the EMA is empty: all to the burn uid).
      const boot = await setter.tick()
      if (boot.status === 'set') sets++
      if (boot.status === 'set' || boot.status === 'failed') logTick(ctx, 'boot', boot)
    },
    afterWindow: async (windowN) =>
      setter ? setWeightsAtLead(ctx, client, setter, windowN, () => sets++) : null,
    finish: async (labels) => {
      if (!setter || !attached)
        throw new ReliquaryError('CHAIN_UNAVAILABLE', 'The demo chain was never attached.')
      return readBack(client, registry, setter, attached, labels, sets)
    },
    close: async () => {
      await (setter as WeightsSetter | null)?.stop()
      await client.disconnect()
      await node?.close()
    },
  }
}

function logTick(ctx: DemoContext, when: string, t: WeightsTick): void {
  if (t.status === 'set')
    ctx.log(
      `chain: ${when}: weights set at block ${t.block}, ${t.epoch - t.block} block(s) before epoch ${t.epoch} (uids ${t.uids.join(',')}; u16 ${t.weights.join(',')})`,
    )
  else if (t.status === 'failed') {
    const e = t.error
    ctx.log(
      `chain: ${when}: set_weights failed (${e instanceof ReliquaryError ? `${e.code}: ${e.shortMessage}` : String(e)})`,
    )
  }
}

/**
 * Ticks the weights setter; while it waits, builds the blocks up to the next epoch's lead (the
 * chain only moves when the demo builds a block). Logs the outcome.
 */
async function setWeightsAtLead(
  ctx: DemoContext,
  client: ChainClient,
  setter: WeightsSetter,
  windowN: number,
  onSet: () => void,
): Promise<WeightsTick | null> {
  const { tempo, leadBlocks } = DEMO_CHAIN
  for (let i = 0; i < 4; i++) {
    const t = await setter.tick()
    if (t.status === 'set') onSet()
    if (t.status === 'set' || t.status === 'failed') {
      logTick(ctx, `window ${windowN}`, t)
      return t
    }
    if (t.status === 'nothing_to_set') return t
    const blocks =
      t.status === 'waiting'
        ? t.blocksUntilEpoch - leadBlocks
        : t.epoch - t.block + 1 + tempo - leadBlocks
    await newBlocks(client, Math.max(1, blocks))
  }
  return null
}

async function readBack(
  client: ChainClient,
  registry: ChainRegistry,
  setter: WeightsSetter,
  at: { validator: Validator; key: Hotkey },
  labels: ReadonlyMap<string, string>,
  sets: number,
): Promise<DemoChainWeights> {
  const { validator } = at
  const validatorHotkey = at.key.address
  const last = setter.lastSet()
  const mg = await registry.refresh()
  const validatorUid = mg.uidOf(validatorHotkey) ?? -1
  const { netuid } = DEMO_CHAIN
  const { stored, specVersion } = await client.read('Reading Weights', async (api) => ({
    stored: (await api.query.subtensorModule!.weights!(netuid, validatorUid)).toJSON() as [
      number,
      number,
    ][],
    specVersion: api.runtimeVersion.specVersion.toNumber(),
  }))
  const byUid = new Map(stored.map(([u, w]) => [u, w]))
  const ema = validator.ema()
  const uids = last?.uids ?? []
  const sent = last?.weights ?? []
  const rows = uids.map((uid, i) => {
    const hotkey = mg.neurons.find((n) => n.uid === uid)?.hotkey ?? ''
    return {
      uid,
      label: labels.get(hotkey) ?? (hotkey === validatorHotkey ? 'validator (burn uid)' : hotkey),
      hotkey,
      ema: ema.has(hotkey) ? ema.get(hotkey)! : null,
      sent: sent[i]!,
      stored: byUid.get(uid) ?? null,
    }
  })
  const expected = storedBySpec(sent, specVersion)
  const matches =
    last !== null && stored.length === uids.length && rows.every((r, i) => r.stored === expected[i])
  return Object.freeze({ netuid, validatorUid, block: mg.block, specVersion, sets, rows, matches })
}
