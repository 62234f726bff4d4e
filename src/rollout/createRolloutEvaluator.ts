import type { CausalLM } from '../model/loadModel.js'
import { evaluateRollout } from './evaluateRollout.js'
import type { RolloutEvaluator } from './verifyRollout.js'

/** Options of {@link createRolloutEvaluator}. */
export type CreateRolloutEvaluatorOptions = {
  /** The EOS set the termination check reads. @default the model config's `eosTokenIds` */
  eosTokenIds?: readonly number[] | undefined
}

/**
 * Wraps a TF.js model as the {@link RolloutEvaluator}, the one seam between a model runtime and
 * the rollout checks: `verifyRollout` and the validator's admission call its `evaluate` once per
 * rollout (one forward pass, its outputs reused by every check). Another runtime (ONNX, a remote
 * worker) plugs in by implementing `RolloutEvaluator` itself.
 *
 * @param model - A model from `loadModel` (the validator's verify checkpoint).
 * @param options - {@link CreateRolloutEvaluatorOptions}
 * @returns The evaluator; it holds `model` without owning it.
 * @example
 * ```ts
 * import { verifyRollout } from 'reliquary'
 * import { createRolloutEvaluator, loadModel } from 'reliquary/model'
 * const model = createRolloutEvaluator(await loadModel('./qwen3-tiny'))
 * const v = await verifyRollout({ commit, minerHotkey, randomness, promptTokens, model })
 * ```
 */
export function createRolloutEvaluator(
  model: CausalLM,
  options: CreateRolloutEvaluatorOptions = {},
): RolloutEvaluator {
  const eosTokenIds = options.eosTokenIds ?? model.config.eosTokenIds
  return {
    vocabSize: model.config.vocabSize,
    maxPositions: model.config.maxPositionEmbeddings,
    eosTokenIds,
    evaluate: (tokens, o) => evaluateRollout(model, tokens, { ...o, eosTokenIds }),
  }
}
