import { ensureCryptoReady, hotkeyPublicKey, verifyHotkeySignatureSync } from '../crypto/sr25519.js'
import { invalidArgument } from '../errors/base.js'
import { parseWire } from '../protocol/schemas.js'
import { _markTrusted } from './_verified.js'
import {
  MANIFEST_SIGNATURE_PREFIX,
  looseCheckpointSchema,
  manifestMessage,
  type VerifiedCheckpointManifest,
} from './checkpointManifest.js'

/** Options of {@link verifyManifest}. */
export type VerifyManifestOptions = {
  /** The repo the manifest must name. `repo_id` is not signed, so pin it here. */
  expectedRepoId?: string | undefined
  /** Lowest acceptable `checkpoint_n` (the last one you accepted: checkpoints never go back). */
  minCheckpointN?: number | undefined
}

/** Why {@link verifyManifest} refused a manifest. */
export type VerifyManifestFailure =
  /** The signature is not `ed25519:` followed by 64 bytes of hex. */
  | 'signature_malformed'
  /** The signature does not verify for that hotkey, raw or `<Bytes>`-wrapped. */
  | 'signature_mismatch'
  /** `repo_id` differs from `expectedRepoId`. */
  | 'repo_mismatch'
  /** `checkpoint_n` is below `minCheckpointN`. */
  | 'checkpoint_regressed'

/** Result of {@link verifyManifest}: the manifest, marked verified, only when `valid`. */
export type VerifyManifestReturnType =
  | { readonly valid: true; readonly manifest: VerifiedCheckpointManifest }
  | { readonly valid: false; readonly reason: VerifyManifestFailure; readonly message: string }

/**
 * Verifies a `/checkpoint` manifest the way a miner should (docs/protocol.md §9 "How a miner
 * verifies", steps 2, 3 and 5): strip the `ed25519:` prefix, hex-decode the 64-byte signature, and
 * sr25519-verify the ASCII message `"{checkpoint_n}|{revision}"` against the validator hotkey,
 * accepting `<Bytes>…</Bytes>`-wrapped signatures as Bittensor's `Keypair.verify` does. Checking
 * that the HF commit exists with title `checkpoint {n}` and downloading the snapshot are not done
 * here.
 *
 * Never throws on a bad signature: the verdict says why. Only a structurally malformed document
 * or hotkey throws.
 *
 * @param manifest - Untrusted `/checkpoint` document (JSON text, bytes or a parsed value).
 * @param validatorHotkey - SS58 address or 32-byte public key of the validator (from the
 *   metagraph, or pinned out of band).
 * @param options - {@link VerifyManifestOptions}.
 * @returns `{ valid: true, manifest }` with a frozen, verified manifest, or `{ valid: false, reason, message }`.
 * @throws {ReliquaryError} `SCHEMA_INVALID` / `JSON_INVALID` for a malformed document;
 *   `SIGNATURE_INVALID_KEY` for a malformed hotkey.
 * @example
 * ```ts
 * import { verifyManifest } from 'reliquary/manifest'
 * const v = await verifyManifest(await (await fetch(`${validator}/checkpoint`)).json(), validatorHotkey, { expectedRepoId: 'org/model' })
 * if (v.valid) useCheckpoint(v.manifest.revision)
 * ```
 */
export async function verifyManifest(
  manifest: unknown,
  validatorHotkey: string | Uint8Array,
  options: VerifyManifestOptions = {},
): Promise<VerifyManifestReturnType> {
  const m = parseWire(looseCheckpointSchema, manifest, 'checkpoint manifest')
  const key =
    typeof validatorHotkey === 'string' ? hotkeyPublicKey(validatorHotkey) : validatorHotkey
  if (!(key instanceof Uint8Array) || key.length !== 32)
    throw invalidArgument(
      'validatorHotkey',
      'an SS58 address or a 32-byte public key',
      validatorHotkey,
    )
  if (
    options.minCheckpointN !== undefined &&
    (!Number.isSafeInteger(options.minCheckpointN) || options.minCheckpointN < 0)
  ) {
    throw invalidArgument('minCheckpointN', 'a non-negative integer', options.minCheckpointN)
  }
  const sig = m.signature.startsWith(MANIFEST_SIGNATURE_PREFIX)
    ? m.signature.slice(MANIFEST_SIGNATURE_PREFIX.length)
    : null
  if (sig === null || !/^[0-9a-fA-F]{128}$/.test(sig)) {
    return {
      valid: false,
      reason: 'signature_malformed',
      message: 'The signature must be "ed25519:" followed by 128 hex characters.',
    }
  }
  await ensureCryptoReady()
  if (
    !verifyHotkeySignatureSync(manifestMessage(m.checkpoint_n, m.revision), sig.toLowerCase(), key)
  ) {
    return {
      valid: false,
      reason: 'signature_mismatch',
      message: `The signature does not verify for "${m.checkpoint_n}|${m.revision}" under that hotkey.`,
    }
  }
  if (options.expectedRepoId !== undefined && m.repo_id !== options.expectedRepoId) {
    return {
      valid: false,
      reason: 'repo_mismatch',
      message: `The manifest names repo ${JSON.stringify(m.repo_id)}, expected ${JSON.stringify(options.expectedRepoId)}.`,
    }
  }
  if (options.minCheckpointN !== undefined && m.checkpoint_n < options.minCheckpointN) {
    return {
      valid: false,
      reason: 'checkpoint_regressed',
      message: `checkpoint_n ${m.checkpoint_n} is below ${options.minCheckpointN}.`,
    }
  }
  const verified = Object.freeze({
    checkpoint_n: m.checkpoint_n,
    repo_id: m.repo_id,
    revision: m.revision,
    signature: m.signature,
  }) as VerifiedCheckpointManifest
  return { valid: true, manifest: _markTrusted(verified) }
}
