import { ReliquaryError } from '../errors/base.js'

/**
 * Canonical JSON used for signing and digesting custody manifests: RFC 8785 (JCS) restricted to
 * the values a manifest holds. Object keys sorted by UTF-16 code units (JS default sort, JCS's
 * order), no whitespace, strings as `JSON.stringify` writes them (only `"`, `\` and control
 * characters escaped; non-ASCII kept as UTF-8), integers only (safe integers, written in plain
 * decimal), `true`/`false`/`null`, arrays in order. `undefined`, non-integers, bigint and
 * non-plain objects are refused so two implementations cannot disagree on the bytes.
 *
 * For ASCII keys this equals Python's `json.dumps(obj, sort_keys=True, separators=(",", ":"),
 * ensure_ascii=False)`; Python sorts keys by code point, which differs only for keys mixing
 * characters above U+FFFF with ones in U+E000..U+FFFF.
 * @internal
 */
export function canonicalJson(value: unknown): string {
  return write(value, 0)
}

function write(v: unknown, depth: number): string {
  if (depth > 32)
    throw new ReliquaryError('INVALID_ARGUMENT', 'Canonical JSON: value nested too deeply.')
  if (v === null) return 'null'
  if (v === true) return 'true'
  if (v === false) return 'false'
  if (typeof v === 'string') return JSON.stringify(v)
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v))
      throw new ReliquaryError(
        'INVALID_ARGUMENT',
        `Canonical JSON holds only safe integers, received ${String(v)}.`,
      )
    return Object.is(v, -0) ? '0' : String(v)
  }
  if (Array.isArray(v)) return `[${v.map((x) => write(x, depth + 1)).join(',')}]`
  if (
    typeof v === 'object' &&
    (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)
  ) {
    const o = v as Record<string, unknown>
    const keys = Object.keys(o).sort()
    const parts: string[] = []
    for (const k of keys) {
      if (o[k] === undefined)
        throw new ReliquaryError('INVALID_ARGUMENT', `Canonical JSON: key "${k}" is undefined.`)
      parts.push(`${JSON.stringify(k)}:${write(o[k], depth + 1)}`)
    }
    return `{${parts.join(',')}}`
  }
  throw new ReliquaryError(
    'INVALID_ARGUMENT',
    `Canonical JSON cannot hold a value of type ${typeof v}.`,
  )
}
