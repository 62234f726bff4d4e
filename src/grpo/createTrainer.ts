import { ReliquaryError, invalidArgument } from '../errors/base.js'
import type { CausalLM } from '../model/loadModel.js'
import { cloneModel } from '../model/cloneModel.js'
import { checkReference } from './_plan.js'
import { assignWeights, loadTrainerState, saveTrainerState } from './_trainerState.js'
import { createAdamW, type AdamW } from './createAdamW.js'
import { grpoLoss, type GrpoLossReturnType } from './grpoLoss.js'
import { grpoStep, type GrpoStepReturnType, type GrpoStepState } from './grpoStep.js'
import { learningRateAt } from './learningRateAt.js'
import { resolveGrpoOptions } from './resolveGrpoOptions.js'
import type { GrpoBatch, GrpoOptions, ResolvedGrpoOptions } from './types.js'

/** Parameters of {@link createTrainer}: the policy, an optional reference, and the hyper-parameters. */
export type CreateTrainerParameters = GrpoOptions & {
  /** The policy to train (its trainable variables are updated in place). Not owned. */
  model: CausalLM
  /**
   * The frozen KL reference. Default: a copy of `model`'s weights at creation, owned and disposed
   * by the trainer (the E1/E2 reference's `copy.deepcopy(model)` at the first step). A model passed
   * here is not owned, is never trained, and is not disposed; `restore()` does write the saved
   * reference weights into it (unless called with `reference: false`). Ignored (and no copy is
   * made) when `klBeta` is 0.
   */
  referenceModel?: CausalLM | undefined
  /** Rollouts per forward and backward pass: {@link GrpoStepState.rolloutsPerPass}. */
  rolloutsPerPass?: number | undefined
  /** Recompute each layer in the backward pass: {@link GrpoStepState.checkpointLayers}. */
  checkpointLayers?: boolean | undefined
}

/** What {@link GrpoTrainer.restore} read. */
export type GrpoTrainerRestoreReturnType = {
  /** Completed steps of the restored run. */
  completedSteps: number
  /** The options the saved run used (this trainer keeps its own; compare if they matter). */
  savedOptions: ResolvedGrpoOptions
}

/**
 * A GRPO trainer bound to one policy: owns the AdamW moments, the schedule position and (by
 * default) the frozen reference copy. Dispose it (or `using`) to free them; the policy is not
 * disposed.
 */
export type GrpoTrainer = {
  /** The policy (not owned). */
  readonly model: CausalLM
  /** The KL reference, or null when `klBeta` is 0. */
  readonly referenceModel: CausalLM | null
  /** The AdamW state (owned). */
  readonly optimizer: AdamW
  /** Resolved hyper-parameters. */
  readonly options: ResolvedGrpoOptions
  /** Completed optimizer steps (the `LambdaLR` position). */
  readonly completedSteps: number
  /** Learning rate the next step will use. */
  readonly learningRate: number
  /**
   * One GRPO step on `batch` ({@link grpoStep}).
   * @throws {ReliquaryError} as {@link grpoStep}; `INVALID_ARGUMENT` while another call on this trainer runs or after dispose.
   */
  step(batch: GrpoBatch): Promise<GrpoStepReturnType>
  /** Evaluates the loss at the current weights ({@link grpoLoss}) without stepping. */
  loss(batch: GrpoBatch): Promise<GrpoLossReturnType>
  /**
   * Writes the full state to `dir`: policy and reference weights (F32 safetensors checkpoints),
   * AdamW moments and steps, the schedule position and the options (`trainer.json`, written last).
   */
  save(dir: string): Promise<void>
  /**
   * Loads a state written by `save()` into this trainer: policy weights, reference weights, AdamW
   * moments and steps, schedule position. Everything is read and checked before anything is
   * written, so a failed restore leaves the trainer unchanged. Afterwards `step()` continues
   * bit-identically to the saved run (given the same options and backend).
   * @param dir - The state's folder.
   * @param options - `reference: false` leaves the KL reference's current weights as they are (the
   *   saved ones are not read), for a reference the caller keeps up to date itself. @default true
   * @throws {ReliquaryError} `GRPO_STATE_INVALID` for a missing, malformed or mismatched state.
   */
  restore(
    dir: string,
    options?: { readonly reference?: boolean | undefined },
  ): Promise<GrpoTrainerRestoreReturnType>
  /** Frees the optimizer moments and the owned reference copy. Idempotent. */
  dispose(): void
  /** Same as `dispose()`, for `using`. */
  [Symbol.dispose](): void
}

let trainerCounter = 0

