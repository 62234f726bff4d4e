import type { ApiPromise } from '@polkadot/api'
import type { DispatchError } from '@polkadot/types/interfaces'
import { ReliquaryError } from '../errors/base.js'

/** Hints for the subtensor module errors a validator or miner meets; others get a generic hint. */
const HINTS: Readonly<Record<string, string>> = Object.freeze({
  NoValidatorPermit:
    'This hotkey has no validator permit on the subnet: permits go to the top max_allowed_validators by stake at each epoch. Add stake, wait for the next epoch, and retry.',
  SettingWeightsTooFast:
    'weights_set_rate_limit blocks have not passed since this hotkey last set weights; the weights setter retries at the next epoch.',
  NotRegistered:
    'The hotkey has no uid on this subnet. Register it (btcli subnet register) or check --netuid.',
  HotKeyNotRegisteredInSubNet:
    'The hotkey has no uid on this subnet. Register it (btcli subnet register) or check --netuid.',
  NetworkDoesNotExist:
    'No subnet with this netuid exists on this chain; check --netuid and --chain.',
  SubNetworkDoesNotExist:
    'No subnet with this netuid exists on this chain; check --netuid and --chain.',
  IncorrectNetworkVersionKey:
    'The version key is below the subnet weights_version_key; pass a versionKey at least that large.',
  IncorrectWeightVersionKey:
    'The version key is below the subnet weights_version_key; pass a versionKey at least that large.',
  InvalidIpAddress:
    'The chain refuses this axon address (0.0.0.0 and 127.0.0.1 are invalid); announce an address miners can reach.',
  ServingRateLimitExceeded:
    'serve_axon was called too recently for this hotkey; wait serving_rate_limit blocks.',
  NotSettingEnoughWeights:
    'The subnet min_allowed_weights requires more non-zero weights than were given.',
  MaxWeightExceeded: 'A weight exceeds the subnet max_weight_limit.',
  CommitRevealEnabled:
    'This subnet has commit-reveal of weights on; weights must be committed, not set in the clear.',
})

/**
 * Turns a `DispatchError` from extrinsic events into a typed `CHAIN_MODULE_ERROR` that names the
 * pallet error (`SubtensorModule.NoValidatorPermit`, …), with the runtime's own docs and a hint.
 *
 * @param api - The API the extrinsic ran on (its metadata decodes the error).
 * @param error - `dispatchError` of the extrinsic result.
 * @param label - What was submitted, for the message.
 * @returns The error to throw or log; `meta.section` and `meta.name` hold the decoded names.
 */
export function decodeChainError(
  api: ApiPromise,
  error: DispatchError,
  label: string,
): ReliquaryError<'CHAIN_MODULE_ERROR'> {
  let section = 'system'
  let name: string = error.type
  let docs = ''
  if (error.isModule) {
    try {
      const meta = api.registry.findMetaError(error.asModule)
      section = meta.section
      name = meta.name
      docs = meta.docs.join(' ').trim()
    } catch {
      name = `module error ${error.asModule.toString()}`
    }
  }
  const pallet = section.charAt(0).toUpperCase() + section.slice(1)
  return new ReliquaryError('CHAIN_MODULE_ERROR', `${label} failed on chain: ${pallet}.${name}.`, {
    hints: [HINTS[name] ?? 'See the runtime documentation of this error.'],
    ...(docs ? { details: docs.slice(0, 500) } : {}),
    meta: { section, name },
  })
}
