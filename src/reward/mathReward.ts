import { invalidArgument } from '../errors/base.js'
import { extractBoxedAnswer, stripBoxedWrapper } from './extractBoxedAnswer.js'
import { normalizeMathAnswer } from './normalizeMathAnswer.js'

/**
 * The E1/E2 MATH reward: 1 when the completion's last balanced `\boxed{}` / `\fbox{}` answer equals
 * the ground truth after {@link normalizeMathAnswer} (the ground truth also loses one boxed wrapper
 * first) and the normalised ground truth is not empty; otherwise 0. A completion without a box
 * scores 0.
 *
 * - Spec: docs/protocol.md §6.1 (mirrors `compute_math_reward` in `reliquary/environment/math.py`, 59b4718).
 *
 * @param completion - The decoded completion text (special tokens included, as the validator decodes it).
 * @param groundTruth - The problem's `ground_truth`.
 * @returns `1` or `0`.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` if either argument is not a string (the reference
 *   returns 0.0 on any exception; this SDK reports a wrongly typed call instead).
 * @example
 * ```ts
 * import { mathReward } from 'reliquary'
 * mathReward('The answer is $\\boxed{\\dfrac{3}{4}}$.', '\\frac{3}{4}') // 1
 * ```
 */
export function mathReward(completion: string, groundTruth: string): 0 | 1 {
  if (typeof completion !== 'string') throw invalidArgument('completion', 'a string', completion)
  if (typeof groundTruth !== 'string') throw invalidArgument('groundTruth', 'a string', groundTruth)
  const boxed = extractBoxedAnswer(completion)
  if (boxed === null) return 0
  const candidate = normalizeMathAnswer(boxed)
  const gt = normalizeMathAnswer(stripBoxedWrapper(groundTruth))
  return candidate === gt && gt !== '' ? 1 : 0
}
