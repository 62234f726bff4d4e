import { invalidArgument } from '../errors/base.js'
import { pyStrip } from './_python.js'
import { extractBoxedAnswer } from './extractBoxedAnswer.js'
import { normalizeOmiAnswer } from './normalizeMathAnswer.js'

// Python `re.match(r"^([\-\+]?\d+(?:\.\d+)?(?:/\d+)?)", tail)`; `\d` is any Unicode decimal digit.
const LEADING_NUMBER = /^([-+]?\p{Nd}+(?:\.\p{Nd}+)?(?:\/\p{Nd}+)?)/u

/**
 * The last line of a completion as the OpenMathInstruct fallback reads it: Python
 * `completion.strip().split("\n")[-1].strip()` (only `\n` splits lines).
 */
function lastLine(completion: string): string {
  const stripped = pyStrip(completion)
  return pyStrip(stripped.slice(stripped.lastIndexOf('\n') + 1))
}

/**
 * The E3 OpenMathInstruct-2 reward: the candidate is the last balanced boxed answer or, when the
 * completion has no box, a number (`[+-]?\d+(\.\d+)?(/\d+)?`) at the start of its last line.
 * Both sides go through {@link normalizeOmiAnswer}; the reward is 1 iff they are equal as strings
 * and the normalised ground truth is not empty. A completion with neither a box nor a leading
 * number scores 0. (HEAD later added value equality and removed the fallback; this is the E3 rule.)
 *
 * - Spec: docs/protocol.md §6.2 (mirrors `_compute_omi_reward` in `reliquary/environment/openmathinstruct.py`, 0b2d53f).
 *
 * @param completion - The decoded completion text.
 * @param groundTruth - The row's `expected_answer`.
 * @returns `1` or `0`.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` if either argument is not a string.
 * @example
 * ```ts
 * import { omiReward } from 'reliquary'
 * omiReward('so the result is\n12', '12') // 1
 * omiReward('\\boxed{+3.0}', '3') // 1
 * ```
 */
export function omiReward(completion: string, groundTruth: string): 0 | 1 {
  if (typeof completion !== 'string') throw invalidArgument('completion', 'a string', completion)
  if (typeof groundTruth !== 'string') throw invalidArgument('groundTruth', 'a string', groundTruth)
  const boxed = extractBoxedAnswer(completion)
  let candidate: string
  if (boxed === null) {
    const m = LEADING_NUMBER.exec(lastLine(completion))
    if (m === null) return 0
    candidate = normalizeOmiAnswer(m[1]!)
  } else {
    candidate = normalizeOmiAnswer(boxed)
  }
  const gt = normalizeOmiAnswer(groundTruth)
  if (gt === '') return 0
  return candidate === gt ? 1 : 0
}
