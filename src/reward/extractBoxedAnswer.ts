import { invalidArgument } from '../errors/base.js'

const BOXED = '\\boxed{'
const FBOX = '\\fbox{'

/**
 * The last `\boxed{…}` or `\fbox{…}` of `text`, wrapper included, with balanced braces: the later
 * of the two `lastIndexOf` hits is taken, then braces are counted from its `{` until the depth
 * returns to zero. An unbalanced box gives `null`, and so does `\boxed x` without braces.
 *
 * - Spec: docs/protocol.md §6.1 (mirrors `_last_boxed_only_string` in
 *   `reliquary/environment/math.py`).
 *
 * @param text - A completion or a reference solution.
 * @returns The boxed substring (for example `"\\boxed{\\frac{1}{2}}"`), or `null`.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` if `text` is not a string.
 * @example
 * ```ts
 * import { lastBoxedOnlyString } from 'reliquary'
 * lastBoxedOnlyString('first \\boxed{0} then \\boxed{\\frac{1}{2}}') // '\\boxed{\\frac{1}{2}}'
 * ```
 */
export function lastBoxedOnlyString(text: string): string | null {
  if (typeof text !== 'string') throw invalidArgument('text', 'a string', text)
  const start = Math.max(text.lastIndexOf(BOXED), text.lastIndexOf(FBOX))
  if (start < 0) return null
  const open = text.indexOf('{', start)
  let depth = 0
  for (let j = open; j < text.length; j++) {
    const c = text.charCodeAt(j)
    if (c === 0x7b) depth++
    else if (c === 0x7d) {
      depth--
      if (depth === 0) return text.slice(start, j + 1)
    }
  }
  return null
}

/**
 * Removes one `\boxed{…}` / `\fbox{…}` wrapper when `s` starts with the opening and ends with `}`
 * (no balance check, exactly like the reference); any other string is returned unchanged.
 *
 * - Spec: docs/protocol.md §6.1 (mirrors `_strip_boxed_wrapper`).
 *
 * @param s - A boxed substring or a raw ground truth.
 * @returns The inner text, or `s` itself.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` if `s` is not a string.
 * @example
 * ```ts
 * import { stripBoxedWrapper } from 'reliquary'
 * stripBoxedWrapper('\\boxed{7}') // '7'
 * ```
 */
export function stripBoxedWrapper(s: string): string {
  if (typeof s !== 'string') throw invalidArgument('s', 'a string', s)
  for (const prefix of [BOXED, FBOX]) {
    if (s.startsWith(prefix) && s.endsWith('}')) return s.slice(prefix.length, -1)
  }
  return s
}

/**
 * The content of the last balanced `\boxed{…}` / `\fbox{…}` of `text` (wrapper removed), or
 * `null` when there is none. This is the candidate answer the MATH and OpenMathInstruct rewards
 * compare, before normalisation.
 *
 * - Spec: docs/protocol.md §6.1 (`_strip_boxed_wrapper(_last_boxed_only_string(text))`).
 *
 * @param text - A model completion.
 * @returns The boxed answer, or `null`.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` if `text` is not a string.
 * @example
 * ```ts
 * import { extractBoxedAnswer } from 'reliquary'
 * extractBoxedAnswer('So the answer is $\\boxed{\\dfrac{3}{4}}$.') // '\\dfrac{3}{4}'
 * extractBoxedAnswer('no box') // null
 * ```
 */
export function extractBoxedAnswer(text: string): string | null {
  const boxed = lastBoxedOnlyString(text)
  return boxed === null ? null : stripBoxedWrapper(boxed)
}
