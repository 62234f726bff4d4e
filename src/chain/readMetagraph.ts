import type { ApiPromise } from '@polkadot/api'
import type { Codec } from '@polkadot/types/types'
import { ReliquaryError, invalidArgument } from '../errors/base.js'
import { intToIp } from './_ip.js'
import type { ChainClient } from './connectChain.js'
import { type AxonInfo, EMPTY_AXON, type Metagraph, createMetagraph } from './metagraph.js'

type Query = (...args: unknown[]) => Promise<Codec>
type MultiQuery = Query & {
  multi: (keys: unknown[]) => Promise<Codec[]>
  entries: (...args: unknown[]) => Promise<unknown[]>
}

/** The subtensor storage item `name`, or `undefined` when this runtime lacks it. @internal */
export function subtensorStorage(api: ApiPromise, name: string): MultiQuery | undefined {
  const pallet = (api.query as unknown as Record<string, Record<string, MultiQuery> | undefined>)
    .subtensorModule
  return pallet?.[name]
}

function required(api: ApiPromise, name: string): MultiQuery {
  const q = subtensorStorage(api, name)
  if (!q)
    throw new ReliquaryError(
      'CHAIN_UNSUPPORTED',
      `The runtime has no SubtensorModule.${name} storage.`,
      { hints: ['Is this a subtensor (Bittensor) node? Check the --chain URL.'] },
    )
  return q
}

const num = (c: Codec | undefined): number => Number((c as unknown as { toString(): string }) ?? 0)

function decodeAxon(c: Codec | undefined): AxonInfo {
  const j = c?.toJSON() as Record<string, unknown> | null | undefined
  if (!j || typeof j !== 'object') return EMPTY_AXON
  const ip = BigInt(String(j.ip ?? 0))
  return Object.freeze({
    ip: intToIp(ip),
    port: Number(j.port ?? 0),
    ipType: Number(j.ipType ?? 0),
    protocol: Number(j.protocol ?? 0),
    version: Number(j.version ?? 0),
  })
}

async function stakes(
  api: ApiPromise,
  netuid: number,
  hotkeys: readonly string[],
): Promise<(bigint | null)[]> {
  const total = subtensorStorage(api, 'totalHotkeyStake')
  if (total) return (await total.multi([...hotkeys])).map((c) => BigInt(c.toString()))
  const alpha = subtensorStorage(api, 'totalHotkeyAlpha')
  if (alpha)
    return (await alpha.multi(hotkeys.map((h) => [h, netuid]))).map((c) => BigInt(c.toString()))
  return hotkeys.map(() => null)
}

/**
 * Reads a subnet's metagraph from storage at the chain head, every item at the same block: uids
 * and hotkeys (`Keys`), coldkeys (`Owner`), stake (`TotalHotkeyStake`, or `TotalHotkeyAlpha` on
 * dynamic-TAO runtimes), validator permits, axons and last updates. Plain storage, so it works on
 * the 2023 genesis runtime and on later ones alike.
 *
 * @param client - {@link ChainClient}
 * @param options - `netuid`.
 * @returns {@link Metagraph}
 * @throws {ReliquaryError} `CHAIN_TIMEOUT`, `CHAIN_UNAVAILABLE`; `CHAIN_UNSUPPORTED` on a node
 *   without the subtensor pallet; `CHAIN_MODULE_ERROR`-free: a missing subnet reads as empty.
 * @example
 * ```ts
 * import { connectChain, readMetagraph } from 'reliquary/chain'
 * const mg = await readMetagraph(connectChain({ url: 'ws://127.0.0.1:9944' }), { netuid: 81 })
 * console.log(mg.neurons.length, mg.uidOf('5F…'))
 * ```
 */
export async function readMetagraph(
  client: ChainClient,
  options: { netuid: number },
): Promise<Metagraph> {
  const netuid = options?.netuid
  if (!Number.isSafeInteger(netuid) || netuid < 0 || netuid > 65_535)
    throw invalidArgument('netuid', 'an integer in [0, 65535]', netuid)
  return client.read(`Reading the metagraph of netuid ${netuid}`, async (live) => {
    const header = await live.rpc.chain.getHeader()
    const api = (await live.at(header.hash)) as unknown as ApiPromise
    const keys = await required(api, 'keys').entries(netuid)
    const pairs = (keys as unknown as [{ args: Codec[] }, Codec][])
      .map(([k, v]) => ({ uid: num(k.args[1]), hotkey: v.toString() }))
      .sort((a, b) => a.uid - b.uid)
    const hotkeys = pairs.map((p) => p.hotkey)
    const [owners, stake, permits, lastUpdate, axons] = await Promise.all([
      subtensorStorage(api, 'owner')?.multi(hotkeys) ?? Promise.resolve(undefined),
      stakes(api, netuid, hotkeys),
      required(api, 'validatorPermit')(netuid),
      required(api, 'lastUpdate')(netuid),
      required(api, 'axons').multi(hotkeys.map((h) => [netuid, h])),
    ])
    const permitArr = (permits.toJSON() as boolean[] | null) ?? []
    const updates = (lastUpdate.toJSON() as (number | string)[] | null) ?? []
    return createMetagraph({
      netuid,
      block: header.number.toNumber(),
      neurons: pairs.map((p, i) => ({
        uid: p.uid,
        hotkey: p.hotkey,
        coldkey: owners ? owners[i]!.toString() : null,
        stakeRao: stake[i] ?? null,
        validatorPermit: permitArr[p.uid] === true,
        axon: decodeAxon(axons[i]),
        lastUpdate: Number(updates[p.uid] ?? 0),
      })),
    })
  })
}
