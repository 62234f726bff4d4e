import * as z from 'zod'
import { hotkeyPublicKey } from '../crypto/sr25519.js'
import { parseWire } from '../protocol/schemas.js'
import { utf8 } from '../_utils/bytes.js'
import { canonicalJson } from './_canonicalJson.js'
import { _isTrusted } from './_verified.js'

/** The `format` tag of a custody manifest. */
export const CUSTODY_MANIFEST_FORMAT = 'reliquary-custody'
/** The custody manifest version this SDK writes. */
export const CUSTODY_MANIFEST_VERSION = 1

/** Bounds on custody manifests (not protocol numbers: they keep hostile documents cheap to reject). */
export const CUSTODY_MANIFEST_LIMITS = /*#__PURE__*/ Object.freeze({
  maxFiles: 100_000,
  maxWindows: 100_000,
  maxPathChars: 1024,
  maxIdChars: 256,
} as const)

const L = CUSTODY_MANIFEST_LIMITS
const hex64 = () => z.string().regex(/^[0-9a-f]{64}$/, 'must be 32 bytes of lowercase hex')
const uint = () => z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)

/** A relative POSIX path inside a snapshot: no `/` at the ends, no `.`/`..`/empty segments, no `\` or control characters. @internal */
export function isSafeRelativePath(p: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the check exists to refuse them
  if (p.length === 0 || p.length > L.maxPathChars || /[\u0000-\u001f\u007f\\]/.test(p)) return false
  return p.split('/').every((s) => s !== '' && s !== '.' && s !== '..')
}

function isSs58(s: string): boolean {
  try {
    hotkeyPublicKey(s)
    return true
  } catch {
    return false
  }
}

/** One file of a snapshot. */
export const custodyFileEntrySchema = /*#__PURE__*/ z.strictObject({
  /** Relative POSIX path in the snapshot. */
  path: z
    .string()
    .refine(isSafeRelativePath, 'must be a relative POSIX path without "." or ".." segments'),
  /** Size in bytes. */
  size: uint(),
  /** Lowercase hex SHA-256 of the file's bytes. */
  sha256: hex64(),
})

/**
 * Version 1 of the chain-of-custody manifest (strict: unknown fields are refused, since they
 * would be covered by the signature without being understood). Snake case, like the reference's
 * JSON documents.
 */
export const custodyManifestV1Schema = /*#__PURE__*/ z
  .strictObject({
    format: z.literal(CUSTODY_MANIFEST_FORMAT),
    version: z.literal(1),
    /** The model training started from (HF id and commit). */
    base_model: z.strictObject({
      id: z.string().min(1).max(L.maxIdChars),
      revision: z.string().min(1).max(L.maxIdChars),
    }),
    /** Protocol profile in force (e.g. `e3`). */
    profile_id: z.string().min(1).max(64),
    /** `manifestDigest` of the previous checkpoint's manifest; null for the first checkpoint. */
    parent: hex64().nullable(),
    checkpoint_n: uint(),
    /** The windows trained since the parent, ascending, each with the digest of its trained batch. */
    windows: z.array(z.strictObject({ window_n: uint(), batch_digest: hex64() })).max(L.maxWindows),
    /** Every file of the snapshot, sorted by path (UTF-16 code-unit order), unique. */
    files: z.array(custodyFileEntrySchema).min(1).max(L.maxFiles),
    /** SS58 address of the signing hotkey. */
    signer: z.string().min(1).max(64).refine(isSs58, 'must be an SS58 address'),
    /** sr25519 signature (64 bytes, lowercase hex) over {@link custodyManifestSigningBytes}. */
    signature: z.string().regex(/^[0-9a-f]{128}$/, 'must be 64 bytes of lowercase hex'),
  })
  .superRefine((m, ctx) => {
    for (let i = 1; i < m.windows.length; i++) {
      if (!(m.windows[i]!.window_n > m.windows[i - 1]!.window_n)) {
        ctx.addIssue({
          code: 'custom',
          path: ['windows', i, 'window_n'],
          message: 'windows must be strictly ascending by window_n',
        })
        break
      }
    }
    for (let i = 1; i < m.files.length; i++) {
      if (!(m.files[i]!.path > m.files[i - 1]!.path)) {
        ctx.addIssue({
          code: 'custom',
          path: ['files', i, 'path'],
          message: 'files must be sorted by path with no duplicates',
        })
        break
      }
    }
  })

