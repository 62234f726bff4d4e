import { invalidArgument } from '../errors/base.js'

/** A neuron's served axon, decoded (the Bittensor SDK's `AxonInfo`). */
export type AxonInfo = {
  /** Text address (`0.0.0.0` when none was served). */
  readonly ip: string
  readonly port: number
  /** 4 or 6; 0 when none was served. */
  readonly ipType: number
  /** The axon protocol number the server announced. */
  readonly protocol: number
  readonly version: number
}

/** One uid of a subnet. */
export type Neuron = {
  readonly uid: number
  readonly hotkey: string
  /** Owner of the hotkey (`Owner` storage); `null` if the runtime has none recorded. */
  readonly coldkey: string | null
  /** Total stake on the hotkey in rao (TAO × 1e9), `null` when the runtime has no such storage. */
  readonly stakeRao: bigint | null
  readonly validatorPermit: boolean
  readonly axon: AxonInfo
  /** Block of the uid's last weights update (or registration). */
  readonly lastUpdate: number
}

/** A subnet's metagraph at one block: neurons by uid, and a hotkey → uid lookup. */
export type Metagraph = {
  readonly netuid: number
  /** The block the metagraph was read at. */
  readonly block: number
  /** Neurons in ascending uid order. */
  readonly neurons: readonly Neuron[]
  /** The uid of `hotkey`, or `undefined` if it is not registered (O(1)). */
  uidOf(hotkey: string): number | undefined
}

/** The axon of a uid that never served one. */
export const EMPTY_AXON: AxonInfo = /*#__PURE__*/ Object.freeze({
  ip: '0.0.0.0',
  port: 0,
  ipType: 0,
  protocol: 0,
  version: 0,
})

/**
 * Builds a frozen {@link Metagraph} from neurons (any order; sorted by uid).
 *
 * @param parameters - `netuid`, `block`, `neurons`.
 * @returns The metagraph with its hotkey index.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for duplicate uids or a malformed neuron.
 * @example
 * ```ts
 * import { createMetagraph, EMPTY_AXON } from 'reliquary/chain'
 * const mg = createMetagraph({ netuid: 1, block: 10, neurons: [{ uid: 0, hotkey: '5F…', coldkey: null, stakeRao: 0n, validatorPermit: true, axon: EMPTY_AXON, lastUpdate: 3 }] })
 * mg.uidOf('5F…') // 0
 * ```
 */
export function createMetagraph(parameters: {
  netuid: number
  block: number
  neurons: readonly Neuron[]
}): Metagraph {
  const { netuid, block, neurons } = parameters
  if (!Number.isSafeInteger(netuid) || netuid < 0 || netuid > 65_535)
    throw invalidArgument('netuid', 'an integer in [0, 65535]', netuid)
  if (!Number.isSafeInteger(block) || block < 0)
    throw invalidArgument('block', 'a non-negative integer', block)
  if (!Array.isArray(neurons)) throw invalidArgument('neurons', 'an array', neurons)
  const sorted = [...neurons].sort((a, b) => a.uid - b.uid)
  const byHotkey = new Map<string, number>()
  sorted.forEach((n, i) => {
    if (!Number.isSafeInteger(n?.uid) || n.uid < 0 || typeof n.hotkey !== 'string')
      throw invalidArgument(`neurons[${i}]`, 'a neuron with an integer uid and a hotkey', n)
    if (i > 0 && sorted[i - 1]!.uid === n.uid)
      throw invalidArgument(`neurons[${i}].uid`, 'unique uids', n.uid)
    if (!byHotkey.has(n.hotkey)) byHotkey.set(n.hotkey, n.uid)
  })
  return Object.freeze({
    netuid,
    block,
    neurons: Object.freeze(sorted.map((n) => Object.freeze({ ...n }))),
    uidOf: (hotkey: string) => byHotkey.get(hotkey),
  })
}

/** Where the miner sends its work, found on the metagraph. */
export type DiscoveredValidator = {
  /** `http://{ip}:{port}` (IPv6 in brackets). */
  readonly url: string
  readonly uid: number
  /** Hotkey of that uid: the checkpoint manifests must be signed by it. */
  readonly hotkey: string
}

/**
 * Finds the validator a miner submits to exactly as the reference does
 * (`discover_validator_url` in `reliquary/miner/submitter.py`): the first uid, in ascending order,
 * with a validator permit and an axon ip other than `0.0.0.0` or empty; the URL is
 * `http://{ip}:{port or defaultPort}`. One deliberate difference: an IPv6 address is written in
 * brackets, so the URL parses (the reference would build `http://::1:8888`).
 *
 * - Spec: docs/protocol.md §3 "Discovery".
 *
 * @param metagraph - {@link Metagraph}
 * @param options - `defaultPort` when the axon's port is 0. @default 8888 (`VALIDATOR_HTTP_PORT`)
 * @returns The validator, or `null` when no uid qualifies.
 * @example
 * ```ts
 * import { discoverValidator } from 'reliquary/chain'
 * const v = discoverValidator(metagraph)
 * if (v) console.log(v.url, v.hotkey)
 * ```
 */
export function discoverValidator(
  metagraph: Metagraph,
  options: { defaultPort?: number | undefined } = {},
): DiscoveredValidator | null {
  const { defaultPort = 8888 } = options
  for (const n of metagraph.neurons) {
    if (!n.validatorPermit) continue
    const ip = n.axon.ip
    if (!ip || ip === '0.0.0.0') continue
    const host = ip.includes(':') ? `[${ip}]` : ip
    return Object.freeze({
      url: `http://${host}:${n.axon.port || defaultPort}`,
      uid: n.uid,
      hotkey: n.hotkey,
    })
  }
  return null
}
