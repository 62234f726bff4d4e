// The frontier prompt picker: ranks prompts by their estimated chance of an admissible group.
import { invalidArgument } from '../errors/base.js'
import { DEFAULT_PROFILE, type ProtocolProfile } from '../protocol/profiles.js'
import { checkIdx, checkOutcome, checkRewards, PickerCore } from './_pickerCore.js'
import type { GroupOutcome, GroupProgress, PickContext, PickerOptions } from './promptPicker.js'
import type { PromptPicker } from './promptPicker.js'
import { createFeatureModel } from './_featureModel.js'
import {
  betaBinomialZoneProbability,
  binomialZoneProbability,
  zoneSuccessCounts,
} from './zoneProbability.js'

/** Options of {@link createFrontierPicker}. */
export type FrontierPickerOptions = PickerOptions & {
  /** Group size M and zone thresholds come from here. @default DEFAULT_PROFILE */
  profile?: ProtocolProfile | undefined
  /** Score against the bootstrap zone (σ ≥ bootstrapSigmaMin). @default false */
  bootstrap?: boolean | undefined
  /**
   * Forgetting factor λ ∈ (0, 1] applied to a prompt's past counts before each new group, so the
   * estimate follows a policy that keeps training (an EMA over groups). 1 keeps every observation.
   * @default 0.8
   */
  decay?: number | undefined
  /**
   * Beta prior mean of an unseen prompt: a number in (0, 1), or `'pooled'` for the decayed success
   * rate over all of this miner's groups so far (decayed by max(decay, 0.99) per group; 0.5 before the first). @default 'pooled'
   */
  priorMean?: number | 'pooled' | undefined
  /** Beta prior strength α₀ + β₀ (pseudo-rollouts). @default 2 */
  priorStrength?: number | undefined
  /**
   * `'predictive'`: P(zone) under the Beta-binomial posterior predictive (uncertain prompts score
   * lower than well-measured p ≈ 0.5 ones). `'point'`: the binomial P(k ∈ zone | p̂) at the
   * posterior mean. @default 'predictive'
   */
  estimator?: 'predictive' | 'point' | undefined
  /** Probability that each pick is a uniformly random eligible prompt instead of the best one. @default 0.05 */
  explore?: number | undefined
  /**
   * {@link PromptPicker.keepGenerating} gives a group up once the completions kept so far carry at
   * least this estimated probability mass ({@link GroupProgress.seenMass}): further draws then
   * mostly repeat them, and a slot whose draws all repeat makes the group a `hash_duplicate`, so
   * finishing costs many rollouts for a group that is rarely sent (and, its rollouts being alike,
   * rarely in the zone). `Infinity` finishes every group. @default 0.6
   */
  giveUpMass?: number | undefined
  /**
   * Features of a prompt that a miner can read without generating (for example the number of
   * target characters and the search window of a target-token problem; finite numbers, the same
   * length for every prompt). When given, the picker fits a logistic regression of "the group was
   * admissible" (sent and in the zone) on `[1, …features]` over its own observed groups, and when
   * it would draw an unseen prompt it draws `featureCandidates` eligible unseen prompts instead
   * and takes the one with the highest forecast (uniform until `minFeatureGroups` groups with
   * both outcomes are observed).
   */
  promptFeatures?: ((promptIdx: number) => readonly number[]) | undefined
  /** Unseen prompts drawn per pick when ranking by `promptFeatures`. @default 16 */
  featureCandidates?: number | undefined
  /** Groups observed before the feature forecast is used. @default 8 */
  minFeatureGroups?: number | undefined
}

/** A prompt's current estimate, from {@link FrontierPicker.estimate}. */
export type PromptEstimate = {
  /** Posterior Beta α (prior + decayed successes). */
  readonly alpha: number
  /** Posterior Beta β (prior + decayed failures). */
  readonly beta: number
  /** Posterior mean success rate p̂. */
  readonly mean: number
  /** Groups observed on this prompt. */
  readonly groups: number
  /** Probability that the next group of M lands in the zone (per the picker's estimator). */
  readonly zoneProbability: number
  /**
   * Probability that the next group can be submitted at all (no rollout keeps repeating an
   * earlier one): the posterior mean of the prompt's decayed usable / duplicate group counts
   * under a prior of one group at the pooled rate (one duplicate halves it: a prompt whose
   * rollouts repeat once tends to repeat again); 1 while no group of this miner was a duplicate.
   */
  readonly usableProbability: number
  /** What picks rank by: `zoneProbability × usableProbability`, the chance of an admissible group. */
  readonly score: number
}

/** The frontier picker: a {@link PromptPicker} with per-prompt estimates. */
export interface FrontierPicker extends PromptPicker {
  /** The estimate for `promptIdx` (the prior for an unseen prompt). */
  estimate(promptIdx: number): PromptEstimate
  /** The success counts k (of M binary rewards) that land in the zone. */
  readonly zoneCounts: readonly number[]
  /** The next group's in-zone probability, `estimate(promptIdx).zoneProbability`. */
  predict(promptIdx: number): number
  /** `false` once `progress.seenMass` reaches the picker's `giveUpMass`. */
  keepGenerating(promptIdx: number, progress: GroupProgress): boolean
}

