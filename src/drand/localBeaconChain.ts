import { bls12_381 } from '@noble/curves/bls12-381'
import { sha256 } from '@noble/hashes/sha2'
import { ReliquaryError, invalidArgument } from '../errors/base.js'
import { concatBytes, fromHex, toHex, utf8 } from '../_utils/bytes.js'
import type { BeaconSource, DrandBeaconInput, DrandChainInfo, VerifiedBeacon } from './beacon.js'
import { DRAND_SCHEMES, drandChainHash } from './chainInfo.js'
import { beaconMessage } from './verifyBeacon.js'
import { fetchVerifiedBeacon } from './_drandClient.js'

/** The scheme a local chain signs with: quicknet's. */
const LOCAL_SCHEME = 'bls-unchained-g1-rfc9380'

/** Parameters of {@link createLocalBeaconChain}. */
export type CreateLocalBeaconChainParameters = {
  /** 32-byte BLS secret key, a big-endian scalar in [1, r) (bytes or hex). A fresh random key when omitted. */
  secretKey?: Uint8Array | string | undefined
  /** Unix time (seconds) of round 1. */
  genesisTime: number
  /** Seconds between rounds (a positive integer, as drand's chain info holds it). */
  periodSeconds: number
  /** Clock in unix milliseconds; decides which rounds exist yet. @default Date.now */
  now?: (() => number) | undefined
  /** Beacon id written into the chain info (it enters the chain hash). @default 'reliquary-local' */
  beaconID?: string | undefined
}

/** A local drand-like chain: a {@link BeaconSource} plus what a test or a dev network needs. */
export type LocalBeaconChain = BeaconSource & {
  /** The chain info (quicknet scheme, this chain's own key and hash). */
  readonly info: DrandChainInfo
  /** A copy of the BLS secret key. Local chains only: anyone holding it can sign any round. */
  secretKey(): Uint8Array
  /** The newest round the clock allows (0 before genesis). */
  currentRound(): number
  /**
   * Signs `round` and returns it **unverified**, as a relay would serve it, for any round
   * including future ones (for tests that tamper with beacons or feed recorded sources).
   */
  rawBeacon(round: number): DrandBeaconInput
}

/**
 * Creates a local beacon chain that signs rounds exactly as drand quicknet does
 * (`bls-unchained-g1-rfc9380`: signature on G1 over `SHA256(BE64(round))`, key on G2, DST
 * `BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_`) with its own BLS key. Its `beacon` and `latest`
 * go through the same verification as every other source (`verifyBeacon`, then drand-client),
 * so local runs exercise the real verify path. Its chain hash is computed like drand's
 * (see `drandChainHash`), with a genesis seed derived from the public key.
 *
 * @param parameters - {@link CreateLocalBeaconChainParameters}.
 * @returns A frozen {@link LocalBeaconChain}. `beacon(round)` rejects with `DRAND_UNAVAILABLE` for
 *   a round the clock has not reached yet.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a bad secret key, genesis or period.
 * @example
 * ```ts
 * import { createLocalBeaconChain, windowRandomnessFromBeacon } from 'reliquary/drand'
 * const chain = createLocalBeaconChain({ genesisTime: Math.floor(Date.now() / 1000) - 60, periodSeconds: 3 })
 * const randomness = windowRandomnessFromBeacon(await chain.latest())
 * ```
 */
export function createLocalBeaconChain(
  parameters: CreateLocalBeaconChainParameters,
): LocalBeaconChain {
  const { genesisTime, periodSeconds } = parameters
  const now = parameters.now ?? Date.now
  if (!Number.isSafeInteger(genesisTime) || genesisTime < 0)
    throw invalidArgument('genesisTime', 'a non-negative integer (unix seconds)', genesisTime)
  if (!Number.isSafeInteger(periodSeconds) || periodSeconds < 1 || periodSeconds > 0xffffffff)
    throw invalidArgument('periodSeconds', 'a positive integer', periodSeconds)
  const beaconID = parameters.beaconID ?? 'reliquary-local'
  if (typeof beaconID !== 'string') throw invalidArgument('beaconID', 'a string', beaconID)

  let sk: Uint8Array
  if (parameters.secretKey === undefined) sk = bls12_381.utils.randomSecretKey()
  else {
    try {
      sk =
        typeof parameters.secretKey === 'string'
          ? fromHex(parameters.secretKey.replace(/^0x/i, ''), 'secretKey')
          : Uint8Array.from(parameters.secretKey)
    } catch {
      throw invalidArgument('secretKey', '32 bytes or 64 hex characters', '(redacted)')
    }
  }
  const S = bls12_381.shortSignatures
  // The key is a big-endian scalar that must already lie in [1, r): no silent reduction mod r.
  const scalar = sk.length === 32 ? BigInt(`0x${toHex(sk)}`) : 0n
  if (scalar < 1n || scalar >= bls12_381.fields.Fr.ORDER) {
    // Never echo the key itself.
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      '"secretKey" expected a 32-byte big-endian BLS12-381 scalar in [1, r).',
      { meta: { param: 'secretKey' } },
    )
  }
  const publicKey = toHex(S.getPublicKey(scalar).toBytes(true))
  const groupHash = toHex(
    sha256(concatBytes(utf8('reliquary-local-beacon-chain'), fromHex(publicKey))),
  )
  const base = {
    public_key: publicKey,
    period: periodSeconds,
    genesis_time: genesisTime,
    groupHash,
    metadata: { beaconID },
  }
  const info: DrandChainInfo = Object.freeze({
    ...base,
    hash: drandChainHash(base),
    schemeID: LOCAL_SCHEME,
    metadata: Object.freeze({ beaconID }),
  })
  const dst = DRAND_SCHEMES[LOCAL_SCHEME]!.dst

  const rawBeacon = (round: number): DrandBeaconInput => {
    if (!Number.isSafeInteger(round) || round < 1)
      throw invalidArgument('round', 'a positive integer', round)
    const signature = toHex(S.sign(S.hash(beaconMessage(round), dst), scalar).toBytes(true))
    return Object.freeze({ round, signature, randomness: toHex(sha256(fromHex(signature))) })
  }
  const currentRound = (): number => {
    const t = now() / 1000
    if (!Number.isFinite(t) || t < genesisTime) return 0
    return 1 + Math.floor((t - genesisTime) / periodSeconds)
  }
  const beacon = async (round: number): Promise<VerifiedBeacon> => {
    if (!Number.isSafeInteger(round) || round < 1)
      throw invalidArgument('round', 'a positive integer', round)
    const current = currentRound()
    if (round > current) {
      throw new ReliquaryError(
        'DRAND_UNAVAILABLE',
        `Round ${round} is not produced yet (current round ${current}).`,
        { meta: { round, current } },
      )
    }
    return fetchVerifiedBeacon(async (r) => rawBeacon(r), info, round)
  }
  return Object.freeze({
    info,
    chainInfo: async () => info,
    beacon,
    latest: async () => {
      const current = currentRound()
      if (current < 1)
        throw new ReliquaryError(
          'DRAND_UNAVAILABLE',
          'The local chain has not reached its genesis time yet.',
        )
      return beacon(current)
    },
    currentRound,
    rawBeacon,
    secretKey: () => Uint8Array.from(sk),
  })
}
