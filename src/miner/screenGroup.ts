import { groupSigma, isInZone } from '../reward/groups.js'
import type { MinerContext } from './minerContext.js'
import { newGroupRecord } from './newGroupRecord.js'
import type { NextCheat } from './nextCheat.js'
import type { MinerWindow } from './planWindow.js'
import type { GeneratedGroup, GroupRecord } from './types.js'

/**
 * Records a generated group and keeps back the ones the validator would certainly reject: a
 * prompt with no room for a completion (`prompt_too_long`), a rollout that kept repeating an
 * earlier one (`duplicate_rollouts`: `hash_duplicate`), a group the picker gave up unfinished
 * (`given_up`), or rewards out of the zone
 * (`out_of_zone`, under `skipOutOfZone`; a lied-reward cheat is never kept back). A prompt whose
 * group gave the picker nothing to learn is released. The returned record's `skipped` is null
 * when the group goes on to be proven and submitted.
 *
 * - Spec: docs/protocol.md §2.4 "Zone", §4.3 worker step 7.
 * @internal
 */
export function screenGroup(
  ctx: MinerContext,
  window: MinerWindow,
  promptIdx: number,
  gen: GeneratedGroup | null,
  cheat: NextCheat | null,
): GroupRecord {
  const { picker, skipOutOfZone, profile } = ctx.config
  const w = window.windowN
  const kind = cheat?.kind ?? 'honest'
  const rewards = gen?.rewards ?? []
  const g = newGroupRecord({
    promptIdx,
    kind,
    windowN: w,
    provenInWindow: w,
    rewards,
    picked: rewards.length > 0,
  })
  if (gen === null) {
    picker.release(promptIdx)
    g.skipped = 'prompt_too_long'
    g.observed = true
  } else if (gen.duplicate || gen.givenUp) {
    // An unfinished group: the picker learns from it as from a duplicate.
    if (!g.picked) picker.release(promptIdx)
    g.skipped = gen.duplicate ? 'duplicate_rollouts' : 'given_up'
    const why = gen.duplicate
      ? 'a rollout kept repeating an earlier one (hash_duplicate)'
      : `given up after ${rewards.length} rollouts (the picker expects it cannot be sent)`
    ctx.log('debug', 'group_skipped', `prompt ${promptIdx}: ${why}, not submitted`, {
      windowN: w,
      promptIdx,
    })
  } else if (
    kind !== 'lie_reward' &&
    skipOutOfZone &&
    !isInZone(groupSigma(gen.rewards), { bootstrap: window.bootstrap, profile })
  ) {
    g.skipped = 'out_of_zone'
    ctx.log(
      'debug',
      'group_skipped',
      `prompt ${promptIdx}: rewards out of the zone (σ = ${g.sigma.toFixed(3)}), not submitted`,
      { windowN: w, promptIdx, rewards: gen.rewards },
    )
  }
  if (g.skipped !== null) ctx.ledger.countSkipped(w)
  return g
}
