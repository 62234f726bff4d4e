import { invalidArgument } from '../errors/base.js'
import { signHex, type Hotkey } from '../crypto/sr25519.js'
import { parseWire } from '../protocol/schemas.js'
import {
  CUSTODY_MANIFEST_FORMAT,
  CUSTODY_MANIFEST_VERSION,
  custodyManifestSchema,
  custodyManifestSigningBytes,
  type CustodyFileEntry,
  type CustodyManifest,
} from './custodyManifest.js'
import { manifestDigest } from './manifestDigest.js'

/** Parameters of {@link signCustodyManifest}. */
export type SignCustodyManifestParameters = {
  /** The model training started from: HF id and commit. */
  baseModel: { id: string; revision: string }
  /** Protocol profile in force, e.g. `e3`. */
  profileId: string
  /** The previous checkpoint's manifest (or its `manifestDigest`); null for the first checkpoint. */
  parent: CustodyManifest | string | null
  checkpointN: number
  /** Windows trained since the parent, with their `batchDigest`s (sorted here by window). */
  windows: readonly { windowN: number; batchDigest: string }[]
  /** Every file of the snapshot (see `hashSnapshotFiles`); sorted here by path. */
  files: readonly CustodyFileEntry[]
}

/**
 * Builds and signs a chain-of-custody manifest (version 1). The signature is sr25519 by `hotkey`
 * over `custodyManifestSigningBytes` (canonical JSON of everything but `signature`, sorted keys,
 * no whitespace); `signer` is the hotkey's SS58 address.
 *
 * @param hotkey - The signing hotkey (the validator's).
 * @param parameters - {@link SignCustodyManifestParameters}.
 * @returns The signed manifest (untrusted until verified, like any other).
 * @throws {ReliquaryError} `SCHEMA_INVALID` for fields outside the schema (paths, digests,
 *   duplicate windows or files); `INVALID_ARGUMENT` for a bad hotkey.
 * @example
 * ```ts
 * import { createHotkey } from 'reliquary'
 * import { signCustodyManifest, hashSnapshotFiles, batchDigest } from 'reliquary/manifest'
 * const manifest = signCustodyManifest(await createHotkey(seed), {
 *   baseModel: { id: 'Qwen/Qwen3-0.6B', revision: baseSha }, profileId: 'e3', parent: null, checkpointN: 1,
 *   windows: [{ windowN: 10, batchDigest: batchDigest(hashes) }], files: await hashSnapshotFiles('ckpt_1'),
 * })
 * ```
 */
export function signCustodyManifest(
  hotkey: Hotkey,
  parameters: SignCustodyManifestParameters,
): CustodyManifest {
  if (typeof hotkey?.sign !== 'function' || typeof hotkey.address !== 'string')
    throw invalidArgument('hotkey', 'a Hotkey from createHotkey', hotkey)
  const p = parameters
  if (!Array.isArray(p.windows)) throw invalidArgument('windows', 'an array', p.windows)
  if (!Array.isArray(p.files)) throw invalidArgument('files', 'an array', p.files)
  const parent =
    p.parent === null || typeof p.parent === 'string' ? p.parent : manifestDigest(p.parent)
  const unsigned = {
    format: CUSTODY_MANIFEST_FORMAT,
    version: CUSTODY_MANIFEST_VERSION,
    base_model: { id: p.baseModel?.id, revision: p.baseModel?.revision },
    profile_id: p.profileId,
    parent,
    checkpoint_n: p.checkpointN,
    windows: [...p.windows]
      .sort((a, b) => a.windowN - b.windowN)
      .map((w) => ({ window_n: w.windowN, batch_digest: w.batchDigest })),
    files: [...p.files]
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      .map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 })),
    signer: hotkey.address,
    signature: '0'.repeat(128),
  }
  // Validate before signing so a signature never covers a document the schema would refuse.
  const body = parseWire(custodyManifestSchema, unsigned, 'custody manifest')
  return { ...body, signature: signHex(hotkey, custodyManifestSigningBytes(body)) }
}