/** Strength, in groups, of the prior of a prompt's usable probability. */
const USABLE_PRIOR_GROUPS = 1

/** The options of {@link createFrontierPicker} checked, with their defaults. */
function resolveFrontierOptions(options: FrontierPickerOptions) {
  const {
    profile = DEFAULT_PROFILE,
    bootstrap = false,
    decay = 0.8,
    priorMean = 'pooled',
    priorStrength = 2,
    estimator = 'predictive',
    explore = 0.05,
    giveUpMass = 0.6,
    promptFeatures,
    featureCandidates = 16,
    minFeatureGroups = 8,
  } = options
  if (typeof decay !== 'number' || !(decay > 0 && decay <= 1))
    throw invalidArgument('decay', 'a number in (0, 1]', decay)
  if (
    priorMean !== 'pooled' &&
    (typeof priorMean !== 'number' || !(priorMean > 0 && priorMean < 1))
  ) {
    throw invalidArgument('priorMean', "a number in (0, 1) or 'pooled'", priorMean)
  }
  if (
    typeof priorStrength !== 'number' ||
    !(priorStrength > 0) ||
    !Number.isFinite(priorStrength)
  ) {
    throw invalidArgument('priorStrength', 'a finite number > 0', priorStrength)
  }
  if (estimator !== 'predictive' && estimator !== 'point')
    throw invalidArgument('estimator', "'predictive' or 'point'", estimator)
  if (typeof explore !== 'number' || !(explore >= 0 && explore <= 1))
    throw invalidArgument('explore', 'a number in [0, 1]', explore)
  if (typeof giveUpMass !== 'number' || !(giveUpMass > 0))
    throw invalidArgument('giveUpMass', 'a number > 0 (Infinity: never give up)', giveUpMass)
  if (promptFeatures !== undefined && typeof promptFeatures !== 'function')
    throw invalidArgument('promptFeatures', 'a function (promptIdx) => number[]', promptFeatures)
  if (!Number.isSafeInteger(featureCandidates) || featureCandidates < 1)
    throw invalidArgument('featureCandidates', 'a positive integer', featureCandidates)
  if (!Number.isSafeInteger(minFeatureGroups) || minFeatureGroups < 1)
    throw invalidArgument('minFeatureGroups', 'a positive integer', minFeatureGroups)
  const features = promptFeatures && { of: promptFeatures, featureCandidates, minFeatureGroups }
  return {
    ...{ profile, bootstrap, decay, priorMean, priorStrength, estimator, explore, giveUpMass },
    features,
  }
}

/**
 * A frontier {@link PromptPicker}: keeps a Beta posterior of each prompt's success rate from the
 * miner's own past groups (decayed by `decay` per new group, an EMA), scores every prompt by the
 * probability that its next group of M lands in the zone and can be submitted (groups observed
 * as `duplicate` lower a prompt's usable probability: such a prompt never enters the cooldown,
 * so without this the picker would keep coming back to a prompt whose in-zone-looking groups are
 * never sent), and picks the highest-scoring eligible
 * prompts (ties broken at random; with probability `explore` a pick is uniform instead). Unseen
 * prompts all share the prior's score and are drawn at random, so a large environment costs only
 * the observed prompts per call.
 *
 * Prompts whose estimated p is near 0.5 score highest; prompts always solved or never solved
 * score near 0. With a pooled prior, unseen prompts in an environment of mostly dead prompts
 * score below prompts already seen in the zone.
 *
 * - Spec: docs/protocol.md §2.4 "Zone", §5.5 (cooldown prompts are never picked).
 *
 * @param options - {@link FrontierPickerOptions}
 * @returns A {@link FrontierPicker}.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for bad options; its methods for bad arguments.
 * @example
 * ```ts
 * const picker = createFrontierPicker({ size: 1000, seed: 7, cooldown })
 * const prompts = picker.pickPrompts(4, { window: 12 })
 * // … generate M rollouts per prompt, reward them …
 * picker.observe(prompts[0]!, rewards)
 * ```
 */
