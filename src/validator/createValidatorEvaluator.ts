import * as tf from '@tensorflow/tfjs-core'
import type { CausalLM } from '../model/loadModel.js'
import { createRolloutEvaluator } from '../rollout/createRolloutEvaluator.js'
import type { RolloutEvaluator } from '../rollout/verifyRollout.js'

/**
 * The validator's model seam for admission: on the webgpu backend the gpu kernels at f32 (the
 * reference's numbers; the kernels read the verify model's variables, so a reloaded checkpoint
 * is seen at once) with batched evaluation (`evaluateBatch`); on any other backend the TF.js
 * evaluator, one forward per rollout.
 *
 * @param verifyModel - The validator's verify model; held, not owned.
 * @returns The evaluator for `verifyRollout` / `verifyRollouts`.
 */
export async function createValidatorEvaluator(verifyModel: CausalLM): Promise<RolloutEvaluator> {
  if (tf.getBackend() !== 'webgpu') return createRolloutEvaluator(verifyModel)
  const gpu = await import('../gpu/index.js')
  // f32 converts nothing (no copies to free): the evaluator lives as long as the verify model.
  const gm = await gpu.prepareGpuModel(verifyModel, { precision: 'f32' })
  return gpu.createGpuRolloutEvaluator(gm)
}
