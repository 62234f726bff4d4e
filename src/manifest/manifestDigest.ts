import { sha256 } from '@noble/hashes/sha2'
import { toHex, utf8 } from '../_utils/bytes.js'
import { canonicalJson } from './_canonicalJson.js'
import { parseCustodyManifest } from './custodyManifest.js'

/**
 * The digest that identifies a custody manifest and that its child stores as `parent`:
 * `hex(SHA256(canonical JSON of the whole signed manifest))`, signature and signer included (see
 * `custodyManifestSigningBytes` for the canonical form). Because sr25519 signatures are
 * randomised, re-signing the same content yields a different digest: the link names one exact
 * document.
 *
 * @param manifest - A custody manifest (validated first).
 * @returns Lowercase hex (64 chars).
 * @throws {ReliquaryError} `SCHEMA_INVALID` for a malformed manifest.
 * @example
 * ```ts
 * import { manifestDigest, signCustodyManifest } from 'reliquary/manifest'
 * const child = signCustodyManifest(hotkey, { ...fields, parent: manifestDigest(parentManifest) })
 * ```
 */
export function manifestDigest(manifest: unknown): string {
  return toHex(sha256(utf8(canonicalJson(parseCustodyManifest(manifest)))))
}
