/**
 * Python text and float semantics the reward and scoring code must reproduce exactly.
 *
 * - `str.strip()` / `str.isspace()` and the regex class `\s` of a `str` pattern use the same set
 *   of code points, which is not JS's: Python adds U+001C–U+001F and U+0085, JS adds U+FEFF. The
 *   set below is CPython's (checked against `chr(c).isspace()` for every code point; every member
 *   is in the BMP, so UTF-16 indexing does not matter).
 * - Python `\d` in a `str` pattern is any Unicode decimal digit (category Nd), not just ASCII.
 * - `sum()` of floats switched to Neumaier compensated summation in CPython 3.12; the reference
 *   vectors were produced with it, so sums that feed σ and advantages use {@link pySum}.
 * @internal
 */

/** CPython's whitespace code points as a regex character-class body. @internal */
export const PY_WS_CLASS =
  '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000'

const LEADING_WS = /*#__PURE__*/ new RegExp(`^[${PY_WS_CLASS}]+`)
const TRAILING_WS = /*#__PURE__*/ new RegExp(`[${PY_WS_CLASS}]+$`)

/** `re.sub(r"\s+", "", s)` for a `str` pattern. @internal */
export const PY_WS_RUN_G = /*#__PURE__*/ new RegExp(`[${PY_WS_CLASS}]+`, 'g')

/** Python `s.strip()` (no argument). @internal */
export function pyStrip(s: string): string {
  return s.replace(LEADING_WS, '').replace(TRAILING_WS, '')
}

/** Python `s.rstrip(chars)` for a single character. @internal */
export function pyRstripChar(s: string, ch: string): string {
  let end = s.length
  while (end > 0 && s[end - 1] === ch) end--
  return s.slice(0, end)
}
