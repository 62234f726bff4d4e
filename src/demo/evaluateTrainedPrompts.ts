import { loadModel, type CausalLM } from '../model/loadModel.js'
import type { WindowReport } from '../validator/createValidator.js'
import type { DemoContext } from './demoContext.js'
import { promptRewardSum } from './promptRewardSum.js'
import type { DemoWindowSummary } from './report.js'

/** The trained-prompt evaluation across windows. @internal */
export type TrainedPromptEvaluation = {
  /** The first distinct prompts of the trained batches, fixed once full. */
  readonly evalSet: number[]
  /** Size of the evaluation set when each window was evaluated. */
  readonly evalSizes: number[]
  /** Per evaluated prompt: the successes of the base model (evaluated once). */
  readonly baseRewards: Map<number, number>
  /** Per evaluated prompt: the successes of the latest policy evaluation. */
  readonly lastPolicy: Map<number, number>
  /** The base model, loaded on first use (the caller disposes it). */
  baseModel: CausalLM | null
}

/** An empty evaluation. @internal */
export function createTrainedPromptEvaluation(): TrainedPromptEvaluation {
  return {
    evalSet: [],
    evalSizes: [],
    baseRewards: new Map(),
    lastPolicy: new Map(),
    baseModel: null,
  }
}

/**
 * After a window: grows the evaluation set from the trained batch's prompts, then samples the
 * current policy and the base model on it with the same seeds and returns their mean rewards.
 * A window without a step on an unchanged set repeats the previous numbers (same weights, same
 * seeds); an empty set gives nulls.
 * @internal
 */
export async function evaluateTrainedPrompts(
  ctx: DemoContext,
  ev: TrainedPromptEvaluation,
  policy: CausalLM,
  report: WindowReport,
  previous: DemoWindowSummary | undefined,
): Promise<{
  trainedPromptReward: number | null
  baseTrainedPromptReward: number | null
  seconds: number
}> {
  const { evalPrompts, evalRollouts } = ctx.config
  const started = performance.now()
  if (report.trained)
    for (const p of report.batchPrompts)
      if (ev.evalSet.length < evalPrompts && !ev.evalSet.includes(p)) ev.evalSet.push(p)
  let trainedPromptReward: number | null = null
  let baseTrainedPromptReward: number | null = null
  if (!report.trained && previous && ev.evalSizes.at(-1) === ev.evalSet.length) {
    // No step, same weights, same seeds: the evaluation would repeat the previous one exactly.
    trainedPromptReward = previous.trainedPromptReward ?? null
    baseTrainedPromptReward = previous.baseTrainedPromptReward ?? null
  } else if (ev.evalSet.length > 0) {
    let policySum = 0
    let baseSum = 0
    for (const idx of ev.evalSet) {
      const k = await rewardSum(ctx, policy, idx)
      ev.lastPolicy.set(idx, k)
      policySum += k
      let b = ev.baseRewards.get(idx)
      if (b === undefined) {
        ev.baseModel ??= await loadModel(ctx.modelDir, { trainable: false })
        b = await rewardSum(ctx, ev.baseModel, idx)
        ev.baseRewards.set(idx, b)
      }
      baseSum += b
    }
    trainedPromptReward = policySum / (ev.evalSet.length * evalRollouts)
    baseTrainedPromptReward = baseSum / (ev.evalSet.length * evalRollouts)
  }
  ev.evalSizes.push(ev.evalSet.length)
  return {
    trainedPromptReward,
    baseTrainedPromptReward,
    seconds: (performance.now() - started) / 1000,
  }
}

function rewardSum(ctx: DemoContext, model: CausalLM, idx: number): Promise<number> {
  const { tokenizer, profile, environment, config } = ctx
  return promptRewardSum(
    model,
    tokenizer,
    profile,
    environment,
    idx,
    config.evalRollouts,
    config.seed,
  )
}
