import * as tf from '@tensorflow/tfjs-core'
import type { GrpoOptions } from '../grpo/types.js'
import type { ProtocolProfile } from '../protocol/profiles.js'
import { verifyRollout, verifyRollouts } from '../rollout/verifyRollout.js'
import type {
  RolloutVerifier,
  RolloutVerifierParameters,
  RolloutsVerifier,
} from '../window/admission/admissionTypes.js'
import { createValidatorEvaluator, type ValidatorPrecision } from './createValidatorEvaluator.js'
import { disposeValidatorModels } from './loadValidatorModels.js'
import { createLookaheadVerifier } from './lookaheadVerifier.js'
import type { ValidatorModels } from './validatorState.js'
import { weightsVersion } from './weightsVersion.js'
import type { ModelWorker } from './worker/createModelWorker.js'
import { startModelWorker, type ValidatorCompute } from './worker/startModelWorker.js'

/** Where and how a validator verifies admissions (see {@link startValidatorCompute}). */
export type ValidatorComputeParts = {
  /** The model worker (compute `"worker"`), or `null`. */
  readonly modelWorker: ModelWorker | null
  /** The admission's per-rollout verifier. */
  readonly verifyRollout: RolloutVerifier
  /** The admission's batch verifier (webgpu: several queued submissions per packed forward), or null. */
  readonly verifyRollouts: RolloutsVerifier | null
  /** Stops the worker and frees the evaluator's own weights (not the models). Idempotent. */
  close(): Promise<void>
}

/**
 * Starts what verifies a validator's admissions: the model worker for compute `"worker"`
 * (`startModelWorker`), else an evaluator over the verify model on this thread
 * (`createValidatorEvaluator`). On the webgpu backend verification is batched across submissions:
 * the admission's batch verifier ({@link createLookaheadVerifier}) judges the submission at hand
 * together with the ones queued after it, up to `maxBatchTokensFor(config)` tokens, in one
 * `verifyRollouts` call (in the worker: one worker call), so several submissions share one packed
 * forward. Elsewhere a submission's rollouts are judged one at a time, stopping at the first
 * reject. When anything fails to start, the models are freed and the error is thrown.
 *
 * @param p - The compute choice, the precision (webgpu), the validator's models, their directory,
 *   the trainer options and the profile; `verifyRollout` replaces the verification (a test double).
 * @returns The {@link ValidatorComputeParts}.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for an unknown compute or precision, or `f16` off
 *   webgpu; the worker's and the GPU loaders' start errors.
 */
export async function startValidatorCompute(p: {
  compute?: ValidatorCompute | undefined
  precision?: ValidatorPrecision | undefined
  models: ValidatorModels
  modelDir: string
  grpo: GrpoOptions
  profile: ProtocolProfile
  verifyRollout?: RolloutVerifier | undefined
}): Promise<ValidatorComputeParts> {
  const { models, profile } = p
  const modelWorker = await startModelWorker({
    compute: p.compute,
    precision: p.precision,
    models,
    modelDir: p.modelDir,
    grpo: p.grpo,
  })
  let evaluator: Awaited<ReturnType<typeof createValidatorEvaluator>> | null = null
  if (!modelWorker)
    try {
      evaluator = await createValidatorEvaluator(models.verifyModel, {
        precision: p.precision,
        modelDir: p.modelDir,
      })
    } catch (e) {
      disposeValidatorModels(models)
      throw e
    }
  const inProcess = evaluator
  const batch =
    modelWorker?.verifyBatch ??
    (inProcess?.evaluateBatch
      ? (rs: readonly RolloutVerifierParameters[]) =>
          verifyRollouts({ rollouts: rs, model: inProcess, profile: rs[0]?.profile ?? profile })
      : null)
  let verifyRollouts_: RolloutsVerifier | null = null
  if (batch && !p.verifyRollout && tf.getBackend() === 'webgpu') {
    const { maxBatchTokensFor } = await import('../gpu/evaluateRollouts.js')
    verifyRollouts_ = createLookaheadVerifier({
      verify: batch,
      maxBatchTokens: maxBatchTokensFor(models.verifyModel.config),
      weights: () => weightsVersion(models.verifyModel),
    })
  }
  let closing: Promise<void> | null = null
  return {
    modelWorker,
    verifyRollout:
      p.verifyRollout ??
      modelWorker?.verifier ??
      ((r) => verifyRollout({ ...r, model: inProcess! })),
    verifyRollouts: verifyRollouts_,
    close: () =>
      (closing ??= (async () => {
        await modelWorker?.close()
        inProcess?.dispose()
      })()),
  }
}
