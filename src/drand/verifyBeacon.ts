// Verification uses @noble/curves' BLS12-381 directly rather than drand-client. drand-client
// does not export its verifier (only `fetchBeacon`, which is async, logs with console.error and
// throws one untyped error for every failure), and it cannot sign, which the local chain needs.
// Calling noble here gives one synchronous, silent function that can say which check failed,
// enforces canonical point encodings (so randomness = SHA-256(signature) cannot be malleated),
// and is the very code path the local chain's signatures go through. drand-client still
// verifies every beacon a source returns, as an independent second check (see _drandClient.ts),
// and the tests run both verifiers over the same real beacons.
import { bls12_381 } from '@noble/curves/bls12-381'
import { sha256 } from '@noble/hashes/sha2'
import { ReliquaryError, describeValue } from '../errors/base.js'
import { be64, concatBytes, fromHex, toHex } from '../_utils/bytes.js'
import {
  _markVerified,
  type DrandBeaconInput,
  type DrandChainInfo,
  type VerifiedBeacon,
} from './beacon.js'
import { schemeOf, type DrandScheme } from './chainInfo.js'

type G1Point = ReturnType<typeof bls12_381.G1.Point.fromBytes>
type G2Point = ReturnType<typeof bls12_381.G2.Point.fromBytes>

/** Compressed point sizes in bytes. */
const G1_BYTES = 48
const G2_BYTES = 96
const MAX_ROUND = Number.MAX_SAFE_INTEGER

/** Options of {@link verifyBeacon}. */
export type VerifyBeaconOptions = {
  /** When set, the beacon must be for this round (`DRAND_ROUND_MISMATCH` otherwise). */
  expectedRound?: number | undefined
}

function malformed(
  message: string,
  meta: Record<string, unknown>,
): ReliquaryError<'DRAND_BEACON_MALFORMED'> {
  return new ReliquaryError('DRAND_BEACON_MALFORMED', message, { meta })
}

function hexField(v: unknown, name: string, bytes?: number): Uint8Array {
  if (
    typeof v !== 'string' ||
    v.length === 0 ||
    v.length > 1024 ||
    v.length % 2 !== 0 ||
    !/^[0-9a-fA-F]+$/.test(v)
  ) {
    throw malformed(
      `Beacon "${name}" must be non-empty even-length hex, received ${describeValue(v)}.`,
      { field: name },
    )
  }
  if (bytes !== undefined && v.length !== bytes * 2) {
    throw malformed(
      `Beacon "${name}" must be ${bytes} bytes (compressed point), received ${v.length / 2}.`,
      { field: name },
    )
  }
  return fromHex(v.toLowerCase(), name)
}

/** Decodes a compressed point, insisting on the canonical encoding, a valid subgroup point and not the identity. */
function decodePoint(group: 'G1' | 'G2', bytes: Uint8Array): G1Point | G2Point {
  const P = group === 'G1' ? bls12_381.G1.Point : bls12_381.G2.Point
  const point = P.fromBytes(bytes) as G1Point | G2Point
  point.assertValidity()
  if (point.is0()) throw new Error('point at infinity')
  if (toHex(point.toBytes(true)) !== toHex(bytes)) throw new Error('non-canonical point encoding')
  return point
}

// Decoding a G2 key (with its subgroup check) costs milliseconds; chains are few, so cache them.
const keyCache = new Map<string, G1Point | G2Point>()

