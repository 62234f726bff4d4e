import type { MinerContext } from './minerContext.js'
import { wireCheckpointHash } from './minerContext.js'
import type { MinerWindow } from './planWindow.js'
import type { GroupRecord, MinerGroupReport, MinerWindowReport } from './types.js'

/** The frozen report of one window's run, with the window's counters as they stand now. @internal */
export function windowReport(
  ctx: MinerContext,
  window: MinerWindow,
  groups: readonly GroupRecord[],
  downloaded: boolean,
): MinerWindowReport {
  const { checkpoint } = ctx.state
  return Object.freeze({
    windowN: window.windowN,
    randomness: window.state.randomness,
    checkpoint: Object.freeze({
      n: checkpoint.n,
      hash: wireCheckpointHash(ctx.state),
      dir: checkpoint.dir,
      downloaded,
    }),
    groups: Object.freeze(groups.map(groupReport)),
    stats: ctx.ledger.windowStats(window.windowN),
  })
}

function groupReport(g: GroupRecord): MinerGroupReport {
  return Object.freeze({
    promptIdx: g.promptIdx,
    kind: g.kind,
    provenInWindow: g.provenInWindow,
    rewards: Object.freeze([...g.rewards]),
    claimedRewards: Object.freeze([...g.claimedRewards]),
    sigma: g.sigma,
    skipped: g.skipped,
    merkleRoot: g.merkleRoot,
    drandRound: g.drandRound,
    response: g.response ? Object.freeze({ ...g.response }) : null,
    outcome: g.outcome,
    reason: g.reason,
  })
}
