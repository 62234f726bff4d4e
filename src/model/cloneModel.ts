import * as tf from '@tensorflow/tfjs-core'
import { invalidArgument } from '../errors/base.js'
import { createCausalLM, type CausalLM } from './loadModel.js'

let cloneCounter = 0

/** Options of {@link cloneModel}. */
export type CloneModelOptions = {
  /** Mark the copy's variables trainable. @default false (a frozen copy) */
  trainable?: boolean | undefined
  /** Prefix of the copy's TF.js variable names (must be unique per live model). @default "reliquary.clone<n>" */
  name?: string | undefined
}

/**
 * A new {@link CausalLM} holding a snapshot of `model`'s current weights (same config, weight
 * layout and attention option), for example the frozen KL reference of GRPO training. The copy
 * shares the source's immutable buffers, so it costs no memory until the source is updated;
 * later `assign()` calls on the source leave the copy untouched.
 *
 * @param model - A model from `loadModel`; not modified.
 * @param options - {@link CloneModelOptions}
 * @returns The copy; dispose it independently of the source.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a disposed source or bad options.
 *
 * @example
 * ```ts
 * import { cloneModel, loadModel } from 'reliquary/model'
 * const policy = await loadModel('./qwen3-tiny')
 * const reference = cloneModel(policy) // frozen
 * reference.dispose(); policy.dispose()
 * ```
 */
export function cloneModel(model: CausalLM, options: CloneModelOptions = {}): CausalLM {
  const { trainable = false, name = `reliquary.clone${++cloneCounter}` } = options
  if (typeof trainable !== 'boolean')
    throw invalidArgument('options.trainable', 'a boolean', trainable)
  if (typeof name !== 'string' || name === '')
    throw invalidArgument('options.name', 'a non-empty string', name)
  const vars = new Map<string, tf.Variable>()
  try {
    for (const [weight, v] of model.weights) {
      if (v.isDisposed)
        throw invalidArgument('model', 'a model that has not been disposed', 'disposed')
      vars.set(weight, tf.variable(v, trainable, `${name}/${weight}`))
    }
  } catch (e) {
    for (const v of vars.values()) v.dispose()
    throw e
  }
  return createCausalLM(model.config, vars, model.weightSpecs, model._internal.attentionOption)
}
