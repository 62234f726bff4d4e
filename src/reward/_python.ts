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

/**
 * CPython 3.12+ `sum(xs)` over floats: Neumaier's improved Kahan–Babuška summation, with the
 * compensation added once at the end (and only when it is finite and non-zero, as CPython does).
 * @internal
 */
export function pySum(xs: readonly number[]): number {
  let s = 0
  let c = 0
  for (const x of xs) {
    const t = s + x
    if (Math.abs(s) >= Math.abs(x)) c += s - t + x
    else c += x - t + s
    s = t
  }
  if (c !== 0 && Number.isFinite(c)) s += c
  return s
}

/** Python `round(x)` for a float: round half to even on the exact binary value. @internal */
export function pyRound(x: number): number {
  const f = Math.floor(x)
  const d = x - f
  if (d > 0.5) return f + 1
  if (d < 0.5) return f
  return f % 2 === 0 ? f : f + 1
}
