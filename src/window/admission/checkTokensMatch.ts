import type { AdmissionCheck } from './admissionTypes.js'
import type { WorkerContext } from './admissionContext.js'

function commitTokensOf(commit: unknown): unknown {
  return typeof commit === 'object' &&
    commit !== null &&
    !Array.isArray(commit) &&
    Object.hasOwn(commit, 'tokens')
    ? (commit as Record<string, unknown>).tokens
    : undefined
}

/**
 * Each rollout's outer `tokens` must equal its `commit.tokens`, id for id (`tokens_mismatch`).
 *
 * E1–E3 recompute the reward on the outer tokens but prove, sign and hash `commit.tokens`, so a
 * group can prove an honest sequence and be scored on edited tokens (the token split, attack #27
 * of docs/protocol.md §10). An honest miner sends the same list twice, so only a forgery fails this
 * check, and it is on in every profile (the reference added `TOKENS_MISMATCH` after E3, §11). It
 * runs first among the worker steps that read rollout content, so the hash, reward and proof
 * steps after it all see one sequence. A `commit.tokens` that is not an array is left to the
 * hash step, which answers `bad_schema` as before.
 */
export const checkTokensMatch: AdmissionCheck<WorkerContext> = {
  id: 'tokens_match',
  run: (ctx) => {
    const rollouts = ctx.request.rollouts
    for (let i = 0; i < rollouts.length; i++) {
      const outer = rollouts[i]!.tokens
      const inner = commitTokensOf(rollouts[i]!.commit)
      if (!Array.isArray(inner)) continue
      let same = inner.length === outer.length
      for (let j = 0; same && j < outer.length; j++) same = inner[j] === outer[j]
      if (!same)
        return {
          reason: 'tokens_mismatch',
          detail: `rollout ${i}: tokens differ from commit.tokens (${outer.length} vs ${inner.length} ids)`,
        }
    }
    return null
  },
}
