import { sha256 } from '@noble/hashes/sha2'
import { ReliquaryError, describeValue } from '../errors/base.js'
import { concatBytes, fromHex, toHex, utf8 } from '../_utils/bytes.js'
import type { DrandChainInfo } from './beacon.js'

/** Hash-to-curve DST of signatures on G2 (drand's chained and unchained mainnet schemes). */
const DST_G2 = 'BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_NUL_'
/** Hash-to-curve DST of RFC 9380 signatures on G1 (quicknet). */
const DST_G1 = 'BLS_SIG_BLS12381G1_XMD:SHA-256_SSWU_RO_NUL_'

/** How one drand scheme signs a round. @internal */
export type DrandScheme = {
  /** Group of the signature; the public key lives in the other group. */
  readonly signatureGroup: 'G1' | 'G2'
  /** Chained schemes sign SHA-256(previous_signature ‖ BE64(round)); unchained SHA-256(BE64(round)). */
  readonly chained: boolean
  /** Hash-to-curve domain separation tag. */
  readonly dst: string
}

/**
 * The BLS12-381 schemes drand has run (drand `crypto/schemes.go`; drand-client
 * `beacon-verification.ts`). `bls-unchained-on-g1` signs on G1 but kept the G2 DST by mistake;
 * `bls-unchained-g1-rfc9380` (quicknet) fixed it. The BN254 scheme is not supported.
 * @internal
 */
export const DRAND_SCHEMES: Readonly<Record<string, DrandScheme>> = /*#__PURE__*/ Object.freeze({
  'pedersen-bls-chained': Object.freeze({ signatureGroup: 'G2', chained: true, dst: DST_G2 }),
  'pedersen-bls-unchained': Object.freeze({ signatureGroup: 'G2', chained: false, dst: DST_G2 }),
  'bls-unchained-on-g1': Object.freeze({ signatureGroup: 'G1', chained: false, dst: DST_G2 }),
  'bls-unchained-g1-rfc9380': Object.freeze({ signatureGroup: 'G1', chained: false, dst: DST_G1 }),
} as const)

/** The drand signature schemes {@link verifyBeacon} can verify. */
export const SUPPORTED_DRAND_SCHEMES: readonly string[] = /*#__PURE__*/ Object.freeze(
  Object.keys(DRAND_SCHEMES),
)

/** Looks up a scheme or throws `DRAND_SCHEME_UNSUPPORTED`. @internal */
export function schemeOf(schemeID: unknown): DrandScheme {
  const s =
    typeof schemeID === 'string' && Object.hasOwn(DRAND_SCHEMES, schemeID)
      ? DRAND_SCHEMES[schemeID]
      : undefined
  if (!s) {
    throw new ReliquaryError(
      'DRAND_SCHEME_UNSUPPORTED',
      `drand scheme ${describeValue(schemeID)} is not supported.`,
      {
        hints: [`Supported schemes: ${SUPPORTED_DRAND_SCHEMES.join(', ')}.`],
        meta: { schemeID },
      },
    )
  }
  return s
}

/**
 * The drand quicknet chain (`bls-unchained-g1-rfc9380`, 3 s rounds), the chain the protocol uses
 * (docs/protocol.md §1.10). Public values from drand's `/info` (also drand-client's
 * `QUICKNET_CHAIN_INFO`); its `hash` recomputes from the other fields (see {@link drandChainHash}),
 * and the E3 profile's `drand` numbers must agree with it (checked by the tests).
 */
export const QUICKNET_CHAIN_INFO: DrandChainInfo = /*#__PURE__*/ Object.freeze({
  public_key:
    '83cf0f2896adee7eb8b5f01fcad3912212c437e0073e911fb90022d3e760183c8c4b450b6a0a6c3ac6a5776a2d1064510d1fec758c921cc22b0e17e63aaf4bcb5ed66304de9cf809bd274ca73bab4af5a6e9c76a4bc09e76eae8991ef5ece45a',
  period: 3,
  genesis_time: 1692803367,
  hash: '52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971',
  groupHash: 'f477d5c89f21a17c863a7f937c6a6d15859414d2be09cd448d4279af331c5d3e',
  schemeID: 'bls-unchained-g1-rfc9380',
  metadata: Object.freeze({ beaconID: 'quicknet' }),
})

/** Chains whose full info the SDK knows, by hash: a relay's `/info` for these must match exactly. @internal */
export const KNOWN_CHAINS: ReadonlyMap<string, DrandChainInfo> = /*#__PURE__*/ new Map([
  [QUICKNET_CHAIN_INFO.hash, QUICKNET_CHAIN_INFO],
])

const HEX64 = /^[0-9a-f]{64}$/

function bad(
  message: string,
  meta: Record<string, unknown>,
  cause?: unknown,
): ReliquaryError<'DRAND_CHAIN_INFO_INVALID'> {
  return new ReliquaryError('DRAND_CHAIN_INFO_INVALID', message, { meta, cause })
}

/**
 * The drand chain hash of a chain info, as drand computes it (`chain.Info.Hash`):
 * `SHA256( BE32(period) ‖ BE64(genesis_time) ‖ public_key ‖ groupHash ‖ beaconID )`, where the
 * beacon id is omitted when it is empty or `"default"`. The scheme id is **not** hashed. Because
 * the hash commits to the public key, pinning the chain hash (the profile's `drand.chainHash`)
 * is enough to authenticate a relay's `/info`.
 *
 * @param info - Chain info; only period, genesis_time, public_key, groupHash and beaconID are read.
 * @returns Lowercase hex.
 * @throws {ReliquaryError} `DRAND_CHAIN_INFO_INVALID` if those fields are malformed.
 * @example
 * ```ts
 * import { drandChainHash, QUICKNET_CHAIN_INFO } from 'reliquary/drand'
 * drandChainHash(QUICKNET_CHAIN_INFO) === QUICKNET_CHAIN_INFO.hash // true
 * ```
 */
