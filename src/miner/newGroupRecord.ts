import { groupSigma } from '../reward/groups.js'
import type { GroupRecord, MinerGroupKind } from './types.js'

/**
 * A fresh record of one group: not yet submitted (`outcome: 'skipped'` until a step says
 * otherwise), claiming its real rewards.
 * @internal
 */
export function newGroupRecord(parameters: {
  promptIdx: number
  kind: MinerGroupKind
  windowN: number
  provenInWindow: number
  rewards: number[]
  picked: boolean
}): GroupRecord {
  const { rewards } = parameters
  return {
    ...parameters,
    claimedRewards: rewards,
    sigma: groupSigma(rewards),
    skipped: null,
    merkleRoot: null,
    drandRound: null,
    response: null,
    outcome: 'skipped',
    reason: null,
    observed: false,
  }
}
