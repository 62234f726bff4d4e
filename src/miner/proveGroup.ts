import { proveWithModel } from '../rollout/proveWithModel.js'
import type { Commit } from '../protocol/schemas.js'
import { groupSigma, isInZone } from '../reward/groups.js'
import { fabricateSketches, zoneShapedRewards } from './cheat.js'
import type { MinerContext } from './minerContext.js'
import type { NextCheat } from './nextCheat.js'
import type { MinerWindow } from './planWindow.js'
import type { SubmissionRollout } from './submission.js'
import type { GeneratedGroup, GroupRecord } from './types.js'

const REPLAY_STASH_MAX = 32

/**
 * Step 3b of a miner's window: proves every rollout of a generated group with `proveWithModel`
 * against the window's randomness and returns the rollouts to submit. An honest miner sends
 * them as they are. A cheater first keeps an in-zone honest group for a later replay, then
 * applies its cheat: fabricated sketches, or rewards shaped into the zone (recorded in
 * `g.claimedRewards` and `g.sigma`).
 *
 * - Spec: docs/protocol.md §1.9, §1.10 (E3 randomness), §3.1.
 * @internal
 */
export async function proveGroup(
  ctx: MinerContext,
  window: MinerWindow,
  gen: GeneratedGroup,
  g: GroupRecord,
  cheat: NextCheat | null,
): Promise<SubmissionRollout[]> {
  const { hotkey, profile } = ctx.config
  const honest: SubmissionRollout[] = []
  for (const [i, tokens] of gen.tokens.entries()) {
    const commit = await proveWithModel({
      model: ctx.state.model!,
      tokens,
      promptLength: gen.promptTokens.length,
      randomness: window.state.randomness,
      hotkey,
      profile,
    })
    honest.push({ tokens, reward: gen.rewards[i]!, commit })
  }
  if (!cheat) return honest
  const stash = ctx.state.replayStash
  if (isInZone(groupSigma(gen.rewards), { bootstrap: window.bootstrap, profile })) {
    stash.push({
      windowN: window.windowN,
      promptIdx: g.promptIdx,
      rewards: gen.rewards,
      rollouts: honest,
    })
    if (stash.length > REPLAY_STASH_MAX) stash.shift()
  }
  if (cheat.kind === 'fabricate_sketch') {
    return honest.map((r) => ({
      ...r,
      commit: fabricateSketches(r.commit as Commit, hotkey, { profile }),
    }))
  }
  g.claimedRewards = zoneShapedRewards(gen.rewards, { profile, bootstrap: window.bootstrap })
  g.sigma = groupSigma(g.claimedRewards)
  return honest.map((r, i) => ({ ...r, reward: g.claimedRewards[i]! }))
}
