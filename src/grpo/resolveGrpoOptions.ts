import { invalidArgument } from '../errors/base.js'
import { DEFAULT_PROFILE } from '../protocol/profiles.js'
import type { GrpoOptions, ResolvedGrpoOptions } from './types.js'

function num(value: number, param: string, ok: (x: number) => boolean, expected: string): number {
  if (typeof value !== 'number' || Number.isNaN(value) || !ok(value))
    throw invalidArgument(`options.${param}`, expected, value)
  return value
}

const finiteIn =
  (lo: number, hi: number, loOpen = false, hiOpen = false) =>
  (x: number): boolean =>
    Number.isFinite(x) && (loOpen ? x > lo : x >= lo) && (hiOpen ? x < hi : x <= hi)

/**
 * Fills every GRPO option from the profile (`profile.training`, `profile.group.sigmaEpsilon`)
 * and checks ranges once, so the step itself never re-validates.
 *
 * - Spec: docs/protocol.md §7 (mirrors the constants read by `reliquary/validator/training.py`).
 *
 * @param options - {@link GrpoOptions}; `{}` gives the profile's reference step.
 * @returns A frozen {@link ResolvedGrpoOptions}.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a value out of range (negative learning rate,
 *   β1 ≥ 1, dual clip ≤ 1, non-integer warm-up, unknown normalisation, …).
 *
 * @example
 * ```ts
 * import { resolveGrpoOptions } from 'reliquary/grpo'
 * const o = resolveGrpoOptions({ clipEpsilonHigh: 0.28, normalization: 'token' })
 * o.clipEpsilonLow // 0.2
 * ```
 */
export function resolveGrpoOptions(options: GrpoOptions = {}): ResolvedGrpoOptions {
  if (typeof options !== 'object' || options === null)
    throw invalidArgument('options', 'an options object', options)
  const profile = options.profile ?? DEFAULT_PROFILE
  const t = profile.training
  const clip = num(
    options.clipEpsilon ?? t.ppoClipEpsilon,
    'clipEpsilon',
    finiteIn(0, 1, false, true),
    'a number in [0, 1)',
  )
  const dual = options.dualClip
  const normalization = options.normalization ?? 'rollout'
  if (normalization !== 'rollout' && normalization !== 'token')
    throw invalidArgument('options.normalization', '"rollout" or "token"', normalization)
  const int = (x: number): boolean => Number.isSafeInteger(x) && x >= 0
  const resolved: ResolvedGrpoOptions = {
    profileId: profile.id,
    learningRate: num(
      options.learningRate ?? t.learningRate,
      'learningRate',
      finiteIn(0, Infinity),
      'a finite number ≥ 0',
    ),
    clipEpsilonLow: num(
      options.clipEpsilonLow ?? clip,
      'clipEpsilonLow',
      finiteIn(0, 1, false, true),
      'a number in [0, 1)',
    ),
    clipEpsilonHigh: num(
      options.clipEpsilonHigh ?? clip,
      'clipEpsilonHigh',
      finiteIn(0, Infinity),
      'a finite number ≥ 0',
    ),
    dualClip:
      dual === undefined
        ? null
        : num(
            dual,
            'dualClip',
            finiteIn(1, Infinity, true),
            'a finite number > 1 (or undefined to turn dual clip off)',
          ),
    klBeta: num(options.klBeta ?? t.klBeta, 'klBeta', finiteIn(0, Infinity), 'a finite number ≥ 0'),
    gradClipNorm: num(
      options.gradClipNorm ?? t.gradClipNorm,
      'gradClipNorm',
      (x) => x > 0,
      'a number > 0 (Infinity never clips)',
    ),
    warmupSteps: num(options.warmupSteps ?? t.warmupWindows, 'warmupSteps', int, 'an integer ≥ 0'),
    cosineMaxSteps: num(
      options.cosineMaxSteps ?? t.cosineMaxWindows,
      'cosineMaxSteps',
      int,
      'an integer ≥ 0',
    ),
    adamBeta1: num(
      options.adamBeta1 ?? t.adamBeta1,
      'adamBeta1',
      finiteIn(0, 1, false, true),
      'a number in [0, 1)',
    ),
    adamBeta2: num(
      options.adamBeta2 ?? t.adamBeta2,
      'adamBeta2',
      finiteIn(0, 1, false, true),
      'a number in [0, 1)',
    ),
    adamEpsilon: num(
      options.adamEpsilon ?? t.adamEpsilon,
      'adamEpsilon',
      finiteIn(0, Infinity, true),
      'a finite number > 0',
    ),
    weightDecay: num(
      options.weightDecay ?? t.weightDecay,
      'weightDecay',
      finiteIn(0, Infinity),
      'a finite number ≥ 0',
    ),
    normalization,
    sigmaEpsilon: num(
      options.sigmaEpsilon ?? profile.group.sigmaEpsilon,
      'sigmaEpsilon',
      finiteIn(0, Infinity),
      'a finite number ≥ 0',
    ),
  }
  return Object.freeze(resolved)
}
