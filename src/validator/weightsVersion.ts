import type * as tf from '@tensorflow/tfjs-core'
import type { CausalLM } from '../model/loadModel.js'

/**
 * The identity of a set of models' current weights: one object per variable (its data id), which
 * any `assign` replaces. Two versions are equal ({@link sameWeights}) only when no weight of the
 * models was written in between.
 */
export type WeightsVersion = readonly object[]

/**
 * The current {@link WeightsVersion} of `models`.
 * @param models - The models, in a fixed order.
 */
export function weightsVersion(...models: readonly Pick<CausalLM, 'weights'>[]): WeightsVersion {
  return models.flatMap((m) => [...m.weights.values()].map((v: tf.Variable) => v.dataId as object))
}

/**
 * Whether two {@link WeightsVersion}s are the same (`a` null: unknown, never the same).
 * @param a - An earlier version, or null.
 * @param b - The version now.
 */
export function sameWeights(a: WeightsVersion | null, b: WeightsVersion): boolean {
  return a !== null && a.length === b.length && a.every((x, i) => x === b[i])
}
