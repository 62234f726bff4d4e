import * as tf from '@tensorflow/tfjs-core'
import { ensureGradients } from '../_peers/ensureGradients.js'
import { ReliquaryError, invalidArgument } from '../errors/base.js'
import type { CausalLM } from '../model/loadModel.js'
import { checkReference, planBatch } from './_plan.js'
import { completionLogprobs, rolloutLoss, rolloutTerms } from './_terms.js'
import type { AdamW } from './createAdamW.js'
import { MetricsAccumulator, readScalars, toResolved } from './_metrics.js'
import { learningRateAt } from './learningRateAt.js'
import type {
  GrpoBatch,
  GrpoBatchMetrics,
  GrpoOptions,
  GrpoRolloutTerms,
  ResolvedGrpoOptions,
} from './types.js'

/**
 * The training state {@link grpoStep} reads and advances. {@link createTrainer} owns one; build
 * one by hand only to drive the free function directly.
 */
export type GrpoStepState = {
  /** AdamW over the policy's trainable variables (see {@link createAdamW}). Mutated by the step. */
  readonly optimizer: AdamW
  /** The frozen KL reference; required when β > 0. Never modified by the step. */
  readonly referenceModel: CausalLM | null
  /** Hyper-parameters (resolved once, or resolved on each call). */
  readonly options: GrpoOptions | ResolvedGrpoOptions
  /**
   * Completed optimizer steps: the `LambdaLR` position. The step uses the learning rate of this
   * position and increments it when it applies an update.
   */
  completedSteps: number
}

/** Result of {@link grpoStep}: plain numbers only. */
export type GrpoStepReturnType = GrpoBatchMetrics & {
  /** False when no rollout contributed: then nothing changed (no update, no schedule step), as in the reference. */
  readonly stepped: boolean
  /** Global L2 norm of the accumulated gradient before clipping (`clip_grad_norm_`'s return value). */
  readonly gradNorm: number
  /** Factor the gradients were multiplied by (`min(1, clip / (norm + 1e-6))`); 1 when not clipped. */
  readonly clipCoefficient: number
  /** Learning rate of this update (the scheduled one, unchanged, when `stepped` is false). */
  readonly learningRate: number
  /** Learning rate of the next step (the reference's `get_last_lr()` after `scheduler.step()`). */
  readonly learningRateAfter: number
  /** Completed steps after this call. */
  readonly completedSteps: number
  /** Per-rollout terms at the weights before the update. */
  readonly rollouts: readonly GrpoRolloutTerms[]
}

function sumGrads(
  acc: Map<string, tf.Tensor>,
  grads: tf.NamedTensorMap,
  names: ReadonlyMap<string, string>,
): void {
  for (const [varName, name] of names) {
    const g = grads[varName]
    if (!g) continue
    const prev = acc.get(name)
    if (prev) {
      acc.set(name, tf.add(prev, g))
      prev.dispose()
      g.dispose()
    } else acc.set(name, g)
  }
}

/**
 * One GRPO optimizer step, as the reference validator takes once per full window:
 *
 * 1. group advantages; zero-variance groups and rollouts with missing or mismatched log-probs are
 *    skipped (still counted in `n_total_rollouts`);
 * 2. per rollout, `loss_i = (ppo_i + β·kl_i) / n_total_rollouts` (or token-level), its gradient
 *    computed separately and accumulated, as `loss.backward()` per rollout does;
 * 3. `clip_grad_norm_(clip)` over all gradients (the pre-clip norm is reported);
 * 4. one AdamW update at `learningRateAt(completedSteps)`, then the schedule advances.
 *
 * If no rollout contributes nothing changes and `stepped` is false. A non-finite gradient norm
 * throws before any weight changes (the reference would write NaNs into the model).
 *
 * - Spec: docs/protocol.md §7 (mirrors `train_step` in `reliquary/validator/training.py` at
 *   59b4718).
 *
 * @param model - The policy; its trainable variables are updated in place.
 * @param batch - The window's groups.
 * @param state - {@link GrpoStepState}; `optimizer` and `completedSteps` advance.
 * @returns {@link GrpoStepReturnType} (plain numbers; no tensor escapes).
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a malformed batch, an optimizer that does not
 *   hold the model's variables, or β > 0 without a reference model; `NON_FINITE_VALUE` when the
 *   gradient norm is NaN or infinite.
 *
 * @example
 * ```ts
 * import { loadModel } from 'reliquary/model'
 * import { createAdamW, grpoStep, resolveGrpoOptions } from 'reliquary/grpo'
 * const model = await loadModel('./qwen3-tiny')
 * const reference = await loadModel('./qwen3-tiny', { trainable: false })
 * const options = resolveGrpoOptions({})
 * const optimizer = createAdamW(model.weights, { beta1: options.adamBeta1, beta2: options.adamBeta2, epsilon: options.adamEpsilon, weightDecay: options.weightDecay })
 * const state = { optimizer, referenceModel: reference, options, completedSteps: 0 }
 * const stats = await grpoStep(model, batch, state) // state.completedSteps is now 1
 * console.log(stats.gradNorm, stats.learningRateAfter)
 * ```
 */
