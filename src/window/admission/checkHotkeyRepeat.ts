import { rolloutHash } from '../seal/hashDedup.js'
import type { ValidSubmission } from '../seal/validSubmission.js'
import type { WorkerContext } from './admissionContext.js'
import type { AdmissionCheck, CheckFailure } from './admissionTypes.js'

/** Rollout hashes of each accepted submission (E1 submissions carry none of their own). */
const hashesOf = new WeakMap<ValidSubmission, ReadonlySet<string>>()

function acceptedHashes(s: ValidSubmission): ReadonlySet<string> {
  let set = hashesOf.get(s)
  if (set === undefined) {
    set = new Set(
      s.rolloutHashes.length === s.rollouts.length
        ? s.rolloutHashes
        : s.rollouts.map((r) => rolloutHash(r.tokens)),
    )
    hashesOf.set(s, set)
  }
  return set
}

/**
 * The repeat this submission makes of one its hotkey already had accepted in the window, or null.
 * Runs as the `hotkey_repeat` check and again right before the submission is recorded (another
 * copy may have been accepted while this one was being verified).
 *
 * @internal
 */
export function findHotkeyRepeat(ctx: WorkerContext): CheckFailure | null {
  if (!ctx.config.profile.hardening.dedupeRepeats) return null
  const hotkey = ctx.request.miner_hotkey
  const earlier = ctx.batcher.validSubmissions().filter((s) => s.hotkey === hotkey)
  if (earlier.length === 0) return null
  const rollouts = ctx.request.rollouts
  for (let i = 0; i < rollouts.length; i++) {
    let h: string
    try {
      h = rolloutHash(rollouts[i]!.tokens)
    } catch {
      return { reason: 'bad_schema', detail: `rollout ${i}: tokens cannot be hashed` }
    }
    for (const s of earlier) {
      if (acceptedHashes(s).has(h))
        return {
          reason: 'hash_duplicate',
          detail: `rollout ${i} repeats a rollout this hotkey already had accepted (prompt ${s.promptIdx})`,
        }
    }
  }
  return null
}

/**
 * Hardening option `dedupeRepeats` (docs/protocol.md §4.5): a submission any of whose rollouts
 * repeats, token for token, a rollout the same hotkey already had accepted in this window is
 * refused `hash_duplicate`. The E1–E3 reference accepts such repeats and splits the prompt's
 * share among them (8 copies earn 8 shares), so the check runs only in a profile derived with
 * `withHardening(profile, { dedupeRepeats: true })`; `admissionChecksFor` places it after the
 * hash step (E3) or after `tokens_match` (E1).
 */
export const checkHotkeyRepeat: AdmissionCheck<WorkerContext> = {
  id: 'hotkey_repeat',
  run: findHotkeyRepeat,
}
