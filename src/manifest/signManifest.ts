import { invalidArgument } from '../errors/base.js'
import type { Hotkey } from '../crypto/sr25519.js'
import { signHex } from '../crypto/sr25519.js'
import { checkpointSchema, parseWire } from '../protocol/schemas.js'
import {
  MANIFEST_SIGNATURE_PREFIX,
  manifestMessage,
  type CheckpointManifest,
} from './checkpointManifest.js'

/** Parameters of {@link signManifest}. */
export type SignManifestParameters = {
  /** Checkpoint number (the count of HF commits titled `checkpoint N`). */
  checkpointN: number
  /** Hugging Face repo, e.g. `aivolutionedge/reliquary-sn`. Not covered by the signature. */
  repoId: string
  /** The HF commit id of the upload (40 hex), used verbatim. */
  revision: string
}

/**
 * Signs a checkpoint manifest as the reference validator does: sr25519 by the validator hotkey
 * over the ASCII bytes of `${checkpointN}|${revision}`, wire form `"ed25519:" + hex(signature)`.
 *
 * - Spec: docs/protocol.md §3.5, §9 [59b4718:reliquary/validator/checkpoint.py].
 *
 * @param hotkey - The validator hotkey (from `createHotkey`).
 * @param parameters - {@link SignManifestParameters}.
 * @returns The `/checkpoint` document `{checkpoint_n, repo_id, revision, signature}`.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a bad hotkey or number; `SCHEMA_INVALID` when a
 *   field exceeds the wire bounds.
 * @example
 * ```ts
 * import { createHotkey } from 'reliquary'
 * import { signManifest } from 'reliquary/manifest'
 * const hotkey = await createHotkey('//Alice')
 * const manifest = signManifest(hotkey, { checkpointN: 7, repoId: 'org/model', revision: 'ab'.repeat(20) })
 * ```
 */
export function signManifest(
  hotkey: Hotkey,
  parameters: SignManifestParameters,
): CheckpointManifest {
  if (typeof hotkey?.sign !== 'function')
    throw invalidArgument('hotkey', 'a Hotkey from createHotkey', hotkey)
  const { checkpointN, repoId, revision } = parameters
  const signature =
    MANIFEST_SIGNATURE_PREFIX + signHex(hotkey, manifestMessage(checkpointN, revision))
  return parseWire(
    checkpointSchema,
    { checkpoint_n: checkpointN, repo_id: repoId, revision, signature },
    'checkpoint manifest',
  )
}
