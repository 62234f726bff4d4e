import { ReliquaryError, invalidArgument } from '../../errors/base.js'
import { schemaInvalid } from '../../_utils/schemaInvalid.js'
import { readBounded } from '../../_utils/stream.js'
import {
  ARCHIVE_LIMITS,
  windowArchiveRecordSchema,
  type WindowArchiveRecord,
} from './windowArchive.js'

/** Options of {@link decodeWindowArchive}. */
export type DecodeWindowArchiveOptions = {
  /** Largest decompressed size accepted, in bytes. @default ARCHIVE_LIMITS.maxBytes */
  maxBytes?: number | undefined
  /** Largest input size accepted, in bytes. @default ARCHIVE_LIMITS.maxCompressedBytes */
  maxCompressedBytes?: number | undefined
}

const tooLarge = (what: string, limit: number) =>
  new ReliquaryError('PAYLOAD_TOO_LARGE', `Window archive ${what} exceeds ${limit} bytes.`)

async function gunzipBounded(bytes: Uint8Array, maxBytes: number): Promise<Uint8Array> {
  const ds = new DecompressionStream('gzip')
  const writer = ds.writable.getWriter()
  // Failures surface on the reading side; swallow them here so none goes unhandled.
  writer.write(bytes as Uint8Array<ArrayBuffer>).catch(() => undefined)
  writer.close().catch(() => undefined)
  let out: Uint8Array | null
  try {
    out = await readBounded(ds.readable.getReader(), maxBytes)
  } catch (e) {
    throw new ReliquaryError('JSON_INVALID', 'Window archive is not valid gzip.', { cause: e })
  }
  if (out === null) throw tooLarge('decompressed', maxBytes)
  return out
}

/**
 * Reads a window archive: gunzips it with a bound on the decompressed size (so a gzip bomb stops
 * early), decodes strict UTF-8, parses JSON and validates it against the E3 archive schema.
 * Plain (uncompressed) JSON bytes are accepted too. Fields written by other reference versions
 * are kept.
 *
 * Python's `json.dumps` writes `NaN`/`Infinity` for non-finite floats, which is not JSON; such an
 * archive fails with `JSON_INVALID` (the E3 fields are finite by construction).
 *
 * - Spec: docs/protocol.md §3.7.
 *
 * @param bytes - The stored object.
 * @param options - {@link DecodeWindowArchiveOptions}
 * @returns The validated {@link WindowArchiveRecord}.
 * @throws {ReliquaryError} `PAYLOAD_TOO_LARGE` past a size bound; `JSON_INVALID` for bad gzip,
 *   UTF-8 or JSON; `SCHEMA_INVALID` (issues in `meta.issues`) when the record does not fit;
 *   `INVALID_ARGUMENT` if `bytes` is not a `Uint8Array`.
 * @example
 * ```ts
 * import { decodeWindowArchive, Cooldown } from 'reliquary'
 * const archive = await decodeWindowArchive(await bucket.get('reliquary/dataset/window-42.json.gz'))
 * new Cooldown().applyArchives([archive], 43)
 * ```
 */
export async function decodeWindowArchive(
  bytes: Uint8Array,
  options: DecodeWindowArchiveOptions = {},
): Promise<WindowArchiveRecord> {
  if (!(bytes instanceof Uint8Array)) throw invalidArgument('bytes', 'a Uint8Array', bytes)
  const {
    maxBytes = ARCHIVE_LIMITS.maxBytes,
    maxCompressedBytes = ARCHIVE_LIMITS.maxCompressedBytes,
  } = options
  if (bytes.length > maxCompressedBytes) throw tooLarge('input', maxCompressedBytes)
  const gz = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b
  if (!gz && bytes.length > maxBytes) throw tooLarge('input', maxBytes)
  const raw = gz ? await gunzipBounded(bytes, maxBytes) : bytes
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw))
  } catch (e) {
    throw new ReliquaryError('JSON_INVALID', 'Window archive is not valid UTF-8 JSON.', {
      cause: e,
    })
  }
  const r = windowArchiveRecordSchema.safeParse(value)
  if (!r.success) throw schemaInvalid('Window archive', r.error)
  return r.data
}
