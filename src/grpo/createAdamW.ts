import * as tf from '@tensorflow/tfjs-core'
import { ReliquaryError, invalidArgument } from '../errors/base.js'

/** Hyper-parameters of {@link createAdamW} (the learning rate is passed to each step). */
export type AdamWOptions = {
  /** First-moment decay β1. @default 0.9 */
  beta1?: number | undefined
  /** Second-moment decay β2. @default 0.999 */
  beta2?: number | undefined
  /** Added to the bias-corrected √v. @default 1e-8 */
  epsilon?: number | undefined
  /** Decoupled weight decay: `p ← p·(1 − lr·weightDecay)` before the Adam update. @default 0.01 */
  weightDecay?: number | undefined
}

/** Defaults of {@link AdamWOptions} (torch `AdamW` with the reference's arguments). */
export const ADAMW_DEFAULTS: Readonly<Required<{ [K in keyof AdamWOptions]: number }>> =
  /*#__PURE__*/ Object.freeze({
    beta1: 0.9,
    beta2: 0.999,
    epsilon: 1e-8,
    weightDecay: 0.01,
  })

/** One parameter's optimizer state read back as plain arrays (for checkpoints). */
export type AdamWParameterState = {
  /** Completed updates of this parameter (torch `state["step"]`). */
  readonly step: number
  /** First moment `exp_avg`, in the variable's own layout. */
  readonly expAvg: Float32Array
  /** Second moment `exp_avg_sq`, in the variable's own layout. */
  readonly expAvgSq: Float32Array
}

/**
 * AdamW over TensorFlow.js variables with decoupled weight decay, following torch's
 * `AdamW` (`_single_tensor_adam` / `_multi_tensor_adam` with `decoupled_weight_decay`) operation
 * by operation in float32. Owns the `m`/`v` moment variables; call `dispose()` when done.
 */
export type AdamW = {
  /** The parameters, by name (not owned). */
  readonly variables: ReadonlyMap<string, tf.Variable>
  /** The resolved hyper-parameters. */
  readonly options: Readonly<Required<{ [K in keyof AdamWOptions]: number }>>
  /**
   * Applies one update to every parameter that has a gradient in `grads` (others are left alone
   * and their step count does not advance, as torch skips parameters whose `grad` is `None`).
   * Synchronous; the gradients are not disposed.
   * @param grads - Gradients by parameter name, each shaped like its variable.
   * @param learningRate - The learning rate of this step (from the schedule).
   * @throws {ReliquaryError} `INVALID_ARGUMENT` for an unknown name, a shape mismatch or a bad learning rate.
   */
  apply(grads: ReadonlyMap<string, tf.Tensor>, learningRate: number): void
  /** Completed updates of one parameter (0 before its first update). */
  stepOf(name: string): number
  /** Reads every parameter's moments back (with `await data()`). */
  readState(): Promise<Map<string, AdamWParameterState>>
  /**
   * Replaces the state of every parameter. All entries are checked before any is written.
   * @throws {ReliquaryError} `INVALID_ARGUMENT` if a parameter is missing or a length differs.
   */
  writeState(state: ReadonlyMap<string, AdamWParameterState>): void
  /** Frees the moment variables. Idempotent. */
  dispose(): void
  /** Same as `dispose()`, for `using`. */
  [Symbol.dispose](): void
}

let optimizerCounter = 0

/**
 * Creates an AdamW optimizer over `variables`, with zero moments allocated up front (so steps
 * never change the live tensor count). TensorFlow.js ships Adam but no AdamW; this follows torch:
 *
 * 1. `p ← p · (1 − lr·wd)` (decoupled decay, before the moment update);
 * 2. `m ← lerp(m, g, 1 − β1)`, `v ← v·β2 + (1 − β2)·g²`;
 * 3. `p ← p − (lr / (1 − β1^t)) · m / (√v / √(1 − β2^t) + ε)`.
 *
 * Scalars are computed in float64 as Python does and rounded to float32 when they meet a tensor,
 * as torch's float32 kernels do (so, for example, `1 − lr·wd` rounds to exactly 1 when
 * `lr·wd < 2⁻²⁵`, and the decay then has no effect, in torch as here).
 *
 * - Spec: docs/protocol.md §7 "Optimizer" (the reference builds `torch.optim.AdamW(lr=5e-6,
 *   betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)`).
 *
 * @param variables - Parameters by name (for example `model.weights`). Not owned, never disposed.
 * @param options - {@link AdamWOptions}
 * @returns A stateful {@link AdamW}; dispose it to free its moments.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for an empty parameter map or an out-of-range option.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core'
 * import { createAdamW } from 'reliquary/grpo'
 * const w = tf.variable(tf.ones([2]))
 * using opt = createAdamW(new Map([['w', w]]), { weightDecay: 0.01 })
 * const g = tf.tensor1d([0.5, -0.5])
 * opt.apply(new Map([['w', g]]), 1e-3)
 * console.log(await w.data()) // ≈ [0.999, 1.001]
 * ```
 */
