/**
 * drand beacon types: the chain description, the raw (untrusted) beacon as relays serve it, the
 * {@link VerifiedBeacon} that only BLS verification produces, and the {@link BeaconSource}
 * interface every source (HTTP relays, recorded beacons, a local chain) implements.
 */

/**
 * A drand chain as its relays describe it at `GET /{chainHash}/info` (the same shape as
 * drand-client's `ChainInfo`). The public key is the trust anchor: pin it (or pin the chain hash,
 * which commits to it; see `drandChainHash`).
 */
export type DrandChainInfo = {
  /** Hex BLS12-381 public key of the group (G2 for quicknet, G1 for the mainnet default chain). */
  readonly public_key: string
  /** Seconds between rounds. */
  readonly period: number
  /** Unix time (seconds) of the chain's genesis. Round 1 is published at this time. */
  readonly genesis_time: number
  /** Hex chain hash: SHA-256 of period, genesis, public key, genesis seed and beacon id. */
  readonly hash: string
  /** Hex genesis seed (`groupHash`). */
  readonly groupHash: string
  /** Signature scheme, e.g. `bls-unchained-g1-rfc9380` (quicknet). */
  readonly schemeID: string
  readonly metadata: { readonly beaconID: string }
}

/**
 * A beacon as a relay or a recording gives it: untrusted. `randomness` is optional because the v2
 * HTTP API omits it (it is always SHA-256 of the signature); `previous_signature` is present only
 * on chained schemes.
 */
export type DrandBeaconInput = {
  readonly round: number
  readonly signature: string
  readonly randomness?: string | undefined
  readonly previous_signature?: string | undefined
}

declare const verifiedBeaconBrand: unique symbol

/**
 * A beacon whose BLS signature was checked against a chain public key. Values of this type are
 * only ever created by `verifyBeacon` (and by the sources, which call it); they are frozen, and
 * the SDK also tracks them at run time, so a look-alike object (a cast, a JSON round trip) is
 * refused by functions that require a verified beacon (see `isVerifiedBeacon`).
 */
export type VerifiedBeacon = {
  /** The round the signature covers. */
  readonly round: number
  /** Lowercase hex of the compressed BLS signature. */
  readonly signature: string
  /** Lowercase hex of SHA-256(signature bytes): the round's randomness. */
  readonly randomness: string
  /** Lowercase hex of the previous round's signature (chained schemes only). */
  readonly previousSignature?: string | undefined
  /** `hash` of the chain info the beacon was verified against. */
  readonly chainHash: string
  /** Signature scheme of that chain. */
  readonly schemeID: string
  /** Always true: the signature verified. */
  readonly verified: true
  readonly [verifiedBeaconBrand]: true
}

/**
 * Where verified beacons come from. Every method returns only beacons that passed BLS
 * verification against the source's chain info; a beacon that fails is never returned.
 */
export interface BeaconSource {
  /** The chain the source serves (after any pinning check the source performs). */
  chainInfo(): Promise<DrandChainInfo>
  /** The verified beacon of `round`. Rejects with a `DRAND_*` `ReliquaryError` otherwise. */
  beacon(round: number): Promise<VerifiedBeacon>
  /** The newest verified beacon the source can serve. */
  latest(): Promise<VerifiedBeacon>
}

// Run-time registry of the beacons verifyBeacon minted. A WeakSet (not a global symbol) so no
// other code can add to it; the cost is that a beacon verified by a second copy of the package
// (ESM and CJS side by side) must be verified again by this copy.
const minted = new WeakSet<object>()

/** Records a beacon as verified. Only `verifyBeacon` calls this. @internal */
export function _markVerified(b: object): void {
  minted.add(b)
}

/**
 * True when `value` is a {@link VerifiedBeacon} produced by this SDK's `verifyBeacon` (or a
 * source). A plain object with the same fields, or a deserialised copy, is not: verify it again.
 *
 * @param value - Anything.
 * @returns Whether the value came out of BLS verification.
 * @example
 * ```ts
 * import { isVerifiedBeacon } from 'reliquary/drand'
 * isVerifiedBeacon({ round: 1, signature: 'aa', randomness: 'bb', verified: true }) // false
 * ```
 */
export function isVerifiedBeacon(value: unknown): value is VerifiedBeacon {
  return typeof value === 'object' && value !== null && minted.has(value)
}
