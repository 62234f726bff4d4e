import type { BackendName } from '../../model/backend.js'
import type { GrpoBatch, GrpoOptions } from '../../grpo/types.js'
import type { ProtocolProfile } from '../../protocol/profiles.js'
import type { RolloutVerifierParameters } from '../../window/admission/admissionTypes.js'
import type { ValidatorPrecision } from '../createValidatorEvaluator.js'

/** What the model worker is started with (its `workerData`). @internal */
export type ModelWorkerInit = {
  /** The base model directory: the worker builds its models from it, then takes the main thread's weights. */
  readonly modelDir: string
  /** The TF.js backend to initialise in the worker (the main thread's). */
  readonly backend: BackendName
  /** The trainer's options (the main thread's trainer's, profile included). */
  readonly grpo: GrpoOptions
  /** Precision of the verify model's evaluation on the webgpu backend (`createValidatorEvaluator`). */
  readonly precision?: ValidatorPrecision | undefined
  /** The thread's nice value (Linux; 0: the process's own priority). */
  readonly nice?: number | undefined
}

/**
 * A profile on the wire: the key a `profile` op registered it under in this worker (sent once per
 * worker, not with every rollout), or the profile itself. @internal
 */
export type WireProfile = number | ProtocolProfile

/** A rollout's verifier parameters on the wire: its profile by key ({@link WireProfile}). @internal */
export type WireVerifyParams = Omit<RolloutVerifierParameters, 'profile'> & {
  readonly profile: WireProfile
}

/** What the model worker is asked to do. @internal */
export type ModelWorkerOp =
  | {
      readonly op: 'evaluate'
      readonly tokens: readonly number[]
      readonly hiddenRows: readonly number[]
      readonly temperature: number
      readonly eosTokenIds: readonly number[]
    }
  /** `evaluateBatch` of the worker's evaluator (webgpu: packed forwards). */
  | {
      readonly op: 'evaluateBatch'
      readonly requests: readonly { tokens: readonly number[]; hiddenRows: readonly number[] }[]
      readonly temperature: number
    }
  /** Registers `profile` under `key` for later `verify` / `verifyBatch` calls. */
  | { readonly op: 'profile'; readonly key: number; readonly profile: ProtocolProfile }
  /** `verifyRollout` (every per-rollout check) over the worker's verify model. */
  | { readonly op: 'verify'; readonly params: WireVerifyParams }
  /** `verifyRollouts` over the worker's evaluator: many rollouts, batched forwards. */
  | { readonly op: 'verifyBatch'; readonly params: readonly WireVerifyParams[] }
  /** Writes the main thread's verify-model weights (by checkpoint name) into the worker's. */
  | { readonly op: 'setVerifyWeights'; readonly weights: readonly [string, Float32Array][] }
  /** `trainer.restore(dir)` / `trainer.save(dir)` / `trainer.step(batch)` on the worker's trainer. */
  | { readonly op: 'restore'; readonly dir: string }
  | { readonly op: 'save'; readonly dir: string }
  /** `saveCheckpointDir` of the worker's policy (a publishable checkpoint directory). */
  | {
      readonly op: 'saveCheckpoint'
      readonly dir: string
      readonly dtype: 'F32' | 'BF16'
      readonly modelDir: string
    }
  | { readonly op: 'step'; readonly batch: GrpoBatch }
  | { readonly op: 'numTensors' }

/** A request to the model worker; `id` pairs it with its answer. @internal */
export type ModelWorkerRequest = { readonly id: number } & ModelWorkerOp

/** An error crossing the thread boundary. @internal */
export type ModelWorkerErrorData = {
  readonly code: string | null
  readonly message: string
  readonly hints: readonly string[]
}

/** The answer to a {@link ModelWorkerRequest}, or the worker's ready signal (`id` 0). @internal */
export type ModelWorkerResponse =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: ModelWorkerErrorData }

/**
 * A fault injected into the model worker's next request of kind `op` (`ModelWorker.injectFault`,
 * for tests): `crash` stops the thread right after the request is sent (a crash in the middle of
 * it), `crash-after` right after its answer arrives (a crash between two requests of one
 * operation), `error` fails the request as an error raised in the worker would (the thread alive).
 */
export type ModelWorkerFault = {
  readonly op: 'step' | 'save' | 'saveCheckpoint' | 'restore' | 'setVerifyWeights'
  readonly kind: 'crash' | 'crash-after' | 'error'
}