export function createAdamW(
  variables: ReadonlyMap<string, tf.Variable>,
  options: AdamWOptions = {},
): AdamW {
  if (!(variables instanceof Map) || variables.size === 0)
    throw invalidArgument('variables', 'a non-empty Map of tf.Variable', variables)
  const resolved = resolveAdamWOptions(options)
  const params = new Map(variables)
  const { expAvg, expAvgSq, steps } = allocateMoments(
    params,
    `reliquary.adamw${++optimizerCounter}`,
  )
  let disposed = false
  const assertLive = (): void => {
    if (disposed)
      throw new ReliquaryError('INVALID_ARGUMENT', 'This AdamW optimizer has been disposed.')
  }

  const apply = (grads: ReadonlyMap<string, tf.Tensor>, learningRate: number): void => {
    assertLive()
    if (typeof learningRate !== 'number' || !Number.isFinite(learningRate) || learningRate < 0)
      throw invalidArgument('learningRate', 'a finite number ≥ 0', learningRate)
    checkGrads(params, grads)
    for (const [name, g] of grads) {
      const t = steps.get(name)! + 1
      steps.set(name, t)
      const moments = { m: expAvg.get(name)!, v: expAvgSq.get(name)! }
      updateParameter(params.get(name)!, moments, g, { ...resolved, learningRate, step: t })
    }
  }

  const readState = async (): Promise<Map<string, AdamWParameterState>> => {
    assertLive()
    const out = new Map<string, AdamWParameterState>()
    for (const name of params.keys()) {
      const ea = (await expAvg.get(name)!.data()) as Float32Array
      const es = (await expAvgSq.get(name)!.data()) as Float32Array
      out.set(name, {
        step: steps.get(name)!,
        expAvg: Float32Array.from(ea),
        expAvgSq: Float32Array.from(es),
      })
    }
    return out
  }

  const writeState = (state: ReadonlyMap<string, AdamWParameterState>): void => {
    assertLive()
    checkState(params, state)
    for (const [name, p] of params) {
      const s = state.get(name)!
      tf.tidy(() => {
        expAvg.get(name)!.assign(tf.tensor(s.expAvg, p.shape, 'float32'))
        expAvgSq.get(name)!.assign(tf.tensor(s.expAvgSq, p.shape, 'float32'))
      })
      steps.set(name, s.step)
    }
  }

  const dispose = (): void => {
    if (disposed) return
    disposed = true
    for (const v of [...expAvg.values(), ...expAvgSq.values()]) v.dispose()
  }

  return Object.freeze({
    variables: params as ReadonlyMap<string, tf.Variable>,
    options: resolved,
    apply,
    stepOf: (name: string): number => {
      const s = steps.get(name)
      if (s === undefined) throw invalidArgument('name', 'a parameter name of this optimizer', name)
      return s
    },
    readState,
    writeState,
    dispose,
    [Symbol.dispose]: dispose,
  })
}

type ResolvedAdamWOptions = Readonly<Required<{ [K in keyof AdamWOptions]: number }>>

function resolveAdamWOptions(options: AdamWOptions): ResolvedAdamWOptions {
  const opt = (key: keyof AdamWOptions, ok: (x: number) => boolean, expected: string): number => {
    const v = options[key] ?? ADAMW_DEFAULTS[key]
    if (typeof v !== 'number' || !ok(v)) throw invalidArgument(`options.${key}`, expected, v)
    return v
  }
  const unit = (x: number): boolean => Number.isFinite(x) && x >= 0 && x < 1
  return Object.freeze({
    beta1: opt('beta1', unit, 'a number in [0, 1)'),
    beta2: opt('beta2', unit, 'a number in [0, 1)'),
    epsilon: opt('epsilon', (x) => Number.isFinite(x) && x > 0, 'a finite number > 0'),
    weightDecay: opt('weightDecay', (x) => Number.isFinite(x) && x >= 0, 'a finite number ≥ 0'),
  })
}

