/**
 * Batch planning shared by grpoLoss and grpoStep: input checks, group advantages and which
 * rollouts contribute, all before any tensor work (so a malformed batch throws before the model
 * or the optimizer is touched).
 * @internal
 */
import { invalidArgument } from '../errors/base.js'
import type { CausalLM } from '../model/loadModel.js'
import { groupAdvantages } from '../reward/groups.js'
import type { GrpoBatch, GrpoRollout, GrpoSkipReason, ResolvedGrpoOptions } from './types.js'

/** One rollout's place in the plan. */
export type PlannedRollout = {
  readonly group: number
  readonly index: number
  readonly advantage: number
  readonly skipReason: GrpoSkipReason | null
  readonly tokens: readonly number[]
  readonly promptLength: number
  /** π_old as float32, completion only; empty when skipped. */
  readonly oldLogprobs: Float32Array
}

export type BatchPlan = {
  readonly rollouts: readonly PlannedRollout[]
  readonly used: readonly PlannedRollout[]
  readonly skippedGroups: number
  readonly skippedRollouts: number
  readonly rolloutsTotal: number
  readonly tokensUsed: number
}

/** Validates `batch` against `model` and decides which rollouts train. */
export function planBatch(model: CausalLM, batch: GrpoBatch, o: ResolvedGrpoOptions): BatchPlan {
  if (!Array.isArray(batch)) throw invalidArgument('batch', 'an array of groups', batch)
  const rollouts: PlannedRollout[] = []
  let skippedGroups = 0
  let skippedRollouts = 0
  let rolloutsTotal = 0
  let tokensUsed = 0
  batch.forEach((group, gi) => {
    if (typeof group !== 'object' || group === null || !Array.isArray(group.rollouts))
      throw invalidArgument(`batch[${gi}]`, 'a group { rollouts: [...] }', group)
    const groupRollouts: readonly GrpoRollout[] = group.rollouts
    const rewards = groupRollouts.map((r, ri) => {
      const where = `batch[${gi}].rollouts[${ri}]`
      if (typeof r !== 'object' || r === null) throw invalidArgument(where, 'a rollout object', r)
      if (typeof r.reward !== 'number' || !Number.isFinite(r.reward))
        throw invalidArgument(`${where}.reward`, 'a finite number', r.reward)
      model.assertTokens(r.tokens, `${where}.tokens`)
      if (!Number.isSafeInteger(r.promptLength))
        throw invalidArgument(`${where}.promptLength`, 'an integer', r.promptLength)
      const lps: readonly number[] = r.tokenLogprobs
      if (!Array.isArray(lps))
        throw invalidArgument(`${where}.tokenLogprobs`, 'an array of finite numbers', lps)
      lps.forEach((x: number, i: number) => {
        if (typeof x !== 'number' || !Number.isFinite(x))
          throw invalidArgument(`${where}.tokenLogprobs[${i}]`, 'a finite number', x)
      })
      return r.reward
    })
    rolloutsTotal += groupRollouts.length
    // `_compute_advantages`, with the cut-off taken from the resolved options.
    const advantages = groupAdvantages(rewards, { sigmaEpsilon: o.sigmaEpsilon })
    // The reference: `if all(a == 0.0 for a in advantages): skip group` (also true for empty groups).
    const degenerate = advantages.every((a) => a === 0)
    if (degenerate) skippedGroups++
    groupRollouts.forEach((r, ri) => {
      let skipReason: GrpoSkipReason | null = null
      if (degenerate) skipReason = 'zero_variance_group'
      else if (r.promptLength <= 0 || r.tokenLogprobs.length === 0) skipReason = 'missing_logprobs'
      // new_logprobs has T − 1 entries; the completion slice starts at promptLength − 1.
      else if (r.tokenLogprobs.length !== Math.max(0, r.tokens.length - r.promptLength))
        skipReason = 'length_mismatch'
      if (skipReason !== null && !degenerate) skippedRollouts++
      const used = skipReason === null
      if (used) tokensUsed += r.tokenLogprobs.length
      rollouts.push({
        group: gi,
        index: ri,
        advantage: advantages[ri] as number,
        skipReason,
        tokens: r.tokens,
        promptLength: r.promptLength,
        oldLogprobs: used ? Float32Array.from(r.tokenLogprobs) : new Float32Array(0),
      })
    })
  })
  return {
    rollouts,
    used: rollouts.filter((r) => r.skipReason === null),
    skippedGroups,
    skippedRollouts,
    rolloutsTotal,
    tokensUsed,
  }
}

/** The KL reference must score the same vocabulary as the policy. */
export function checkReference(model: CausalLM, ref: CausalLM | null, param: string): void {
  if (ref === null || ref === model) return
  if (typeof ref !== 'object' || !(ref.weights instanceof Map))
    throw invalidArgument(param, 'a CausalLM from loadModel', ref)
  if (
    ref.config.vocabSize !== model.config.vocabSize ||
    ref.config.hiddenSize !== model.config.hiddenSize
  ) {
    throw invalidArgument(
      param,
      `a model of the policy's shape (vocab ${model.config.vocabSize}, hidden ${model.config.hiddenSize})`,
      `vocab ${ref.config.vocabSize}, hidden ${ref.config.hiddenSize}`,
    )
  }
}
