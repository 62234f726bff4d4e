import { ensureCryptoReady } from '../crypto/sr25519.js'
import { _markTrusted } from './_verified.js'
import { freezeManifest, signatureValid, signerTrusted, trustedKeySet } from './_custodyChecks.js'
import { parseCustodyManifest, type VerifiedCustodyManifest } from './custodyManifest.js'
import { manifestDigest } from './manifestDigest.js'

/** Options of {@link verifyCustodyManifest}. */
export type VerifyCustodyManifestOptions = {
  /** Hotkeys (SS58 or 32-byte public keys) allowed to sign manifests. Required: there is no default trust. */
  trustedSigners: readonly (string | Uint8Array)[]
}

/** Result of {@link verifyCustodyManifest}; the manifest is returned, marked verified, only when `valid`. */
export type VerifyCustodyManifestReturnType =
  | { readonly valid: true; readonly manifest: VerifiedCustodyManifest; readonly digest: string }
  | { readonly valid: false; readonly field: 'signature' | 'signer'; readonly reason: string }

/**
 * Verifies one custody manifest on its own: the sr25519 signature by its `signer` over its
 * canonical signing bytes (raw or `<Bytes>`-wrapped), and that the signer is trusted. It does not
 * follow the parent link or compare files: use `verifyChain` and `verifySnapshotFiles` for that.
 *
 * @param manifest - Untrusted manifest (JSON text, bytes or a parsed value).
 * @param options - {@link VerifyCustodyManifestOptions}.
 * @returns A verdict; on success a deeply frozen copy marked verified, and its `manifestDigest`.
 * @throws {ReliquaryError} `SCHEMA_INVALID` / `JSON_INVALID` for a malformed manifest;
 *   `INVALID_ARGUMENT` / `SIGNATURE_INVALID_KEY` for a bad `trustedSigners` list.
 * @example
 * ```ts
 * import { verifyCustodyManifest } from 'reliquary/manifest'
 * const v = await verifyCustodyManifest(text, { trustedSigners: [validatorHotkey] })
 * if (!v.valid) throw new Error(`custody manifest: bad ${v.field}`)
 * ```
 */
export async function verifyCustodyManifest(
  manifest: unknown,
  options: VerifyCustodyManifestOptions,
): Promise<VerifyCustodyManifestReturnType> {
  const keys = trustedKeySet(options?.trustedSigners)
  const m = parseCustodyManifest(manifest)
  await ensureCryptoReady()
  if (!signatureValid(m))
    return {
      valid: false,
      field: 'signature',
      reason: 'The signature does not verify for the manifest signer.',
    }
  if (!signerTrusted(m, keys))
    return { valid: false, field: 'signer', reason: `Signer ${m.signer} is not a trusted signer.` }
  const digest = manifestDigest(m)
  return {
    valid: true,
    manifest: _markTrusted(freezeManifest(m)) as VerifiedCustodyManifest,
    digest,
  }
}
