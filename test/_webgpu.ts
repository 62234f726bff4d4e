// Shared set-up of the webgpu test files: the webgpu backend on whatever Vulkan adapter the
// environment has (CI: Mesa lavapipe from .ci/vulkan.sh). Without an adapter the files skip,
// unless RELIQUARY_REQUIRE_WEBGPU=1 (set by .ci/run), where a missing adapter fails them.
import * as tf from '@tensorflow/tfjs-core'
import { useBackend } from '../src/model/backend.js'

/** True when the webgpu backend came up. */
export async function setUpWebGpu(): Promise<boolean> {
  try {
    await useBackend('webgpu')
    return tf.getBackend() === 'webgpu'
  } catch (e) {
    if (process.env.RELIQUARY_REQUIRE_WEBGPU === '1') throw e
    return false
  }
}

/** ‖got − ref‖ / ‖ref‖ in float64. */
export function relL2(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0
  let den = 0
  for (let i = 0; i < ref.length; i++) {
    num += ((got[i] as number) - (ref[i] as number)) ** 2
    den += (ref[i] as number) ** 2
  }
  return Math.sqrt(num / den)
}