/** Zero `exp_avg`/`exp_avg_sq` variables and step counts for every parameter. */
function allocateMoments(
  params: ReadonlyMap<string, tf.Variable>,
  prefix: string,
): {
  expAvg: Map<string, tf.Variable>
  expAvgSq: Map<string, tf.Variable>
  steps: Map<string, number>
} {
  const expAvg = new Map<string, tf.Variable>()
  const expAvgSq = new Map<string, tf.Variable>()
  const steps = new Map<string, number>()
  try {
    for (const [name, p] of params) {
      if (!(p instanceof tf.Variable))
        throw invalidArgument(`variables["${name}"]`, 'a tf.Variable', p)
      const zeros = tf.zerosLike(p)
      try {
        expAvg.set(name, tf.variable(zeros, false, `${prefix}/exp_avg/${name}`))
        expAvgSq.set(name, tf.variable(zeros, false, `${prefix}/exp_avg_sq/${name}`))
      } finally {
        zeros.dispose() // the variables hold their own references to the data
      }
      steps.set(name, 0)
    }
  } catch (e) {
    for (const v of [...expAvg.values(), ...expAvgSq.values()]) v.dispose()
    throw e
  }
  return { expAvg, expAvgSq, steps }
}

/** Every gradient names a parameter and has its shape (checked before any update). */
function checkGrads(
  params: ReadonlyMap<string, tf.Variable>,
  grads: ReadonlyMap<string, tf.Tensor>,
): void {
  for (const [name, g] of grads) {
    const p = params.get(name)
    if (!p)
      throw invalidArgument('grads', 'gradients keyed by parameter names of this optimizer', name)
    if (!tf.util.arraysEqual(g.shape, p.shape))
      throw invalidArgument(
        `grads["${name}"]`,
        `shape [${p.shape.join(', ')}]`,
        `shape [${g.shape.join(', ')}]`,
      )
  }
}

/** One parameter's AdamW update at step `step` (1-based), operation by operation as torch. */
function updateParameter(
  p: tf.Variable,
  moments: { m: tf.Variable; v: tf.Variable },
  g: tf.Tensor,
  o: ResolvedAdamWOptions & { learningRate: number; step: number },
): void {
  const { m, v } = moments
  const { beta1, beta2, epsilon, weightDecay, learningRate, step: t } = o
  const decay = 1 - learningRate * weightDecay
  const lerpWeight = 1 - beta1
  // torch: bias corrections and the step size are Python floats (float64); they become
  // float32 scalars only inside the kernels.
  const biasCorrection1 = 1 - beta1 ** t
  const biasCorrection2 = 1 - beta2 ** t
  const stepSize = learningRate / biasCorrection1
  const biasCorrection2Sqrt = biasCorrection2 ** 0.5
  tf.tidy(() => {
    let pNew: tf.Tensor = p
    if (weightDecay !== 0) pNew = tf.mul(p, tf.scalar(decay))
    // at::lerp: weight < 0.5 → self + w·(end − self), else end − (end − self)·(1 − w).
    const mNew =
      lerpWeight < 0.5
        ? tf.add(m, tf.mul(tf.scalar(lerpWeight), tf.sub(g, m)))
        : tf.sub(g, tf.mul(tf.sub(g, m), tf.scalar(1 - lerpWeight)))
    const vNew = tf.add(tf.mul(v, tf.scalar(beta2)), tf.mul(tf.scalar(1 - beta2), tf.mul(g, g)))
    const denom = tf.add(tf.div(tf.sqrt(vNew), tf.scalar(biasCorrection2Sqrt)), tf.scalar(epsilon))
    pNew = tf.add(pNew, tf.mul(tf.scalar(-stepSize), tf.div(mNew, denom)))
    m.assign(mNew)
    v.assign(vNew)
    p.assign(pNew)
  })
}

/** A checkpointed state covers every parameter with the right lengths (checked before writing). */
function checkState(
  params: ReadonlyMap<string, tf.Variable>,
  state: ReadonlyMap<string, AdamWParameterState>,
): void {
  for (const [name, p] of params) {
    const s = state.get(name)
    if (!s)
      throw invalidArgument('state', `an entry for every parameter (missing "${name}")`, state)
    if (!Number.isSafeInteger(s.step) || s.step < 0)
      throw invalidArgument(`state["${name}"].step`, 'an integer ≥ 0', s.step)
    if (!(s.expAvg instanceof Float32Array) || s.expAvg.length !== p.size)
      throw invalidArgument(
        `state["${name}"].expAvg`,
        `a Float32Array of length ${p.size}`,
        s.expAvg,
      )
    if (!(s.expAvgSq instanceof Float32Array) || s.expAvgSq.length !== p.size)
      throw invalidArgument(
        `state["${name}"].expAvgSq`,
        `a Float32Array of length ${p.size}`,
        s.expAvgSq,
      )
  }
}
