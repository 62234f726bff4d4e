import { invalidArgument } from '../../errors/base.js'
import type { GrpoOptions } from '../../grpo/types.js'
import { disposeValidatorModels } from '../loadValidatorModels.js'
import type { ValidatorPrecision } from '../createValidatorEvaluator.js'
import type { ValidatorModels } from '../validatorState.js'
import { createModelWorker, type ModelWorker } from './createModelWorker.js'

/**
 * Where a validator runs its model work: the forward pass of every rollout it verifies and its
 * GRPO steps.
 *
 * - `"worker"`: in a worker thread holding a copy of the models ({@link createModelWorker}), so
 *   `/health` and `/submit` keep answering while they run. The main thread's models stay the
 *   source of truth (publishing, saving and `Validator.policy` read them). Needs the `wasm`, `cpu`
 *   or `webgpu` backend (Dawn runs in worker threads: the worker opens its own device) and about
 *   twice the model memory. The CLI validator's default on those backends.
 * - `"in-process"`: on the calling thread, as before (browsers, tests, GPU backends whose kernels
 *   run off the event loop anyway). The library default.
 */
export type ValidatorCompute = 'worker' | 'in-process'

/**
 * Starts the model worker for compute `"worker"`, or returns `null` for `"in-process"`. When the
 * worker cannot start, the models are freed and the error is thrown.
 *
 * @param p - The compute choice, the validator's models, their directory and the trainer options.
 * @returns The started {@link ModelWorker}, or `null`.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for an unknown compute; the worker's start errors.
 */
export async function startModelWorker(p: {
  compute: ValidatorCompute | undefined
  models: ValidatorModels
  modelDir: string
  grpo: GrpoOptions
  precision?: ValidatorPrecision | undefined
}): Promise<ModelWorker | null> {
  const compute = p.compute ?? 'in-process'
  if (compute !== 'worker' && compute !== 'in-process') {
    disposeValidatorModels(p.models)
    throw invalidArgument('compute', '"worker" or "in-process"', compute)
  }
  if (compute === 'in-process') return null
  try {
    return await createModelWorker({
      models: p.models,
      modelDir: p.modelDir,
      grpo: p.grpo,
      precision: p.precision,
    })
  } catch (e) {
    disposeValidatorModels(p.models)
    throw e
  }
}
