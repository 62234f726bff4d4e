import { ReliquaryError, describeValue } from '../errors/base.js'
import { isVerifiedBeacon, type VerifiedBeacon } from './beacon.js'
import { windowRandomnessE3 } from './windowRandomness.js'

/**
 * E3 window randomness from a verified beacon:
 * `hex(SHA256(drand_randomness ‖ BE64(round)))`, the value the validator publishes as
 * `/state.randomness` and the miner must hash with. Unlike {@link windowRandomnessE3}, which
 * hashes whatever hex it is given, this accepts only a beacon that came out of `verifyBeacon` (or
 * a `BeaconSource`), checked at run time, so unverified randomness cannot reach the GRAIL sketch.
 *
 * - Spec: docs/protocol.md §1.10 (E3, `b1213d2`).
 *
 * @param beacon - A {@link VerifiedBeacon}.
 * @param options - `chainHash`: when set, the beacon must have been verified against that chain.
 * @returns Lowercase hex (64 chars).
 * @throws {ReliquaryError} `DRAND_BEACON_NOT_VERIFIED` for anything not minted by `verifyBeacon`
 *   (including a look-alike object or a JSON copy); `DRAND_CHAIN_INFO_INVALID` if the beacon is
 *   from another chain than `chainHash`.
 * @example
 * ```ts
 * import { createHttpBeaconSource, windowRandomnessFromBeacon } from 'reliquary/drand'
 * const beacon = await createHttpBeaconSource().latest()
 * const randomness = windowRandomnessFromBeacon(beacon)
 * ```
 */
export function windowRandomnessFromBeacon(
  beacon: VerifiedBeacon,
  options: { chainHash?: string | undefined } = {},
): string {
  if (!isVerifiedBeacon(beacon)) {
    throw new ReliquaryError(
      'DRAND_BEACON_NOT_VERIFIED',
      `"beacon" must come out of verifyBeacon or a BeaconSource, received ${describeValue(beacon)}.`,
      {
        hints: [
          'Verify the beacon first: verifyBeacon(beacon, chainInfo), or fetch it from a BeaconSource.',
        ],
      },
    )
  }
  if (options.chainHash !== undefined && beacon.chainHash !== options.chainHash.toLowerCase()) {
    throw new ReliquaryError(
      'DRAND_CHAIN_INFO_INVALID',
      `The beacon was verified against chain ${beacon.chainHash}, not ${options.chainHash}.`,
      {
        meta: { expected: options.chainHash, received: beacon.chainHash },
      },
    )
  }
  return windowRandomnessE3(beacon.randomness, beacon.round)
}
