import { ReliquaryError } from '../errors/base.js'
import { defineProfile, type ProtocolProfile, type RejectReason } from './profiles.js'

/** Largest `sketchChallengeK` accepted (the validator runs one hidden row per position). */
export const MAX_SKETCH_CHALLENGE_K = 1024

/**
 * The opt-in hardening options of {@link withHardening}. Each one can change an honest outcome
 * compared with the Python reference, so none is on in `e1` or `e3` (docs/protocol.md §0, §4.5);
 * what each costs in honest rejects and what it stops is measured in SECURITY.md.
 */
export type HardeningOptions = {
  /**
   * Refuse (`hash_duplicate`) a submission any of whose rollouts repeats, token for token, a
   * rollout of a submission the same hotkey already had accepted in this window. The reference
   * pays each identical repeat its own share of the prompt (8 copies earn 8 shares).
   */
  dedupeRepeats?: boolean | undefined
  /**
   * A stricter GRAIL sketch tolerance base (integer, at most the base profile's; `e3` has 5000).
   * Calibrate it on honest drift measured on your model and precision (`calibrateToleranceBase`
   * in `reliquary/grail`); a base below the honest drift refuses honest miners.
   */
  sketchToleranceBase?: number | undefined
  /**
   * Positions the sketch check challenges per rollout (integer, at least `grail.challengeK`, at
   * most {@link MAX_SKETCH_CHALLENGE_K}). The logprob check and the commit schema keep
   * `grail.challengeK`.
   */
  sketchChallengeK?: number | undefined
  /** The derived profile's id. @default `${base.id}+dedupe+tol<base>+k<K>` (the options set) */
  id?: string | undefined
}

function bad(message: string): ReliquaryError {
  return new ReliquaryError('INVALID_ARGUMENT', message, {
    hints: ['Hardening options only tighten the base profile; see docs/protocol.md §4.5.'],
  })
}

/**
 * Derives a hardened profile from `base` (usually `e3`): the base era's rules and numbers, plus
 * the opt-in checks named in `options`. A validator that must agree with the reference keeps the
 * faithful profile; one that prefers to refuse more forgeries at a measured cost in honest
 * rejects (SECURITY.md) uses the derived one. Options left out keep the base's behaviour; with
 * none set the base itself is returned.
 *
 * - Spec: docs/protocol.md §4.5.
 *
 * @param base - The profile to harden.
 * @param options - {@link HardeningOptions}
 * @returns A new frozen profile with its own id (or `base` when no option is set).
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a tolerance that is not a non-negative integer
 *   at most the base's, or a challenge count that is not an integer in
 *   [`grail.challengeK`, {@link MAX_SKETCH_CHALLENGE_K}].
 * @example
 * ```ts
 * import { e3, withHardening } from 'reliquary/protocol'
 * const hardened = withHardening(e3, { dedupeRepeats: true, sketchChallengeK: 64 })
 * hardened.id // "e3+dedupe+k64"
 * ```
 */
export function withHardening(base: ProtocolProfile, options: HardeningOptions): ProtocolProfile {
  const { dedupeRepeats, sketchToleranceBase: tol, sketchChallengeK: k } = options
  if (
    tol !== undefined &&
    !(Number.isSafeInteger(tol) && tol >= 0 && tol <= base.grail.toleranceBase)
  )
    throw bad(
      `"sketchToleranceBase" must be an integer in [0, ${base.grail.toleranceBase}], received ${String(tol)}.`,
    )
  if (
    k !== undefined &&
    !(Number.isSafeInteger(k) && k >= base.grail.challengeK && k <= MAX_SKETCH_CHALLENGE_K)
  )
    throw bad(
      `"sketchChallengeK" must be an integer in [${base.grail.challengeK}, ${MAX_SKETCH_CHALLENGE_K}], received ${String(k)}.`,
    )
  const dedupe = dedupeRepeats === true
  if (!dedupe && tol === undefined && k === undefined) return base
  const tags = [
    ...(dedupe ? ['dedupe'] : []),
    ...(tol !== undefined ? [`tol${tol}`] : []),
    ...(k !== undefined ? [`k${k}`] : []),
  ]
  const reasons: RejectReason[] = [...base.rejectReasons]
  if (dedupe && !reasons.includes('hash_duplicate')) reasons.push('hash_duplicate')
  return defineProfile(base, {
    id: options.id ?? `${base.id}+${tags.join('+')}`,
    description: `${base.description}; hardened: ${tags.join(', ')}`,
    ...(tol !== undefined ? { grail: { toleranceBase: tol } } : {}),
    hardening: {
      dedupeRepeats: dedupe || base.hardening.dedupeRepeats,
      sketchChallengeK: Math.max(k ?? 0, base.hardening.sketchChallengeK),
      baseProfileId: publishedProfileId(base),
    },
    rejectReasons: reasons,
  })
}

/**
 * The profile id a validator publishes (custody manifests' `profile_id`) and miners expect: the
 * id of the profile a hardened one was derived from, since hardening changes only the
 * validator's admission, never the wire, the proofs or the training; otherwise the profile's own.
 *
 * @param profile - Any profile.
 * @returns `profile.hardening.baseProfileId` when set, else `profile.id`.
 * @example
 * ```ts
 * import { e3, publishedProfileId, withHardening } from 'reliquary/protocol'
 * publishedProfileId(withHardening(e3, { dedupeRepeats: true })) // "e3"
 * ```
 */
export function publishedProfileId(profile: ProtocolProfile): string {
  return profile.hardening.baseProfileId || profile.id
}
