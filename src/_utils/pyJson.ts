/**
 * Python-compatible JSON text, byte for byte.
 *
 * The protocol hashes `json.dumps(...)` output in two places (the commitments hash of the commit
 * binding and the rollout merkle leaves), so the SDK must produce what CPython produces:
 * - `repr(float)` formatting: shortest round-trip digits like JS, but exponents are written
 *   `1e-05` / `1e+16` (two-digit minimum, explicit sign), integral floats keep `.0`, and the
 *   switch to exponent form happens below 1e-4 and at 1e16 and above;
 * - `ensure_ascii=True` string escaping (non-ASCII as `\uXXXX`, astral characters as surrogate
 *   pairs, `\b \f \n \r \t` short forms);
 * - `sort_keys=True` orders keys by code point (JS sorts by UTF-16 unit, which differs for
 *   astral characters).
 *
 * JS numbers do not say whether Python held an `int` or a `float`, so floats are marked with
 * {@link pyFloat} (or by key through {@link PyJsonOptions.floatKeys}). No library reproduces
 * CPython's formatting, hence this hand-written module.
 * @internal
 */

const FLOAT = Symbol.for('reliquary.pyFloat')

/** A number Python holds as a `float`. @internal */
export type PyFloat = { readonly [FLOAT]: true; readonly value: number }

/** Marks a number as a Python float. @internal */
export function pyFloat(value: number): PyFloat {
  return { [FLOAT]: true, value }
}

function isPyFloat(v: unknown): v is PyFloat {
  return typeof v === 'object' && v !== null && (v as Record<symbol, unknown>)[FLOAT] === true
}

/** `repr(float)` of CPython. @internal */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'NaN'
  if (x === Infinity) return 'Infinity'
  if (x === -Infinity) return '-Infinity'
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0'
  // JS `toExponential()` without an argument gives the shortest round-trip digits, as repr does.
  const [mant, expStr] = x.toExponential().split('e') as [string, string]
  const exp = Number(expStr)
  const neg = mant.startsWith('-')
  const digits = mant.replace('-', '').replace('.', '')
  const sign = neg ? '-' : ''
  if (exp < -4 || exp >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits
    const e = Math.abs(exp)
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`
  }
  if (exp >= 0) {
    const intLen = exp + 1
    if (digits.length <= intLen) return `${sign}${digits}${'0'.repeat(intLen - digits.length)}.0`
    return `${sign}${digits.slice(0, intLen)}.${digits.slice(intLen)}`
  }
  return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`
}

/** Python `json.dumps` string escaping with `ensure_ascii=True`. @internal */
export function pyJsonString(s: string): string {
  let out = '"'
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x22) out += '\\"'
    else if (c === 0x5c) out += '\\\\'
    else if (c === 0x0a) out += '\\n'
    else if (c === 0x0d) out += '\\r'
    else if (c === 0x09) out += '\\t'
    else if (c === 0x08) out += '\\b'
    else if (c === 0x0c) out += '\\f'
    else if (c < 0x20 || c > 0x7e) out += `\\u${c.toString(16).padStart(4, '0')}`
    else out += s[i]
  }
  return `${out}"`
}

function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]()
  const ib = b[Symbol.iterator]()
  for (;;) {
    const x = ia.next()
    const y = ib.next()
    if (x.done) return y.done ? 0 : -1
    if (y.done) return 1
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!
    if (d !== 0) return d
  }
}

/** Options of {@link pyJsonDumps}. @internal */
export type PyJsonOptions = {
  /** `sort_keys=True`. @default false */
  sortKeys?: boolean | undefined
  /** Compact separators `(",", ":")`; otherwise Python's default `(", ", ": ")`. @default true */
  compact?: boolean | undefined
  /** Object keys whose numeric values (and numeric array elements) are Python floats. */
  floatKeys?: ReadonlySet<string> | undefined
}

/**
 * `json.dumps(value, sort_keys=..., separators=...)` as CPython writes it. Plain numbers are
 * written as Python ints unless marked with {@link pyFloat} or held under a `floatKeys` key.
 * @internal
 */
export function pyJsonDumps(value: unknown, options: PyJsonOptions = {}): string {
  const { sortKeys = false, compact = true, floatKeys } = options
  const itemSep = compact ? ',' : ', '
  const kvSep = compact ? ':' : ': '
  const enc = (v: unknown, asFloat: boolean): string => {
    if (v === null || v === undefined) return 'null'
    if (v === true) return 'true'
    if (v === false) return 'false'
    if (isPyFloat(v)) return pyFloatRepr(v.value)
    if (typeof v === 'number') {
      if (asFloat || !Number.isInteger(v)) return pyFloatRepr(v)
      return Number.isSafeInteger(v) ? String(v) : BigInt(v).toString()
    }
    if (typeof v === 'bigint') return v.toString()
    if (typeof v === 'string') return pyJsonString(v)
    if (Array.isArray(v)) return `[${v.map((x) => enc(x, asFloat)).join(itemSep)}]`
    if (typeof v === 'object') {
      let keys = Object.keys(v as object)
      if (sortKeys) keys = keys.sort(compareCodePoints)
      return (
        '{' +
        keys
          .map(
            (k) =>
              pyJsonString(k) +
              kvSep +
              enc((v as Record<string, unknown>)[k], floatKeys?.has(k) ?? false),
          )
          .join(itemSep) +
        '}'
      )
    }
    throw new TypeError(`cannot encode ${typeof v} as JSON`)
  }
  return enc(value, false)
}
