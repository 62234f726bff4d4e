import * as tf from '@tensorflow/tfjs-core'
import { ensureGradients } from '../_peers/ensureGradients.js'
import { ReliquaryError, invalidArgument } from '../errors/base.js'
import type { CausalLM } from '../model/loadModel.js'
import { type BatchPlan, checkReference, type PlannedRollout, planBatch } from './_plan.js'
import { type PassEval, passLogprobs, passTerms, type RolloutScalars } from './_terms.js'
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
  /**
   * Rollouts evaluated together in one padded forward and backward pass (see
   * `hiddenStatesBatch`). Default: 8 on the webgpu backend, where one pass over many rollouts
   * records far fewer kernels and gives each product more rows; 1 elsewhere (one pass per rollout,
   * as the reference's `loss.backward()` per rollout). The loss and every per-rollout term are the
   * same either way; gradients agree up to float32 summation order.
   */
  rolloutsPerPass?: number | undefined
  /**
   * Gradient checkpointing: each decoder layer keeps only its input on the tape and is evaluated
   * again in the backward pass (`hiddenStatesBatch`'s `checkpointLayers`), and so are the
   * `lm_head` logits and log-softmax of each chunk of completion rows, so a pass holds one
   * `[rows, hiddenSize]` tensor per layer instead of every intermediate and no `[rows, vocab]`
   * tensor, for about one more forward per step. Passes then always take the padded-batch path,
   * even with one rollout. Same loss; gradients agree up to float32 summation order. Default: on
   * the webgpu backend, where it was both faster and smaller (Qwen3-0.6B shape on an H200: 22.4 s
   * and 24.5 GB per step against 33.9 s and 84.4 GB, BENCHMARKS.md); off elsewhere.
   */
  checkpointLayers?: boolean | undefined
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

/** The rollouts-per-pass of {@link GrpoStepState.rolloutsPerPass}, defaulted by backend. */
function rolloutsPerPass(state: GrpoStepState): number {
  const n = state.rolloutsPerPass ?? (tf.getBackend() === 'webgpu' ? 8 : 1)
  if (!Number.isSafeInteger(n) || n < 1)
    throw invalidArgument('state.rolloutsPerPass', 'an integer ≥ 1', n)
  return n
}

/** Consecutive runs of the plan, each holding at most `per` contributing rollouts. */
function passes(rollouts: readonly PlannedRollout[], per: number): PlannedRollout[][] {
  const out: PlannedRollout[][] = [[]]
  let used = 0
  for (const r of rollouts) {
    if (r.skipReason === null) {
      if (used === per) {
        out.push([])
        used = 0
      }
      used++
    }
    out[out.length - 1]!.push(r)
  }
  return out
}

type PassContext = {
  o: ResolvedGrpoOptions
  plan: BatchPlan
  vars: tf.Variable[]
  names: ReadonlyMap<string, string>
  eval: PassEval
}

/**
 * One forward and backward pass over `used` (contributing rollouts): adds the gradient of the sum
 * of their losses into `grads` and returns each rollout's scalars.
 */
async function passGrads(
  model: CausalLM,
  ref: CausalLM | null,
  used: readonly PlannedRollout[],
  grads: Map<string, tf.Tensor>,
  c: PassContext,
): Promise<Record<keyof RolloutScalars, number>[]> {
  const { o, plan } = c
  // The reference forward runs outside the gradient tape (torch.no_grad in the reference).
  const refLps = o.klBeta > 0 && ref ? tf.tidy(() => passLogprobs(ref, used, c.eval)) : null
  const kept: RolloutScalars[] = []
  let result: { value: tf.Scalar; grads: tf.NamedTensorMap }
  try {
    result = tf.variableGrads(() => {
      const terms = passTerms(passLogprobs(model, used, c.eval), refLps, used, o, plan)
      for (const k of terms) {
        for (const x of Object.values(k)) tf.keep(x)
        kept.push(k)
      }
      return terms.map((k) => k.loss).reduce((a, b) => tf.add(a, b) as tf.Scalar)
    }, c.vars)
  } catch (e) {
    for (const k of kept) tf.dispose(Object.values(k))
    throw e
  } finally {
    if (refLps) tf.dispose(refLps)
  }
  // With one rollout the value is that rollout's kept loss, read below.
  if (used.length > 1) result.value.dispose()
  sumGrads(grads, result.grads, c.names)
  const out: Record<keyof RolloutScalars, number>[] = []
  for (const k of kept) out.push(await readScalars(k))
  return out
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
  const passEval = {
    attention: model.resolveAttention(),
    checkpointLayers: state.checkpointLayers ?? tf.getBackend() === 'webgpu',
  }
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
    for (const pass of passes(plan.rollouts, rolloutsPerPass(state))) {
      const used = pass.filter((r) => r.skipReason === null)
      const values =
        used.length > 0
          ? await passGrads(model, ref, used, grads, { o, plan, vars, names, eval: passEval })
          : []
      let i = 0
      for (const r of pass) {
        if (r.skipReason !== null) acc.skip(r)
        else acc.add(r, values[i++]!)
      }
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
