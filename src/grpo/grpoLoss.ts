import * as tf from '@tensorflow/tfjs-core'
import { invalidArgument } from '../errors/base.js'
import type { CausalLM } from '../model/loadModel.js'
import { MetricsAccumulator, readScalars, toResolved } from './_metrics.js'
import { checkReference, planBatch } from './_plan.js'
import { passLogprobs, passTerms } from './_terms.js'
import type {
  GrpoBatch,
  GrpoBatchMetrics,
  GrpoOptions,
  GrpoRolloutTerms,
  ResolvedGrpoOptions,
} from './types.js'

/** Options of {@link grpoLoss}: the hyper-parameters plus the KL reference. */
export type GrpoLossOptions = (GrpoOptions | ResolvedGrpoOptions) & {
  /**
   * The frozen KL reference model. Required when β > 0; passing the policy itself evaluates the
   * loss as at the first step from the starting checkpoint (KL = 0) with a single forward pass.
   */
  referenceModel?: CausalLM | null | undefined
}

/** Result of {@link grpoLoss}: batch metrics and every rollout's terms, as plain numbers. */
export type GrpoLossReturnType = GrpoBatchMetrics & {
  /** One entry per rollout of the batch, group by group. */
  readonly rollouts: readonly GrpoRolloutTerms[]
}

/**
 * Evaluates the GRPO loss of a batch without changing anything: group advantages, π_new from
 * `model` (fp32 log-softmax over the completion positions `promptLength − 1 … T − 2`), π_old from
 * the miner's completion-only `tokenLogprobs`, the PPO clipped surrogate and the k3 KL against
 * `referenceModel`, normalised as the reference does. Rollouts of zero-variance groups and
 * rollouts with missing or mismatched log-probs are skipped but still counted in
 * `n_total_rollouts`, as in the reference.
 *
 * - Spec: docs/protocol.md §7 (mirrors `_rollout_loss` and the loop of `train_step` in
 *   `reliquary/validator/training.py` at 59b4718).
 *
 * @param model - The policy. Not modified.
 * @param batch - The window's groups.
 * @param options - {@link GrpoLossOptions}
 * @returns Plain numbers: per-rollout `ppoLoss`/`kl`/`advantage` and batch metrics.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a malformed batch (bad token ids, non-finite
 *   rewards or log-probs, non-integer prompt length), a bad option, or β > 0 without a reference model.
 *
 * @example
 * ```ts
 * import { loadModel } from 'reliquary/model'
 * import { grpoLoss } from 'reliquary/grpo'
 * const model = await loadModel('./qwen3-tiny')
 * const r = await grpoLoss(model, batch, { referenceModel: model })
 * console.log(r.rollouts.map((t) => t.ppoLoss))
 * ```
 */
export async function grpoLoss(
  model: CausalLM,
  batch: GrpoBatch,
  options: GrpoLossOptions = {},
): Promise<GrpoLossReturnType> {
  const o = toResolved(options)
  const ref = options.referenceModel ?? null
  if (o.klBeta > 0 && ref === null) {
    throw invalidArgument('options.referenceModel', 'a reference model when klBeta > 0', ref, [
      'Pass the frozen starting model, or the policy itself for the first step (KL = 0), or set klBeta: 0.',
    ])
  }
  checkReference(model, ref, 'options.referenceModel')
  const plan = planBatch(model, batch, o)
  const attention = model.resolveAttention()
  const acc = new MetricsAccumulator(o)
  const e = { attention, checkpointLayers: false }
  for (const r of plan.rollouts) {
    if (r.skipReason !== null) {
      acc.skip(r)
      continue
    }
    const scalars = tf.tidy(() => {
      const newLps = passLogprobs(model, [r], e)
      let refLps: tf.Tensor1D[] | null = null
      if (o.klBeta > 0 && ref !== null) refLps = ref === model ? newLps : passLogprobs(ref, [r], e)
      return passTerms(newLps, refLps, [r], o, plan)[0]!
    })
    acc.add(r, await readScalars(scalars))
  }
  return { ...acc.result(plan), rollouts: acc.terms }
}
