import * as tf from '@tensorflow/tfjs-core'
import type { CausalLM } from '../model/loadModel.js'
import { createRolloutEvaluator } from '../rollout/createRolloutEvaluator.js'
import type { RolloutEvaluator } from '../rollout/verifyRollout.js'
import { ReliquaryError } from '../errors/base.js'
import { sameWeights, weightsVersion } from './weightsVersion.js'

/** Numeric precision of the validator's GPU verification (see `createValidatorEvaluator`). */
export type ValidatorPrecision = 'f32' | 'f16'

/** Options of {@link createValidatorEvaluator}. */
export type ValidatorEvaluatorOptions = {
  /**
   * `f32` (default) reproduces the reference's fp32 numbers; `f16` runs f16 weights (tensor
   * cores where the GPU has them) and is meant for profiles whose tolerances admit it (`e3`).
   * webgpu only.
   */
  readonly precision?: ValidatorPrecision | undefined
  /**
   * The checkpoint the verify model was loaded from, unchanged since: under `f16` the first f16
   * weights are read from it with `loadGpuModel` (no conversion of the float32 model).
   */
  readonly modelDir?: string | undefined
}

/** A validator's {@link RolloutEvaluator} with what it owns. */
export type ValidatorEvaluator = RolloutEvaluator & {
  /** Frees the f16 weights (nothing to free otherwise). Idempotent. */
  dispose(): void
}

/**
 * The validator's model seam for admission: on the webgpu backend the gpu kernels with batched
 * evaluation (`evaluateBatch`: many rollouts per packed forward, `maxBatchTokensFor` tokens at
 * most); on any other backend the TF.js evaluator, one forward per rollout.
 *
 * Under `f32` the kernels read the verify model's own variables, so a reloaded or published
 * checkpoint is seen at once. Under `f16` the evaluator holds f16 copies: first loaded from
 * `modelDir` (`loadGpuModel`), then converted again from the verify model (`prepareGpuModel`)
 * before the first evaluation after any of its weights was written (publish, resume, a worker
 * sync), so it always judges with the verify model's current weights. Evaluations run one at a
 * time.
 *
 * @param verifyModel - The validator's verify model; held, not owned.
 * @param options - {@link ValidatorEvaluatorOptions}
 * @returns The evaluator for `verifyRollout` / `verifyRollouts`; dispose it before the model.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for `f16` off the webgpu backend; the load errors
 *   of `loadGpuModel` / `prepareGpuModel` (`GPU_MEMORY_INSUFFICIENT`, a weight outside f16's range).
 */
export async function createValidatorEvaluator(
  verifyModel: CausalLM,
  options: ValidatorEvaluatorOptions = {},
): Promise<ValidatorEvaluator> {
  const precision = options.precision ?? 'f32'
  if (precision !== 'f32' && precision !== 'f16')
    throw new ReliquaryError('INVALID_ARGUMENT', '"precision" must be "f32" or "f16".')
  if (tf.getBackend() !== 'webgpu') {
    if (precision === 'f16')
      throw new ReliquaryError('INVALID_ARGUMENT', 'precision "f16" needs the webgpu backend.', {
        hints: ["Call useBackend('webgpu') first, or verify at precision 'f32'."],
      })
    return { ...createRolloutEvaluator(verifyModel), dispose: () => undefined }
  }
  const gpu = await import('../gpu/index.js')
  if (precision === 'f32') {
    // Nothing converted, nothing to free: the kernels read the verify model's variables.
    const gm = await gpu.prepareGpuModel(verifyModel, { precision })
    return { ...gpu.createGpuRolloutEvaluator(gm), dispose: () => undefined }
  }
  let version = weightsVersion(verifyModel)
  let gm = options.modelDir
    ? await gpu.loadGpuModel(options.modelDir, { precision })
    : await gpu.prepareGpuModel(verifyModel, { precision })
  let disposed = false
  let queue: Promise<unknown> = Promise.resolve()
  /** Runs `fn` on f16 weights of the verify model's current weights, one call at a time. */
  const withModel = <T>(fn: (e: RolloutEvaluator) => Promise<T>): Promise<T> => {
    const run = queue.then(async () => {
      if (disposed) throw new ReliquaryError('INVALID_ARGUMENT', 'The evaluator was disposed.')
      const now = weightsVersion(verifyModel)
      if (!sameWeights(version, now)) {
        gm.dispose()
        gm = await gpu.prepareGpuModel(verifyModel, { precision })
        version = now
      }
      return fn(gpu.createGpuRolloutEvaluator(gm))
    })
    queue = run.catch(() => undefined)
    return run
  }
  const cfg = verifyModel.config
  return {
    vocabSize: cfg.vocabSize,
    maxPositions: cfg.maxPositionEmbeddings,
    eosTokenIds: cfg.eosTokenIds,
    evaluate: (tokens, o) => withModel((e) => e.evaluate(tokens, o)),
    evaluateBatch: (requests, o) => withModel((e) => e.evaluateBatch!(requests, o)),
    dispose: () => {
      if (disposed) return
      disposed = true
      gm.dispose()
    },
  }
}
