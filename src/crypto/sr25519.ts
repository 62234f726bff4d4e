import { Keyring } from '@polkadot/keyring'
import type { KeyringPair } from '@polkadot/keyring/types'
import { u8aWrapBytes } from '@polkadot/util'
import { isReady as wasmReady, sr25519Verify as wasmSr25519Verify } from '@polkadot/wasm-crypto'
import {
  cryptoWaitReady,
  decodeAddress,
  encodeAddress,
  mnemonicValidate,
  sr25519Verify,
} from '@polkadot/util-crypto'
import { ReliquaryError } from '../errors/base.js'
import { fromHex, toHex } from '../_utils/bytes.js'

/** SS58 prefix of Bittensor addresses (generic substrate, 42). */
export const SS58_PREFIX = 42

/** A Bittensor hotkey able to sign: sr25519, "substrate" signing context. */
export type Hotkey = {
  /** SS58 address (prefix 42). */
  readonly address: string
  /** 32-byte public key. */
  readonly publicKey: Uint8Array
  /** Signs raw message bytes; returns a 64-byte sr25519 signature. */
  sign(message: Uint8Array): Uint8Array
}

/**
 * Makes the crypto backend ready (sr25519 needs its wasm/JS engine initialised once). Every
 * signing and verifying function awaits it, so calling it yourself is optional.
 */
export async function ensureCryptoReady(): Promise<void> {
  await cryptoWaitReady()
}

/**
 * Creates a hotkey from a secret URI (`//Alice`, a mnemonic, or `0x`-prefixed 32-byte seed hex),
 * as `btcli`/polkadot-js derive it.
 *
 * @param secretUri - Dev URI, mnemonic phrase or seed hex. Never logged.
 * @throws {ReliquaryError} `SIGNATURE_INVALID_KEY` if it cannot be decoded.
 * @example
 * ```ts
 * import { createHotkey } from 'reliquary'
 * const hotkey = await createHotkey('//Alice')
 * hotkey.address // 5GrwvaEF…
 * ```
 */
export async function createHotkey(secretUri: string): Promise<Hotkey> {
  await cryptoWaitReady()
  let pair: KeyringPair
  try {
    // polkadot-js would turn any short non-mnemonic phrase into a raw seed, so a mistyped
    // mnemonic would silently become another key. Accept only dev URIs, seed hex or a valid
    // BIP-39 phrase (each optionally followed by a derivation path).
    const phrase = typeof secretUri === 'string' ? (secretUri.split('/')[0] ?? '').trim() : ''
    if (
      typeof secretUri !== 'string' ||
      !(phrase === '' || /^0x[0-9a-fA-F]{64}$/.test(phrase) || mnemonicValidate(phrase))
    ) {
      throw new Error('not a dev URI, seed hex or BIP-39 mnemonic')
    }
    pair = new Keyring({ type: 'sr25519', ss58Format: SS58_PREFIX }).addFromUri(secretUri)
  } catch (e) {
    throw new ReliquaryError('SIGNATURE_INVALID_KEY', 'The hotkey secret could not be decoded.', {
      hints: ['Pass a dev URI (//Alice), a BIP-39 mnemonic, or 0x-prefixed 32-byte seed hex.'],
      cause: e,
    })
  }
  return Object.freeze({
    address: pair.address,
    publicKey: pair.publicKey,
    sign: (m: Uint8Array) => pair.sign(m),
  })
}

/** Most addresses {@link hotkeyPublicKey} remembers; it starts over when full (bounded memory). */
const MAX_DECODED_KEYS = 4096
const decodedKeys = new Map<string, Uint8Array>()

/**
 * Decodes an SS58 address to its 32-byte public key (a copy the caller owns). Base58 and the
 * blake2b checksum cost more than the rest of an envelope check, so recent addresses are
 * remembered.
 * @throws {ReliquaryError} `SIGNATURE_INVALID_KEY` for a malformed address.
 */
export function hotkeyPublicKey(address: string): Uint8Array {
  try {
    if (typeof address !== 'string' || address.length > 64) throw new Error('not an address')
    const known = decodedKeys.get(address)
    if (known) return known.slice()
    const pk = decodeAddress(address)
    if (pk.length !== 32) throw new Error('not a 32-byte key')
    if (decodedKeys.size >= MAX_DECODED_KEYS) decodedKeys.clear()
    decodedKeys.set(address, pk.slice())
    return pk
  } catch (e) {
    throw new ReliquaryError(
      'SIGNATURE_INVALID_KEY',
      'The hotkey address is not a valid SS58 address.',
      { cause: e },
    )
  }
}

/** SS58 address (prefix 42) of a 32-byte public key. */
export function hotkeyAddress(publicKey: Uint8Array): string {
  return encodeAddress(publicKey, SS58_PREFIX)
}

/**
 * Verifies an sr25519 signature by a hotkey over `message`, the way Bittensor's `Keypair.verify`
 * does: first over the raw bytes, then over `<Bytes>message</Bytes>` (polkadot-js `signRaw`
 * wrapping). Never throws: malformed signatures, addresses or hex give `false`.
 *
 * - Spec: docs/protocol.md §3.5.
 *
 * @param message - The signed bytes (a 32-byte digest for commits and envelopes).
 * @param signature - 64-byte signature, as bytes or hex (with or without `0x`).
 * @param hotkey - SS58 address or 32-byte public key.
 */
export async function verifyHotkeySignature(
  message: Uint8Array,
  signature: Uint8Array | string,
  hotkey: string | Uint8Array,
): Promise<boolean> {
  await cryptoWaitReady()
  return verifyHotkeySignatureSync(message, signature, hotkey)
}

/**
 * One sr25519 verification: schnorrkel compiled to wasm (`@polkadot/wasm-crypto`, the Rust crate
 * Bittensor's Python `Keypair.verify` also runs, about 8x faster than the JS engine) once it is
 * initialised (`cryptoWaitReady` does it), else `@polkadot/util-crypto`'s JS `sr25519Verify`.
 */
function verifyRaw(message: Uint8Array, sig: Uint8Array, pk: Uint8Array): boolean {
  return wasmReady() ? wasmSr25519Verify(sig, message, pk) : sr25519Verify(message, sig, pk)
}

/** Synchronous {@link verifyHotkeySignature}; call {@link ensureCryptoReady} once first. */
export function verifyHotkeySignatureSync(
  message: Uint8Array,
  signature: Uint8Array | string,
  hotkey: string | Uint8Array,
): boolean {
  try {
    const sig =
      typeof signature === 'string'
        ? fromHex(signature.replace(/^0x/i, ''), 'signature')
        : signature
    if (sig.length !== 64) return false
    const pk = typeof hotkey === 'string' ? hotkeyPublicKey(hotkey) : hotkey
    if (pk.length !== 32) return false
    return verifyRaw(message, sig, pk) || verifyRaw(u8aWrapBytes(message), sig, pk)
  } catch {
    return false
  }
}

/** Signs `message` and returns lowercase hex without `0x` (the wire form). */
export function signHex(hotkey: Hotkey, message: Uint8Array): string {
  return toHex(hotkey.sign(message))
}
