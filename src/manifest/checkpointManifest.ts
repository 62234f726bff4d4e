import * as z from 'zod'
import { checkpointSchema, parseWire, type CheckpointManifestWire } from '../protocol/schemas.js'
import { invalidArgument } from '../errors/base.js'
import { utf8 } from '../_utils/bytes.js'
import { _isTrusted } from './_verified.js'

/**
 * The reference checkpoint manifest served at `GET /checkpoint`:
 * `{checkpoint_n, repo_id, revision, signature: "ed25519:" + hex}` (docs/protocol.md §3.4, §9). The
 * signature is really sr25519 by the validator hotkey and covers only `checkpoint_n` and
 * `revision`, not `repo_id`.
 */
export type CheckpointManifest = CheckpointManifestWire

declare const verifiedCheckpointBrand: unique symbol

/** A {@link CheckpointManifest} whose signature `verifyManifest` checked against a validator hotkey. */
export type VerifiedCheckpointManifest = Readonly<CheckpointManifest> & {
  readonly [verifiedCheckpointBrand]: true
}

/** The wire prefix of the manifest signature (a misnomer kept by the reference: it is sr25519). */
export const MANIFEST_SIGNATURE_PREFIX = 'ed25519:'

/**
 * The exact bytes a validator signs for a checkpoint manifest: the ASCII (UTF-8) bytes of
 * `f"{checkpoint_n}|{revision}"`, e.g. `7|<40-hex commit>`. Not a hash, not a binary encoding.
 *
 * - Spec: docs/protocol.md §3.5 (checkpoint manifest row), §9.
 *
 * @param checkpointN - Non-negative integer, written in decimal.
 * @param revision - The HF commit id, verbatim.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a bad number or an empty revision.
 * @example
 * ```ts
 * import { manifestMessage } from 'reliquary/manifest'
 * new TextDecoder().decode(manifestMessage(7, 'ab'.repeat(20))) // "7|abab…"
 * ```
 */
export function manifestMessage(checkpointN: number, revision: string): Uint8Array {
  if (!Number.isSafeInteger(checkpointN) || checkpointN < 0)
    throw invalidArgument('checkpointN', 'a non-negative integer', checkpointN)
  if (typeof revision !== 'string' || revision.length === 0)
    throw invalidArgument('revision', 'a non-empty string', revision)
  return utf8(`${checkpointN}|${revision}`)
}

/** `/checkpoint` with the signature only required to be a bounded string (its format is judged by verifyManifest). @internal */
export const looseCheckpointSchema = /*#__PURE__*/ checkpointSchema.extend({
  signature: z.string().max(1024),
})

/**
 * Parses a `/checkpoint` document strictly (the signature must be `ed25519:` + 128 hex). The
 * result is **not** trusted: pass it to `verifyManifest`.
 *
 * @param input - JSON text, bytes or a parsed value.
 * @throws {ReliquaryError} `SCHEMA_INVALID`, `JSON_INVALID`, `PAYLOAD_TOO_LARGE`.
 * @example
 * ```ts
 * import { parseCheckpointManifest } from 'reliquary/manifest'
 * const manifest = parseCheckpointManifest(await (await fetch(`${validator}/checkpoint`)).text())
 * ```
 */
export function parseCheckpointManifest(input: unknown): CheckpointManifest {
  return parseWire(checkpointSchema, input, 'checkpoint manifest')
}

/**
 * True when `value` is a manifest that `verifyManifest` returned as verified (checked at run
 * time; a look-alike object or a JSON copy is not).
 *
 * @example
 * ```ts
 * import { isVerifiedCheckpointManifest } from 'reliquary/manifest'
 * isVerifiedCheckpointManifest({ checkpoint_n: 1, repo_id: 'a/b', revision: 'r', signature: 'ed25519:00' }) // false
 * ```
 */
export function isVerifiedCheckpointManifest(value: unknown): value is VerifiedCheckpointManifest {
  return (
    _isTrusted(value) &&
    typeof (value as { revision?: unknown }).revision === 'string' &&
    'repo_id' in (value as object)
  )
}
