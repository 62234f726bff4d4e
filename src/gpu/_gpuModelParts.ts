/**
 * The weights and RoPE tables behind a {@link GpuModel}, for the kernels of this folder that run
 * their own decoder loop (batched generation with a GPU key/value cache).
 * @internal
 */
import { ReliquaryError } from '../errors/base.js'
import type { CausalLM } from '../model/loadModel.js'
import type { GpuModel, GpuWeights } from './gpuModel.js'

/** What {@link createGpuModel} assembled a model from. */
export type GpuModelParts = {
  readonly weights: GpuWeights
  readonly rope: CausalLM['_internal']['rope']
}

const parts = new WeakMap<object, GpuModelParts>()

/** Records `p` as the parts of `gm` and returns `gm`. */
export function withGpuModelParts<T extends object>(p: GpuModelParts, gm: T): T {
  parts.set(gm, { weights: p.weights, rope: p.rope })
  return gm
}

/** The parts of a model made by `prepareGpuModel` or `loadGpuModel`. */
export function gpuModelParts(gm: GpuModel): GpuModelParts {
  const p = parts.get(gm)
  if (!p)
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      'This GpuModel was not made by prepareGpuModel or loadGpuModel.',
    )
  return p
}
