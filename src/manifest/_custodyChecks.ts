import { hotkeyPublicKey, verifyHotkeySignatureSync } from '../crypto/sr25519.js'
import { invalidArgument } from '../errors/base.js'
import { toHex } from '../_utils/bytes.js'
import { custodyManifestSigningBytes, type CustodyManifest } from './custodyManifest.js'

/** Public keys (hex) of the trusted signers; throws `INVALID_ARGUMENT` for a bad list. @internal */
export function trustedKeySet(trustedSigners: unknown): Set<string> {
  if (!Array.isArray(trustedSigners) || trustedSigners.length === 0) {
    throw invalidArgument(
      'trustedSigners',
      'a non-empty array of SS58 addresses or 32-byte public keys',
      trustedSigners,
    )
  }
  const out = new Set<string>()
  for (const s of trustedSigners as unknown[]) {
    if (typeof s === 'string') out.add(toHex(hotkeyPublicKey(s)))
    else if (s instanceof Uint8Array && s.length === 32) out.add(toHex(s))
    else throw invalidArgument('trustedSigners[]', 'an SS58 address or a 32-byte public key', s)
  }
  return out
}

/** Whether the manifest's signature verifies for its `signer` (raw or `<Bytes>`-wrapped). Call after `ensureCryptoReady`. @internal */
export function signatureValid(m: CustodyManifest): boolean {
  return verifyHotkeySignatureSync(custodyManifestSigningBytes(m), m.signature, m.signer)
}

/** Whether the manifest's signer is trusted. @internal */
export function signerTrusted(m: CustodyManifest, keys: ReadonlySet<string>): boolean {
  return keys.has(toHex(hotkeyPublicKey(m.signer)))
}

/** Deep-freezes a parsed manifest. @internal */
export function freezeManifest<T extends CustodyManifest>(m: T): T {
  Object.freeze(m.base_model)
  for (const w of m.windows) Object.freeze(w)
  for (const f of m.files) Object.freeze(f)
  Object.freeze(m.windows)
  Object.freeze(m.files)
  return Object.freeze(m)
}
