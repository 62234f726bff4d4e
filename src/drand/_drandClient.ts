import { fetchBeacon, type ChainClient, type ChainInfo, type RandomnessBeacon } from 'drand-client'
import { ReliquaryError, isReliquaryError } from '../errors/base.js'
import type { DrandBeaconInput, DrandChainInfo, VerifiedBeacon } from './beacon.js'
import { verifyBeacon } from './verifyBeacon.js'

/**
 * Fetches one round through drand-client's `fetchBeacon`, over a `ChainClient` whose `get` runs
 * the raw beacon through our {@link verifyBeacon} first. Every source uses this, so a beacon is
 * returned only when both verifiers accept it:
 *
 * - ours runs first and throws typed `DRAND_*` errors, which drand-client passes through
 *   untouched (it just awaits `get`);
 * - drand-client then re-verifies the normalised beacon. Because ours already checked the round,
 *   the randomness and the beacon's shape for the scheme, none of drand-client's `console.error`
 *   paths can be reached; if its pairing check still disagrees, that is reported as
 *   `DRAND_SIGNATURE_INVALID`, never logged.
 *
 * @internal
 */
export async function fetchVerifiedBeacon(
  getRaw: (round: number) => Promise<DrandBeaconInput>,
  chainInfo: DrandChainInfo,
  round: number,
): Promise<VerifiedBeacon> {
  let verified: VerifiedBeacon | undefined
  const client: ChainClient = {
    options: { disableBeaconVerification: false, noCache: false },
    chain: () => ({ baseUrl: 'reliquary:beacon-source', info: async () => chainInfo as ChainInfo }),
    latest: () => Promise.reject(new Error('not used')),
    get: async (r: number): Promise<RandomnessBeacon> => {
      let raw: DrandBeaconInput
      try {
        raw = await getRaw(r)
      } catch (e) {
        // Transport failures must not be mistaken below for drand-client rejecting a beacon.
        if (isReliquaryError(e)) throw e
        throw new ReliquaryError('DRAND_UNAVAILABLE', `Beacon ${r} could not be fetched.`, {
          meta: { round: r },
          cause: e,
        })
      }
      verified = verifyBeacon(raw, chainInfo, { expectedRound: r })
      // The shape drand-client's type guards expect: previous_signature only on chained beacons.
      return {
        round: verified.round,
        signature: verified.signature,
        randomness: verified.randomness,
        ...(verified.previousSignature !== undefined
          ? { previous_signature: verified.previousSignature }
          : {}),
      } as RandomnessBeacon
    },
  }
  try {
    await fetchBeacon(client, round)
  } catch (e) {
    if (isReliquaryError(e)) throw e
    throw new ReliquaryError(
      'DRAND_SIGNATURE_INVALID',
      `Beacon ${round}: drand-client rejected a beacon that verifyBeacon accepted.`,
      {
        hints: ['The two BLS verifiers disagree; treat the beacon as invalid and report it.'],
        meta: { round, reason: 'drand_client_rejected' },
        cause: e,
      },
    )
  }
  if (!verified)
    throw new ReliquaryError('DRAND_UNAVAILABLE', `Beacon ${round}: no beacon was produced.`)
  return verified
}
