import type { ApiPromise } from '@polkadot/api'
import type { Hotkey } from '../crypto/sr25519.js'
import { ReliquaryError, invalidArgument } from '../errors/base.js'
import type { ChainClient } from './connectChain.js'
import { subtensorStorage } from './readMetagraph.js'
import { submitExtrinsic, type SubmitExtrinsicOptions } from './submitExtrinsic.js'

/** Parameters of {@link setWeights}. */
export type SetWeightsParameters = {
  netuid: number
  /** Destination uids (ascending, as the Bittensor SDK emits them). */
  uids: readonly number[]
  /** u16 weights aligned with `uids` (see `convertWeightsAndUidsForEmit`). */
  weights: readonly number[]
  /** `version_key` of the extrinsic. @default the subnet's `WeightsVersionKey` read from the chain */
  versionKey?: bigint | number | undefined
} & SubmitExtrinsicOptions

/** Result of {@link setWeights}: what the chain reported. */
export type SetWeightsReturnType = {
  readonly blockHash: string
  /** The version key that was sent. */
  readonly versionKey: bigint
  /** Data of the `SubtensorModule.WeightsSet` event (netuid, uid). */
  readonly event: unknown
}

/** The subnet's commit-reveal flag: `true` only when the runtime has the setting and it is on. @internal */
export async function commitRevealEnabled(api: ApiPromise, netuid: number): Promise<boolean> {
  const q = subtensorStorage(api, 'commitRevealWeightsEnabled')
  if (!q) return false
  return (await q(netuid)).toJSON() === true
}

function assertU16Array(name: string, xs: readonly number[]): void {
  if (!Array.isArray(xs)) throw invalidArgument(name, 'an array of u16', xs)
  xs.forEach((x, i) => {
    if (!Number.isSafeInteger(x) || x < 0 || x > 65_535)
      throw invalidArgument(`${name}[${i}]`, 'an integer in [0, 65535]', x)
  })
}

/**
 * Sets a validator's weights on a subnet in the clear (`SubtensorModule.set_weights`), once.
 * Refuses when the subnet has commit-reveal of weights on (the SDK does not implement commit-reveal,
 * and setting in the clear there would be rejected or leak the weights). Success is read from the
 * chain: `System.ExtrinsicSuccess` and a `SubtensorModule.WeightsSet` event in the block.
 *
 * - Spec: docs/protocol.md §8 "Weights", §3.5 (`set_weights` is signed by the validator hotkey).
 *
 * @param client - {@link ChainClient}
 * @param hotkey - The validator hotkey (needs a validator permit on the subnet).
 * @param parameters - {@link SetWeightsParameters}
 * @returns {@link SetWeightsReturnType}
 * @throws {ReliquaryError} `CHAIN_UNSUPPORTED` (commit-reveal on, or no `setWeights` call);
 *   `CHAIN_MODULE_ERROR` decoded (`NoValidatorPermit`, `SettingWeightsTooFast`, …);
 *   `CHAIN_EXTRINSIC_INVALID`, `CHAIN_TIMEOUT`, `CHAIN_UNAVAILABLE`; `INVALID_ARGUMENT`.
 * @example
 * ```ts
 * import { connectChain, setWeights } from 'reliquary/chain'
 * import { emaToWeights } from 'reliquary'
 * const { uids, weights } = emaToWeights(ema, { uidOf: metagraph.uidOf })
 * await setWeights(client, hotkey, { netuid: 81, uids, weights })
 * ```
 */
export async function setWeights(
  client: ChainClient,
  hotkey: Hotkey,
  parameters: SetWeightsParameters,
): Promise<SetWeightsReturnType> {
  const { netuid, uids, weights, versionKey, ...submit } = parameters
  if (!Number.isSafeInteger(netuid) || netuid < 0 || netuid > 65_535)
    throw invalidArgument('netuid', 'an integer in [0, 65535]', netuid)
  assertU16Array('uids', uids)
  assertU16Array('weights', weights)
  if (uids.length !== weights.length)
    throw invalidArgument('weights', `an array of length ${uids.length}`, weights)
  const key = await client.read('Reading the subnet weights settings', async (api) => {
    if (!api.tx.subtensorModule?.setWeights)
      throw new ReliquaryError(
        'CHAIN_UNSUPPORTED',
        'The runtime has no SubtensorModule.setWeights call.',
      )
    if (await commitRevealEnabled(api, netuid))
      throw new ReliquaryError(
        'CHAIN_UNSUPPORTED',
        `Subnet ${netuid} has commit-reveal of weights enabled; this SDK only sets weights in the clear.`,
        {
          hints: [
            'Run weight setting with the Bittensor SDK (it commits and reveals), or turn commit_reveal_weights_enabled off on a subnet you own.',
          ],
        },
      )
    if (versionKey !== undefined) return BigInt(versionKey)
    const q = subtensorStorage(api, 'weightsVersionKey')
    return q ? BigInt((await q(netuid)).toString()) : 0n
  })
  const out = await submitExtrinsic(
    client,
    hotkey,
    (api) => api.tx.subtensorModule!.setWeights!(netuid, [...uids], [...weights], key),
    `set_weights on netuid ${netuid}`,
    submit,
  )
  const event = out.events.find((e) => e.section === 'subtensorModule' && e.method === 'WeightsSet')
  if (!event)
    throw new ReliquaryError(
      'CHAIN_EXTRINSIC_INVALID',
      'set_weights was included but the block has no WeightsSet event.',
    )
  return Object.freeze({ blockHash: out.blockHash, versionKey: key, event: event.data })
}