/**
 * Creates a stateful GRPO trainer for `model`: AdamW with decoupled weight decay (moments
 * allocated up front), the warm-up + cosine schedule, and a frozen KL reference (a copy of the
 * current weights unless one is given). `step(batch)` runs {@link grpoStep}; `save`/`restore`
 * persist everything needed for a bit-identical continuation (the reference itself does not
 * persist optimizer or scheduler state; a restart there re-warms).
 *
 * - Spec: docs/protocol.md §7 (mirrors `_lazy_init` and `train_step` in `reliquary/validator/training.py` at 59b4718).
 *
 * @param parameters - {@link CreateTrainerParameters}
 * @returns A {@link GrpoTrainer}; dispose it when done.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a bad option or a model without trainable variables.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core'
 * import { loadModel } from 'reliquary/model'
 * import { createTrainer } from 'reliquary/grpo'
 * await tf.setBackend('cpu')
 * const model = await loadModel('./qwen3-tiny')
 * using trainer = createTrainer({ model })
 * const stats = await trainer.step(batch)
 * console.log(stats.ppoLoss, stats.gradNorm, stats.learningRateAfter)
 * await trainer.save('./run/step-1')
 * ```
 */
export function createTrainer(parameters: CreateTrainerParameters): GrpoTrainer {
  if (typeof parameters !== 'object' || parameters === null)
    throw invalidArgument('parameters', 'an object { model, ...options }', parameters)
  const { model, referenceModel, rolloutsPerPass, checkpointLayers, ...rest } = parameters
  if (typeof model !== 'object' || model === null || !(model.weights instanceof Map))
    throw invalidArgument('parameters.model', 'a CausalLM from loadModel', model)
  const options = resolveGrpoOptions(rest)
  const trainable = new Map([...model.weights].filter(([, v]) => v.trainable))
  if (trainable.size === 0)
    throw invalidArgument('parameters.model', 'a model with trainable weight variables', 'none', [
      'Load the policy with loadModel(dir, { trainable: true }) (the default).',
    ])
  if (referenceModel !== undefined && referenceModel === model) {
    throw invalidArgument(
      'parameters.referenceModel',
      'a model other than the policy (a moving reference makes the KL term vanish)',
      'the policy itself',
    )
  }
  if (referenceModel !== undefined && options.klBeta > 0)
    checkReference(model, referenceModel, 'parameters.referenceModel')
  const prefix = `reliquary.grpo${++trainerCounter}`
  const optimizer = createAdamW(trainable, {
    beta1: options.adamBeta1,
    beta2: options.adamBeta2,
    epsilon: options.adamEpsilon,
    weightDecay: options.weightDecay,
  })
  let ownsReference = false
  let reference: CausalLM | null = null
  if (options.klBeta > 0) {
    if (referenceModel) reference = referenceModel
    else {
      try {
        reference = cloneModel(model, { name: `${prefix}/reference` })
      } catch (e) {
        optimizer.dispose()
        throw e
      }
      ownsReference = true
    }
  }
  const state: GrpoStepState = {
    optimizer,
    referenceModel: reference,
    options,
    completedSteps: 0,
    rolloutsPerPass,
    checkpointLayers,
  }
  let busy = false
  let disposed = false
  const exclusive = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    if (disposed) throw new ReliquaryError('INVALID_ARGUMENT', 'This trainer has been disposed.')
    if (busy)
      throw new ReliquaryError(
        'INVALID_ARGUMENT',
        `trainer.${what}() called while another trainer call is running.`,
        { hints: ['Await each step, save or restore before starting the next.'] },
      )
    busy = true
    try {
      return await fn()
    } finally {
      busy = false
    }
  }
  const dispose = (): void => {
    if (disposed) return
    disposed = true
    optimizer.dispose()
    if (ownsReference) reference?.dispose()
  }
  return Object.freeze({
    model,
    referenceModel: reference,
    optimizer,
    options,
    get completedSteps(): number {
      return state.completedSteps
    },
    get learningRate(): number {
      return learningRateAt(state.completedSteps, options)
    },
    step: (batch: GrpoBatch) => exclusive('step', () => grpoStep(model, batch, state)),
    loss: (batch: GrpoBatch) =>
      exclusive('loss', () => grpoLoss(model, batch, { ...options, referenceModel: reference })),
    save: (dir: string) =>
      exclusive('save', () =>
        saveTrainerState(dir, {
          model,
          reference,
          referenceKind: reference === null ? null : ownsReference ? 'copy' : 'external',
          optimizer,
          completedSteps: state.completedSteps,
          options,
        }),
      ),
    restore: (dir: string, o: { readonly reference?: boolean | undefined } = {}) =>
      exclusive('restore', async () => {
        const skipReference = o.reference === false
        const loaded = await loadTrainerState(dir, { model, reference, optimizer, skipReference })
        assignWeights(model, loaded.policy)
        if (reference && loaded.reference) assignWeights(reference, loaded.reference)
        optimizer.writeState(loaded.moments)
        state.completedSteps = loaded.state.completedSteps
        return { completedSteps: state.completedSteps, savedOptions: loaded.state.options }
      }),
    dispose,
    [Symbol.dispose]: dispose,
  })
}
