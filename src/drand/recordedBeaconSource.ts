import { ReliquaryError, describeValue, invalidArgument } from '../errors/base.js'
import type { BeaconSource, DrandBeaconInput, DrandChainInfo, VerifiedBeacon } from './beacon.js'
import { assertChainInfo } from './chainInfo.js'
import { fetchVerifiedBeacon } from './_drandClient.js'

/** Parameters of {@link createRecordedBeaconSource}. */
export type CreateRecordedBeaconSourceParameters = {
  /** The chain the beacons belong to. Its public key is what every beacon is verified against. */
  chainInfo: DrandChainInfo
  /** Recorded beacons, untrusted (e.g. an archive, a fixture file). One per round. */
  beacons: readonly DrandBeaconInput[]
  /**
   * When set, `chainInfo` must be that chain: its hash must recompute from its fields and equal
   * this value (see `assertChainInfo`). Leave unset only when `chainInfo` itself is trusted.
   */
  chainHash?: string | undefined
}

/**
 * A {@link BeaconSource} over recorded beacons (an archive, test fixtures): offline, and every
 * beacon is BLS-verified when it is served, never when it is recorded, so a tampered recording
 * is refused at use.
 *
 * @param parameters - {@link CreateRecordedBeaconSourceParameters}.
 * @returns A frozen source; `beacon(round)` rejects with `DRAND_UNAVAILABLE` for a round that was
 *   not recorded, and with the `DRAND_*` verification codes for a recorded beacon that fails.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a malformed list or duplicate rounds;
 *   `DRAND_CHAIN_INFO_INVALID` when `chainHash` is set and the chain info does not match it.
 * @example
 * ```ts
 * import { createRecordedBeaconSource, QUICKNET_CHAIN_INFO } from 'reliquary/drand'
 * const source = createRecordedBeaconSource({ chainInfo: QUICKNET_CHAIN_INFO, beacons: archived })
 * const beacon = await source.beacon(30662982)
 * ```
 */
export function createRecordedBeaconSource(
  parameters: CreateRecordedBeaconSourceParameters,
): BeaconSource {
  const { beacons } = parameters
  const chainInfo =
    parameters.chainHash !== undefined
      ? assertChainInfo(parameters.chainInfo, { chainHash: parameters.chainHash })
      : parameters.chainInfo
  if (typeof chainInfo !== 'object' || chainInfo === null)
    throw invalidArgument('chainInfo', 'a drand chain info object', chainInfo)
  if (!Array.isArray(beacons)) throw invalidArgument('beacons', 'an array of beacons', beacons)
  const byRound = new Map<number, DrandBeaconInput>()
  for (const b of beacons as readonly unknown[]) {
    const round = typeof b === 'object' && b !== null ? (b as { round?: unknown }).round : undefined
    if (typeof round !== 'number' || !Number.isSafeInteger(round) || round < 1)
      throw invalidArgument('beacons[].round', 'a positive integer', round)
    if (byRound.has(round))
      throw invalidArgument('beacons', 'one beacon per round', `duplicate round ${round}`)
    byRound.set(round, b as DrandBeaconInput)
  }
  const beacon = (round: number): Promise<VerifiedBeacon> => {
    const raw = byRound.get(round)
    if (raw === undefined) {
      return Promise.reject(
        new ReliquaryError('DRAND_UNAVAILABLE', `Round ${describeValue(round)} was not recorded.`, {
          meta: { round },
        }),
      )
    }
    return fetchVerifiedBeacon(async () => raw, chainInfo, round)
  }
  return Object.freeze({
    chainInfo: async () => chainInfo,
    beacon,
    latest: () => {
      if (byRound.size === 0)
        return Promise.reject(
          new ReliquaryError('DRAND_UNAVAILABLE', 'The recording holds no beacons.'),
        )
      return beacon(Math.max(...byRound.keys()))
    },
  })
}