export function drandChainHash(
  info: Pick<DrandChainInfo, 'period' | 'genesis_time' | 'public_key' | 'groupHash' | 'metadata'>,
): string {
  if (typeof info !== 'object' || info === null) throw bad('Chain info must be an object.', {})
  const { period, genesis_time: genesis } = info
  if (!Number.isSafeInteger(period) || period <= 0 || period > 0xffffffff)
    throw bad(`Chain "period" must be a positive integer, received ${describeValue(period)}.`, {
      field: 'period',
    })
  if (!Number.isSafeInteger(genesis))
    throw bad(`Chain "genesis_time" must be an integer, received ${describeValue(genesis)}.`, {
      field: 'genesis_time',
    })
  let pk: Uint8Array
  let seed: Uint8Array
  try {
    pk = fromHex(String(info.public_key).toLowerCase(), 'public_key')
    seed = fromHex(String(info.groupHash).toLowerCase(), 'groupHash')
  } catch (e) {
    throw bad('Chain "public_key" or "groupHash" is not hex.', { field: 'public_key' }, e)
  }
  const beaconID = info.metadata?.beaconID
  if (beaconID !== undefined && typeof beaconID !== 'string')
    throw bad('Chain "metadata.beaconID" must be a string.', { field: 'metadata.beaconID' })
  const head = new Uint8Array(12)
  const view = new DataView(head.buffer)
  view.setUint32(0, period)
  view.setBigInt64(4, BigInt(genesis))
  const id =
    beaconID === undefined || beaconID === '' || beaconID === 'default'
      ? new Uint8Array(0)
      : utf8(beaconID)
  return toHex(sha256(concatBytes(head, pk, seed, id)))
}

/**
 * Checks a chain info before it is trusted: well-formed fields, a supported scheme, a `hash` that
 * recomputes from the other fields, and, when `chainHash` is given, that it is that chain. For a
 * chain the SDK knows (quicknet) every field must also equal the built-in value (the scheme id is
 * not covered by the hash). Point validity of the key is checked by `verifyBeacon`.
 *
 * @param info - Untrusted chain info (e.g. a relay's `/info` response).
 * @param options - `chainHash`: the hash to pin (lowercase hex).
 * @returns A frozen copy with lowercase hex.
 * @throws {ReliquaryError} `DRAND_CHAIN_INFO_INVALID` or `DRAND_SCHEME_UNSUPPORTED`.
 * @example
 * ```ts
 * import { assertChainInfo, QUICKNET_CHAIN_INFO } from 'reliquary/drand'
 * assertChainInfo(relayInfo, { chainHash: QUICKNET_CHAIN_INFO.hash })
 * ```
 */
export function assertChainInfo(
  info: unknown,
  options: { chainHash?: string | undefined } = {},
): DrandChainInfo {
  if (typeof info !== 'object' || info === null)
    throw bad(`Chain info must be an object, received ${describeValue(info)}.`, {})
  const i = info as Record<string, unknown>
  const meta = i.metadata
  const beaconID =
    typeof meta === 'object' && meta !== null
      ? (meta as Record<string, unknown>).beaconID
      : undefined
  if (
    typeof i.public_key !== 'string' ||
    typeof i.groupHash !== 'string' ||
    typeof i.hash !== 'string'
  ) {
    throw bad('Chain info needs string "public_key", "groupHash" and "hash".', {})
  }
  if (typeof beaconID !== 'string')
    throw bad('Chain info needs a string "metadata.beaconID".', { field: 'metadata.beaconID' })
  schemeOf(i.schemeID)
  const out: DrandChainInfo = Object.freeze({
    public_key: i.public_key.toLowerCase(),
    period: i.period as number,
    genesis_time: i.genesis_time as number,
    hash: i.hash.toLowerCase(),
    groupHash: i.groupHash.toLowerCase(),
    schemeID: i.schemeID as string,
    metadata: Object.freeze({ beaconID }),
  })
  if (!HEX64.test(out.hash)) throw bad('Chain "hash" must be 32-byte hex.', { field: 'hash' })
  const recomputed = drandChainHash(out)
  if (recomputed !== out.hash) {
    throw bad(
      'Chain "hash" does not match the chain info it comes with.',
      { field: 'hash', expected: recomputed, received: out.hash },
      undefined,
    )
  }
  if (options.chainHash !== undefined && out.hash !== options.chainHash.toLowerCase()) {
    throw bad(
      `The chain info is for chain ${out.hash}, not the pinned chain ${options.chainHash}.`,
      { field: 'hash', expected: options.chainHash, received: out.hash },
    )
  }
  const known = KNOWN_CHAINS.get(out.hash)
  if (known) {
    for (const k of ['public_key', 'period', 'genesis_time', 'groupHash', 'schemeID'] as const) {
      if (known[k] !== out[k])
        throw bad(`Chain info field "${k}" differs from the known value for chain ${out.hash}.`, {
          field: k,
        })
    }
  }
  return out
}