/** The custody manifest schema of every supported version (only version 1 so far). */
export const custodyManifestSchema = custodyManifestV1Schema

/**
 * A chain-of-custody manifest: binds a checkpoint's files to the base model, the profile, the
 * windows (and batches) trained since the previous checkpoint, and that previous manifest, under
 * a hotkey signature. Untrusted until `verifyCustodyManifest` or `verifyChain` says otherwise.
 */
export type CustodyManifest = z.output<typeof custodyManifestV1Schema>
/** One `files[]` entry of a {@link CustodyManifest}. */
export type CustodyFileEntry = z.output<typeof custodyFileEntrySchema>
/** One `windows[]` entry of a {@link CustodyManifest}. */
export type CustodyWindowEntry = CustodyManifest['windows'][number]

declare const verifiedCustodyBrand: unique symbol
/** A {@link CustodyManifest} whose signature and signer were checked (deeply frozen). */
export type VerifiedCustodyManifest = Readonly<CustodyManifest> & {
  readonly [verifiedCustodyBrand]: true
}

/**
 * Parses a custody manifest strictly. The result is **not** trusted.
 *
 * @param input - JSON text, bytes or a parsed value.
 * @returns The manifest (a fresh object).
 * @throws {ReliquaryError} `SCHEMA_INVALID` (with zod's issues in `meta.issues`), `JSON_INVALID`,
 *   `PAYLOAD_TOO_LARGE`.
 * @example
 * ```ts
 * import { parseCustodyManifest } from 'reliquary/manifest'
 * const manifest = parseCustodyManifest(await readFile('reliquary_custody.json', 'utf8'))
 * ```
 */
export function parseCustodyManifest(input: unknown): CustodyManifest {
  return parseWire(custodyManifestSchema, input, 'custody manifest')
}

/**
 * The bytes a custody manifest's signature covers: the canonical JSON of the manifest without
 * its `signature` field (the `signer` is included), UTF-8 encoded. Canonical JSON here is
 * RFC 8785 for the values a manifest holds: object keys sorted by UTF-16 code units, no
 * whitespace, strings escaped as `JSON.stringify` does (non-ASCII kept as UTF-8), integers in
 * plain decimal. In Python: `json.dumps(body, sort_keys=True, separators=(",", ":"),
 * ensure_ascii=False).encode()`.
 *
 * @param manifest - A parsed manifest (the `signature` field, if present, is ignored).
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for values canonical JSON cannot hold.
 * @example
 * ```ts
 * import { custodyManifestSigningBytes } from 'reliquary/manifest'
 * new TextDecoder().decode(custodyManifestSigningBytes(manifest)) // '{"base_model":{…},"checkpoint_n":3,…}'
 * ```
 */
export function custodyManifestSigningBytes(
  manifest: Omit<CustodyManifest, 'signature'> & { signature?: string | undefined },
): Uint8Array {
  const { signature: _ignored, ...body } = manifest
  return utf8(canonicalJson(body))
}

/**
 * True when `value` is a custody manifest that `verifyCustodyManifest` or `verifyChain` returned
 * as verified (checked at run time; a look-alike object or a JSON copy is not).
 *
 * @example
 * ```ts
 * import { isVerifiedCustodyManifest } from 'reliquary/manifest'
 * isVerifiedCustodyManifest(JSON.parse(text)) // false
 * ```
 */
export function isVerifiedCustodyManifest(value: unknown): value is VerifiedCustodyManifest {
  return _isTrusted(value) && (value as { format?: unknown }).format === CUSTODY_MANIFEST_FORMAT
}
