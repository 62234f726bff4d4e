import { invalidArgument } from '../errors/base.js'
import { PY_WS_RUN_G, pyRstripChar, pyStrip } from './_python.js'

const SPACING_MACROS = ['\\!', '\\,', '\\ ', '\\;', '\\:'] as const
// `[^}]*`: no nesting, exactly like the reference's `_TEXT_RE` / `_MBOX_RE`.
const TEXT_RE = /\\text\{([^}]*)\}/g
const MBOX_RE = /\\mbox\{([^}]*)\}/g
// Python `\d` in a str pattern is any Unicode decimal digit.
const TRAILING_ZERO_DECIMAL = /^-?\p{Nd}+\.0+$/u

/**
 * Normalises a MATH answer for string comparison, in the reference's order:
 * 1. remove `\!`, `\,`, `\ `, `\;`, `\:`;
 * 2. remove `\left` and `\right` (plain substrings, so `\leftarrow` is mangled on both sides alike);
 * 3. `\dfrac`, `\tfrac` → `\frac`;
 * 4. unwrap `\text{…}` then `\mbox{…}` (no nesting);
 * 5. remove `\$`, then `$`;
 * 6. Python `strip()`, strip trailing `.`, `strip()` again;
 * 7. delete every whitespace run (Python's Unicode `\s`).
 *
 * - Spec: docs/protocol.md §6.1 (mirrors `_normalize_answer` in `reliquary/environment/math.py`, 59b4718).
 *
 * @param s - A boxed answer or a ground truth.
 * @returns The normalised string (possibly empty).
 * @throws {ReliquaryError} `INVALID_ARGUMENT` if `s` is not a string.
 * @example
 * ```ts
 * import { normalizeMathAnswer } from 'reliquary'
 * normalizeMathAnswer(' $\\dfrac{3}{4}$. ') // '\\frac{3}{4}'
 * ```
 */
export function normalizeMathAnswer(s: string): string {
  if (typeof s !== 'string') throw invalidArgument('s', 'a string', s)
  let out = s
  for (const macro of SPACING_MACROS) out = out.replaceAll(macro, '')
  out = out.replaceAll('\\left', '').replaceAll('\\right', '')
  out = out.replaceAll('\\dfrac', '\\frac').replaceAll('\\tfrac', '\\frac')
  out = out.replace(TEXT_RE, '$1').replace(MBOX_RE, '$1')
  out = out.replaceAll('\\$', '').replaceAll('$', '')
  out = pyStrip(pyRstripChar(pyStrip(out), '.'))
  return out.replace(PY_WS_RUN_G, '')
}

/**
 * Normalises an OpenMathInstruct-2 answer: {@link normalizeMathAnswer}, then drop one leading `+`
 * when the string is longer than one character, then rewrite `-?\d+\.0+` (whole string) to its
 * integer part.
 *
 * - Spec: docs/protocol.md §6.2 (mirrors `_normalize_answer` in `reliquary/environment/openmathinstruct.py`, 0b2d53f).
 *
 * @param s - A boxed answer, a fallback number, or an `expected_answer`.
 * @returns The normalised string (possibly empty).
 * @throws {ReliquaryError} `INVALID_ARGUMENT` if `s` is not a string.
 * @example
 * ```ts
 * import { normalizeOmiAnswer } from 'reliquary'
 * normalizeOmiAnswer('+3.00') // '3'
 * ```
 */
export function normalizeOmiAnswer(s: string): string {
  let out = normalizeMathAnswer(s)
  if (out.length > 1 && out[0] === '+') out = out.slice(1)
  if (TRAILING_ZERO_DECIMAL.test(out)) out = out.slice(0, out.indexOf('.'))
  return out
}
