// The frontier picker's prompt-feature forecast: a logistic regression of "the group was
// admissible" (sent and in the zone) on the prompt's features, refitted on the picker's own
// observed groups, used to choose the best of a few unseen candidates.
import { invalidArgument } from '../errors/base.js'
import type { ProtocolProfile } from '../protocol/profiles.js'
import { groupSigma, isInZone } from '../reward/groups.js'
import { fitLogistic, logistic } from './fitLogistic.js'

/** What the frontier picker asks of its feature model. @internal */
export type FeatureModel = {
  /** Unseen prompts to draw per pick (1 while the model is not in use). */
  candidates(): number
  /** The candidate with the highest forecast (the first one while the model is not in use). */
  best(candidates: readonly number[]): number | undefined
  /** Records one observed group. */
  observe(promptIdx: number, rewards: readonly number[], keptBack: boolean): void
}

/**
 * A {@link FeatureModel}; without features, one that always draws a single uniform candidate.
 * @internal
 */
export function createFeatureModel(
  features:
    | {
        of: (promptIdx: number) => readonly number[]
        featureCandidates: number
        minFeatureGroups: number
      }
    | undefined,
  profile: ProtocolProfile,
  bootstrap: boolean,
): FeatureModel {
  if (!features) return { candidates: () => 1, best: (c) => c[0], observe: () => undefined }
  const rows: number[][] = []
  const ys: number[] = []
  let weights: number[] | null = null
  let dirty = false
  const rowOf = (p: number): number[] => {
    const f = features.of(p)
    if (!Array.isArray(f) || f.some((v) => typeof v !== 'number' || !Number.isFinite(v)))
      throw invalidArgument('promptFeatures(promptIdx)', 'an array of finite numbers', f)
    return [1, ...f]
  }
  const ready = (): boolean => {
    const hits = ys.reduce((a, y) => a + y, 0)
    return ys.length >= features.minFeatureGroups && hits > 0 && hits < ys.length
  }
  const model = (): number[] => {
    if (dirty || weights === null) {
      weights = fitLogistic(rows, ys)
      dirty = false
    }
    return weights
  }
  return {
    candidates: () => (ready() ? features.featureCandidates : 1),
    best(candidates) {
      if (candidates.length <= 1 || !ready()) return candidates[0]
      const w = model()
      let best = candidates[0]
      let bestP = -1
      for (const p of candidates) {
        const f = logistic(w, rowOf(p))
        if (f > bestP) {
          bestP = f
          best = p
        }
      }
      return best
    },
    observe(promptIdx, rewards, keptBack) {
      const admissible =
        !keptBack &&
        rewards.length === profile.group.rolloutsPerGroup &&
        isInZone(groupSigma(rewards), { bootstrap, profile })
      rows.push(rowOf(promptIdx))
      ys.push(admissible ? 1 : 0)
      dirty = true
    },
  }
}