function chainKey(chainInfo: DrandChainInfo, scheme: DrandScheme): G1Point | G2Point {
  const keyGroup = scheme.signatureGroup === 'G1' ? 'G2' : 'G1'
  const hex = typeof chainInfo.public_key === 'string' ? chainInfo.public_key.toLowerCase() : ''
  const cacheKey = `${keyGroup}:${hex}`
  const hit = keyCache.get(cacheKey)
  if (hit) return hit
  const size = keyGroup === 'G1' ? G1_BYTES : G2_BYTES
  if (!/^[0-9a-f]*$/.test(hex) || hex.length !== size * 2) {
    throw new ReliquaryError(
      'DRAND_CHAIN_INFO_INVALID',
      `Chain "public_key" must be a ${size}-byte compressed ${keyGroup} point for scheme ${chainInfo.schemeID}.`,
      {
        meta: { field: 'public_key', schemeID: chainInfo.schemeID },
      },
    )
  }
  let key: G1Point | G2Point
  try {
    key = decodePoint(keyGroup, fromHex(hex, 'public_key'))
  } catch (e) {
    throw new ReliquaryError(
      'DRAND_CHAIN_INFO_INVALID',
      `Chain "public_key" is not a valid ${keyGroup} point.`,
      {
        meta: { field: 'public_key', schemeID: chainInfo.schemeID },
        cause: e,
      },
    )
  }
  if (keyCache.size >= 32) keyCache.delete(keyCache.keys().next().value as string)
  keyCache.set(cacheKey, key)
  return key
}

/**
 * The message a drand round signs: `SHA256(BE64(round))` on unchained schemes,
 * `SHA256(previous_signature ‖ BE64(round))` on chained ones.
 * @internal
 */
export function beaconMessage(round: number, previousSignature?: Uint8Array): Uint8Array {
  return sha256(previousSignature ? concatBytes(previousSignature, be64(round)) : be64(round))
}

/**
 * Verifies a drand beacon's BLS signature against a chain's public key and returns it as a
 * {@link VerifiedBeacon}, the only way to obtain one. For quicknet (`bls-unchained-g1-rfc9380`)
 * the signature is on G1, the key on G2, the message `SHA256(BE64(round))` and the DST
 * `BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_`. The mainnet schemes `pedersen-bls-chained`
 * (message `SHA256(previous_signature ‖ BE64(round))`) and `pedersen-bls-unchained` (signature
 * on G2, key on G1) and the older `bls-unchained-on-g1` are verified too.
 *
 * Points must be compressed, canonical, in the prime-order subgroup and not the identity. The
 * randomness is recomputed as SHA-256 of the signature; a `randomness` field, when present (the v1
 * HTTP API has it, v2 does not), must equal it.
 *
 * - Spec: docs/protocol.md §1.10 (the reference only compared signatures across relays; this is the
 *   real BLS check it recommends).
 *
 * @param beacon - Untrusted beacon, as a relay serves it.
 * @param chainInfo - The chain; only `public_key`, `schemeID` and `hash` are read. Pin it (see
 *   `assertChainInfo`): the key is the trust anchor.
 * @param options - {@link VerifyBeaconOptions}.
 * @returns A frozen {@link VerifiedBeacon} (hex lowercased).
 * @throws {ReliquaryError} `DRAND_BEACON_MALFORMED` (shape, hex, lengths),
 *   `DRAND_ROUND_MISMATCH` (not `expectedRound`), `DRAND_RANDOMNESS_MISMATCH`,
 *   `DRAND_SIGNATURE_INVALID` (not a valid point, or the pairing check fails),
 *   `DRAND_CHAIN_INFO_INVALID` (bad public key), `DRAND_SCHEME_UNSUPPORTED`.
 * @example
 * ```ts
 * import { verifyBeacon, QUICKNET_CHAIN_INFO } from 'reliquary/drand'
 * const beacon = verifyBeacon(await (await fetch(url)).json(), QUICKNET_CHAIN_INFO, { expectedRound: 1000 })
 * beacon.randomness // hex SHA-256 of the signature
 * ```
 */
