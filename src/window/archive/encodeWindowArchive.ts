import { invalidArgument } from '../../errors/base.js'
import { pyFloat, pyJsonDumps } from '../../_utils/pyJson.js'
import { schemaInvalid } from '../../_utils/schemaInvalid.js'
import { windowArchiveRecordSchema, type WindowArchiveRecord } from './windowArchive.js'
import { assertWindowNumber } from './windowArchive.js'

/**
 * The R2 object key of a window archive: `reliquary/dataset/window-<N>.json.gz`.
 *
 * - Spec: docs/protocol.md §3.7.
 *
 * @param windowN - The window number.
 * @returns The key.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a negative or non-integer window.
 * @example
 * ```ts
 * import { windowArchiveKey } from 'reliquary'
 * windowArchiveKey(42) // 'reliquary/dataset/window-42.json.gz'
 * ```
 */
export function windowArchiveKey(windowN: number): string {
  assertWindowNumber(windowN, 'windowN')
  return `reliquary/dataset/window-${windowN}.json.gz`
}

const f = (x: number | null | undefined): unknown => (typeof x === 'number' ? pyFloat(x) : x)

function markFloats(a: WindowArchiveRecord): unknown {
  const diag = (d: { lp_dev_max: number | null; dist_q10_min: number | null }) => ({
    lp_dev_max: f(d.lp_dev_max),
    dist_q10_min: f(d.dist_q10_min),
  })
  return {
    ...a,
    batch: a.batch.map((b) => ({
      ...b,
      sigma: f(b.sigma),
      response_time: f(b.response_time),
      ...diag(b),
      rollouts: b.rollouts.map((r) => ({ ...r, reward: f(r.reward) })),
    })),
    runners_up: a.runners_up.map((r) => ({
      ...r,
      sigma: f(r.sigma),
      response_time: f(r.response_time),
      ...diag(r),
    })),
    rejected: a.rejected.map((r) => ({ ...r, ...diag(r) })),
    rewards_by_hotkey: Object.fromEntries(
      Object.entries(a.rewards_by_hotkey).map(([k, v]) => [k, f(v)]),
    ),
  }
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream('gzip'))
  return new Uint8Array(await new Response(stream).arrayBuffer())
}

/**
 * Serialises a window archive the way the reference stores it: compact JSON
 * (`separators=(",", ":")`, ASCII-escaped) with Python float formatting for the float fields
 * (`sigma`, `reward`, `response_time`, `lp_dev_max`, `dist_q10_min`, `rewards_by_hotkey`), then
 * gzip. The record is validated first, so a reader of this SDK always accepts the output.
 *
 * Uses the platform `CompressionStream` (Node ≥ 18, browsers, Deno).
 *
 * - Spec: docs/protocol.md §3.7.
 *
 * @param archive - The record (see {@link buildWindowArchive}).
 * @returns The gzip bytes to upload under {@link windowArchiveKey}.
 * @throws {ReliquaryError} `SCHEMA_INVALID` if the record does not satisfy the archive schema.
 * @example
 * ```ts
 * import { encodeWindowArchive, windowArchiveKey } from 'reliquary'
 * const bytes = await encodeWindowArchive(record)
 * await bucket.put(windowArchiveKey(record.window_start), bytes)
 * ```
 */
export async function encodeWindowArchive(archive: WindowArchiveRecord): Promise<Uint8Array> {
  const r = windowArchiveRecordSchema.safeParse(archive)
  if (!r.success) throw schemaInvalid('Window archive', r.error)
  let text: string
  try {
    text = pyJsonDumps(markFloats(r.data), { compact: true })
  } catch (e) {
    throw invalidArgument('archive', 'a JSON-serialisable record', archive, [String(e)])
  }
  return gzip(new TextEncoder().encode(text))
}
