import { mathReward } from '../../reward/mathReward.js'
import { omiReward } from '../../reward/omiReward.js'
import { groupAdvantages, groupSigma, isInZone } from '../../reward/groups.js'
import { section, vnum, type Recorder } from '../recorder.js'
import type { Suite } from '../types.js'

/** Advantages and σ agree with the reference within this (they are bit-identical on the seed set). */
const FLOAT_TOLERANCE = 1e-12

function rewardCase(fn: (completion: string, gt: string) => number, key: string) {
  return (rows: Record<string, any>[], rec: Recorder): void =>
    rows.forEach((c, i) => {
      rec.guard(`${key}[${i}]`, () => {
        const got = fn(c.completion, c.ground_truth)
        return got === vnum(c.reward) || `reward ${got}, reference ${c.reward}`
      })
    })
}

/**
 * Suites over the reward vector files: `math_reward[]` (E1 MATH boxed-answer reward), `groups[]`
 * (σ, zone, bootstrap zone, GRPO advantages) and `omi_reward[]` (E3 OpenMathInstruct reward).
 */
export const rewardSuites: Suite[] = [
  section('reward.math', 'math_reward', rewardCase(mathReward, 'math_reward')),
  section(
    'reward.groups',
    'groups',
    (rows, rec) =>
      rows.forEach((c, i) => {
        rec.guard(`groups[${i}]`, () => {
          const rewards = (c.rewards as unknown[]).map(vnum)
          const sigma = groupSigma(rewards)
          const sigmaDiff = Math.abs(sigma - vnum(c.sigma))
          rec.metric(sigmaDiff)
          if (!(sigmaDiff <= FLOAT_TOLERANCE)) return `sigma ${sigma}, reference ${c.sigma}`
          if (isInZone(sigma) !== c.in_zone) return `in_zone ${!c.in_zone}, reference ${c.in_zone}`
          if (isInZone(sigma, { bootstrap: true }) !== c.in_zone_bootstrap)
            return `in_zone_bootstrap ${!c.in_zone_bootstrap}, reference ${c.in_zone_bootstrap}`
          const adv = groupAdvantages(rewards)
          const ref = (c.advantages as unknown[]).map(vnum)
          if (adv.length !== ref.length)
            return `advantages length ${adv.length}, reference ${ref.length}`
          let worst = 0
          adv.forEach((a, j) => {
            worst = Math.max(worst, Math.abs(a - ref[j]!))
          })
          rec.metric(worst)
          return worst <= FLOAT_TOLERANCE || `advantages differ by ${worst}`
        })
      }),
    'max_abs_diff',
  ),
  section('reward.omi', 'omi_reward', rewardCase(omiReward, 'omi_reward')),
]