export function createFrontierPicker(options: FrontierPickerOptions): FrontierPicker {
  const core = new PickerCore(options)
  const resolved = resolveFrontierOptions(options)
  const { profile, bootstrap, decay, priorMean, priorStrength, estimator, explore, giveUpMass } =
    resolved
  const featureModel = createFeatureModel(resolved.features, profile, bootstrap)
  const rollouts = profile.group.rolloutsPerGroup
  const zoneCounts = Object.freeze(zoneSuccessCounts(rollouts, { bootstrap, profile }))

  /** Decayed success / failure pseudo-counts and usable / duplicate group counts per prompt. */
  const counts = new Map<
    number,
    { s: number; f: number; groups: number; usable: number; duplicate: number }
  >()
  // The pooled rate moves slowly: it describes the environment, not one prompt.
  const pooledDecay = Math.max(decay, 0.99)
  let pooledS = 0
  let pooledF = 0
  let pooledUsable = 0
  let pooledDuplicate = 0

  type Prior = { a: number; b: number; usable: number }
  const prior = (): Prior => {
    const total = pooledS + pooledF
    const m = priorMean === 'pooled' ? (total > 0 ? pooledS / total : 0.5) : priorMean
    // Keep both parameters positive even when every group so far failed (or succeeded).
    const mc = Math.min(1 - 1e-3, Math.max(1e-3, m))
    const groups = pooledUsable + pooledDuplicate
    const usable = pooledDuplicate > 0 ? pooledUsable / groups : 1
    return { a: mc * priorStrength, b: (1 - mc) * priorStrength, usable }
  }
  const score = (alpha: number, beta: number): number =>
    estimator === 'predictive'
      ? betaBinomialZoneProbability(alpha, beta, rollouts, zoneCounts)
      : binomialZoneProbability(alpha / (alpha + beta), rollouts, zoneCounts)
  const estimateWith = (pr: Prior, promptIdx: number): PromptEstimate => {
    const c = counts.get(promptIdx)
    const alpha = pr.a + (c?.s ?? 0)
    const beta = pr.b + (c?.f ?? 0)
    const zoneProbability = score(alpha, beta)
    const usableProbability =
      (pr.usable * USABLE_PRIOR_GROUPS + (c?.usable ?? 0)) /
      (USABLE_PRIOR_GROUPS + (c?.usable ?? 0) + (c?.duplicate ?? 0))
    return Object.freeze({
      alpha,
      beta,
      mean: alpha / (alpha + beta),
      groups: c?.groups ?? 0,
      zoneProbability,
      usableProbability,
      score: zoneProbability * usableProbability,
    })
  }

  return Object.freeze({
    zoneCounts,
    estimate(promptIdx: number): PromptEstimate {
      checkIdx(promptIdx, core.size)
      return estimateWith(prior(), promptIdx)
    },
    pickPrompts(n: number, context: PickContext = {}): number[] {
      const ok = core.eligibility(n, context)
      const pr = prior()
      const unseenScore = score(pr.a, pr.b) * pr.usable
      // Observed eligible prompts, best first; a random key breaks ties.
      const ranked = [...counts.keys()]
        .filter(ok)
        .map((p) => ({ p, z: estimateWith(pr, p).score, key: core.rng() }))
        .sort((x, y) => y.z - x.z || x.key - y.key)
      const picked: number[] = []
      const taken = new Set<number>()
      const okFree = (p: number): boolean => !taken.has(p) && ok(p)
      let r = 0
      while (picked.length < n) {
        const exploring = explore > 0 && core.rng() < explore
        while (r < ranked.length && taken.has(ranked[r]!.p)) r++
        const best = ranked[r]
        let next: number | undefined
        if (!exploring && best && best.z >= unseenScore) next = best.p
        else {
          // Uniform over eligible prompts (exploring), or over unseen ones when they score higher.
          const unseen = exploring ? undefined : (p: number) => counts.has(p)
          const draws = exploring ? 1 : featureModel.candidates()
          next = featureModel.best(core.uniform(draws, okFree, unseen))
          if (next === undefined && !exploring && best) next = best.p
          if (next === undefined && exploring) next = best?.p
        }
        if (next === undefined) break
        taken.add(next)
        picked.push(next)
      }
      return core.flyAll(picked)
    },
    observe(promptIdx: number, rewards: readonly number[], outcome: GroupOutcome = {}): void {
      checkIdx(promptIdx, core.size)
      const s = checkRewards(rewards)
      const dup = checkOutcome(outcome) ? 1 : 0
      const f = rewards.length - s
      const c = counts.get(promptIdx) ?? { s: 0, f: 0, groups: 0, usable: 0, duplicate: 0 }
      counts.set(promptIdx, {
        s: c.s * decay + s,
        f: c.f * decay + f,
        groups: c.groups + 1,
        usable: c.usable * decay + 1 - dup,
        duplicate: c.duplicate * decay + dup,
      })
      pooledS = pooledS * pooledDecay + s
      pooledF = pooledF * pooledDecay + f
      pooledUsable = pooledUsable * pooledDecay + 1 - dup
      pooledDuplicate = pooledDuplicate * pooledDecay + dup
      featureModel.observe(promptIdx, rewards, dup === 1)
      core.flying.delete(promptIdx)
    },
    predict(promptIdx: number): number {
      checkIdx(promptIdx, core.size)
      return estimateWith(prior(), promptIdx).zoneProbability
    },
    keepGenerating(promptIdx: number, progress: GroupProgress): boolean {
      checkIdx(promptIdx, core.size)
      return !(progress.seenMass >= giveUpMass)
    },
    release(promptIdx: number): void {
      checkIdx(promptIdx, core.size)
      core.flying.delete(promptIdx)
    },
    inFlight: () => core.inFlight(),
  })
}