export function verifyBeacon(
  beacon: DrandBeaconInput,
  chainInfo: DrandChainInfo,
  options: VerifyBeaconOptions = {},
): VerifiedBeacon {
  if (typeof chainInfo !== 'object' || chainInfo === null) {
    throw new ReliquaryError(
      'DRAND_CHAIN_INFO_INVALID',
      `"chainInfo" must be a drand chain info object, received ${describeValue(chainInfo)}.`,
    )
  }
  const scheme = schemeOf(chainInfo.schemeID)
  // The hash is copied into the verified beacon as text: anything but a bounded string (or
  // nothing) would crash or bloat String() there.
  const hash: unknown = chainInfo.hash
  if (hash !== undefined && (typeof hash !== 'string' || hash.length > 1024)) {
    throw new ReliquaryError(
      'DRAND_CHAIN_INFO_INVALID',
      `"chainInfo.hash" must be a hex string, received ${describeValue(hash)}.`,
    )
  }
  if (typeof beacon !== 'object' || beacon === null)
    throw malformed(`A beacon must be an object, received ${describeValue(beacon)}.`, {})
  const { round } = beacon
  if (typeof round !== 'number' || !Number.isSafeInteger(round) || round < 1 || round > MAX_ROUND) {
    throw malformed(
      `Beacon "round" must be a positive integer, received ${describeValue(round)}.`,
      { field: 'round' },
    )
  }
  if (options.expectedRound !== undefined && round !== options.expectedRound) {
    throw new ReliquaryError(
      'DRAND_ROUND_MISMATCH',
      `Expected a beacon for round ${options.expectedRound}, received round ${round}.`,
      {
        meta: { expected: options.expectedRound, received: round },
      },
    )
  }
  const sigBytes = hexField(
    beacon.signature,
    'signature',
    scheme.signatureGroup === 'G1' ? G1_BYTES : G2_BYTES,
  )
  let previous: Uint8Array | undefined
  if (scheme.chained) previous = hexField(beacon.previous_signature, 'previous_signature')

  const randomness = toHex(sha256(sigBytes))
  if (beacon.randomness !== undefined) {
    const claimed = hexField(beacon.randomness, 'randomness', 32)
    if (toHex(claimed) !== randomness) {
      throw new ReliquaryError(
        'DRAND_RANDOMNESS_MISMATCH',
        `Beacon ${round}: "randomness" is not SHA-256 of the signature.`,
        {
          meta: { round, expected: randomness, received: toHex(claimed) },
        },
      )
    }
  }

  const key = chainKey(chainInfo, scheme)
  let ok: boolean
  try {
    const sig = decodePoint(scheme.signatureGroup, sigBytes)
    const msg = beaconMessage(round, previous)
    if (scheme.signatureGroup === 'G1') {
      const S = bls12_381.shortSignatures
      ok = S.verify(sig as G1Point, S.hash(msg, scheme.dst), key as G2Point)
    } else {
      const L = bls12_381.longSignatures
      ok = L.verify(sig as G2Point, L.hash(msg, scheme.dst), key as G1Point)
    }
  } catch (e) {
    throw new ReliquaryError(
      'DRAND_SIGNATURE_INVALID',
      `Beacon ${round}: the signature is not a valid ${scheme.signatureGroup} point.`,
      {
        meta: { round, schemeID: chainInfo.schemeID, reason: 'not_a_point' },
        cause: e,
      },
    )
  }
  if (!ok) {
    throw new ReliquaryError(
      'DRAND_SIGNATURE_INVALID',
      `Beacon ${round}: the BLS signature does not verify against the chain public key.`,
      {
        hints: [
          'The round, signature or previous signature was altered, or the beacon is from another chain.',
        ],
        meta: { round, schemeID: chainInfo.schemeID, chainHash: chainInfo.hash, reason: 'pairing' },
      },
    )
  }
  const out = Object.freeze({
    round,
    signature: toHex(sigBytes),
    randomness,
    ...(previous ? { previousSignature: toHex(previous) } : {}),
    chainHash: String(chainInfo.hash),
    schemeID: chainInfo.schemeID,
    verified: true as const,
  }) as VerifiedBeacon
  _markVerified(out)
  return out
}