export async function grpoStep(
  model: CausalLM,
  batch: GrpoBatch,
  state: GrpoStepState,
): Promise<GrpoStepReturnType> {
  await ensureGradients()
  const o = toResolved(state.options)
  const ref = state.referenceModel
  if (o.klBeta > 0 && !ref)
    throw invalidArgument('state.referenceModel', 'a reference model when klBeta > 0', ref)
  if (!Number.isSafeInteger(state.completedSteps) || state.completedSteps < 0)
    throw invalidArgument('state.completedSteps', 'an integer ≥ 0', state.completedSteps)
  // Gradients are taken for the optimizer's variables, which must be this model's.
  const modelVars = new Set(model.weights.values())
  const names = new Map<string, string>() // tf variable name → parameter name
  const vars: tf.Variable[] = []
  for (const [name, v] of state.optimizer.variables) {
    if (!modelVars.has(v))
      throw invalidArgument('state.optimizer', "an optimizer over this model's variables", name)
    if (v.trainable) {
      names.set(v.name, name)
      vars.push(v)
    }
  }
  if (vars.length === 0)
    throw invalidArgument('model', 'trainable weight variables', 'none', [
      'Load the policy with loadModel(dir, { trainable: true }) (the default).',
    ])
  checkReference(model, ref, 'state.referenceModel')
  const plan = planBatch(model, batch, o)
  const attention = model.resolveAttention()
  const acc = new MetricsAccumulator(o)
  const lr = learningRateAt(state.completedSteps, o)
  const grads = new Map<string, tf.Tensor>()
  const done = (
    stepped: boolean,
    gradNorm: number,
    clipCoefficient: number,
  ): GrpoStepReturnType => ({
    ...acc.result(plan),
    stepped,
    gradNorm,
    clipCoefficient,
    learningRate: lr,
    learningRateAfter: learningRateAt(state.completedSteps, o),
    completedSteps: state.completedSteps,
    rollouts: acc.terms,
  })
  try {
    for (const r of plan.rollouts) {
      if (r.skipReason !== null) {
        acc.skip(r)
        continue
      }
      // The reference forward runs outside the gradient tape (torch.no_grad in the reference).
      const refLp =
        o.klBeta > 0 && ref
          ? tf.tidy(() => completionLogprobs(ref, attention, r.tokens, r.promptLength))
          : null
      const oldLp = tf.tensor1d(r.oldLogprobs, 'float32')
      let kept: Record<'ppoMean' | 'klMean' | 'ppoSum' | 'klSum' | 'clipped', tf.Scalar> | undefined
      let result: { value: tf.Scalar; grads: tf.NamedTensorMap }
      try {
        result = tf.variableGrads(() => {
          const newLp = completionLogprobs(model, attention, r.tokens, r.promptLength)
          const t = rolloutTerms(newLp, oldLp, refLp, r.advantage, o)
          kept = {
            ppoMean: tf.keep(t.ppoMean),
            klMean: tf.keep(t.klMean),
            ppoSum: tf.keep(t.ppoSum),
            klSum: tf.keep(t.klSum),
            clipped: tf.keep(t.clipped),
          }
          return rolloutLoss(t, o, plan.rolloutsTotal, plan.tokensUsed)
        }, vars)
      } catch (e) {
        if (kept) tf.dispose(Object.values(kept))
        throw e
      } finally {
        oldLp.dispose()
        refLp?.dispose()
      }
      sumGrads(grads, result.grads, names)
      acc.add(r, await readScalars({ loss: result.value, ...kept! }))
    }
    if (acc.terms.every((t) => !t.used)) return done(false, 0, 1)

    // clip_grad_norm_: total = ‖(‖g_1‖, …, ‖g_n‖)‖₂, coef = min(1, clip / (total + 1e-6)) in float32,
    // and every gradient is multiplied by coef (by 1 when under the threshold, which is exact).
    const [total, coef] = tf.tidy(() => {
      const norms = [...grads.values()].map((g) => tf.sqrt(tf.sum(tf.square(g))))
      const t = tf.sqrt(tf.sum(tf.square(tf.stack(norms))))
      return [
        t,
        tf.minimum(tf.div(tf.scalar(o.gradClipNorm), tf.add(t, tf.scalar(1e-6))), tf.scalar(1)),
      ]
    })
    const gradNorm = (await total.data())[0] as number
    const clipCoefficient = (await coef.data())[0] as number
    total.dispose()
    if (!Number.isFinite(gradNorm)) {
      coef.dispose()
      throw new ReliquaryError(
        'NON_FINITE_VALUE',
        `GRPO gradient norm is ${gradNorm}; no update was applied.`,
        {
          hints: [
            'Check the batch log-probs and rewards, and the model weights, for extreme or non-finite values.',
          ],
          meta: { gradNorm },
        },
      )
    }
    for (const [name, g] of grads) {
      grads.set(name, tf.mul(g, coef))
      g.dispose()
    }
    coef.dispose()
    state.optimizer.apply(grads, lr)
    state.completedSteps += 1
    return done(true, gradNorm, clipCoefficient)
  } finally {
    tf.dispose([...grads.values()])
  }
}
