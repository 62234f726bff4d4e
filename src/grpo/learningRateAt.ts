import { invalidArgument } from '../errors/base.js'
import { resolveGrpoOptions } from './resolveGrpoOptions.js'
import type { GrpoOptions, ResolvedGrpoOptions } from './types.js'

/**
 * The reference `LambdaLR` multiplier λ(s) after `s` completed scheduler steps: linear warm-up
 * `(s + 1) / W` for `s < W`, then half-cosine `0.5·(1 + cos(π·min((s − W) / max(1, S − W), 1)))`.
 * @internal
 */
export function lrLambda(step: number, warmupSteps: number, cosineMaxSteps: number): number {
  if (step < warmupSteps) return (step + 1) / warmupSteps
  const progress = (step - warmupSteps) / Math.max(1, cosineMaxSteps - warmupSteps)
  return 0.5 * (1 + Math.cos(Math.PI * Math.min(progress, 1.0)))
}

/**
 * The learning rate the optimizer uses after `step` completed GRPO steps: `learningRate · λ(step)`
 * with the reference's linear warm-up then cosine decay (torch `LambdaLR`, stepped once per
 * training step). The first step (`step = 0`) uses `learningRate / warmupSteps` (0.1 × base in
 * the reference); `learningRateAt(n)` is also the reference's `get_last_lr()` after n steps.
 *
 * - Spec: docs/protocol.md §7 "LR schedule" (mirrors `_lr_lambda` in
 *   `reliquary/validator/training.py`).
 *
 * @param step - Completed optimizer steps, an integer ≥ 0.
 * @param options - {@link GrpoOptions} or already-resolved options (learning rate, warm-up, cosine length).
 * @returns The learning rate, computed in float64 exactly as `base_lr * lmbda(step)` in Python.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` if `step` is not a non-negative safe integer or an option is out of range.
 *
 * @example
 * ```ts
 * import { learningRateAt } from 'reliquary/grpo'
 * learningRateAt(0) // 5e-7  (0.1 × 5e-6)
 * learningRateAt(1) // 1.0000000000000002e-6
 * ```
 */
export function learningRateAt(
  step: number,
  options: GrpoOptions | ResolvedGrpoOptions = {},
): number {
  if (!Number.isSafeInteger(step) || step < 0) throw invalidArgument('step', 'an integer ≥ 0', step)
  const o = 'profileId' in options ? options : resolveGrpoOptions(options)
  return o.learningRate * lrLambda(step, o.warmupSteps, o.cosineMaxSteps)
}
