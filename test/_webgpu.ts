// Shared set-up of the webgpu test files: the webgpu backend on whatever Vulkan adapter the
// environment has (CI: Mesa lavapipe from .ci/vulkan.sh). Without an adapter the files skip,
// unless RELIQUARY_REQUIRE_WEBGPU=1 (set by .ci/run), where a missing adapter fails them.
import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, expect } from 'vitest'
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

/**
 * The set-up of a webgpu test file: {@link setUpWebGpu}, and (when the backend came up) a check
 * that `tf.memory().numTensors` is back where it was before the file's own hooks. Call it at the
 * top level before registering any hook: vitest runs `beforeAll` hooks in order and `afterAll`
 * hooks in reverse, so the count is read before the file loads its models and compared after the
 * file has freed them.
 * @returns Whether the webgpu backend is up (skip the file's suites otherwise).
 */
export async function webGpuTests(): Promise<boolean> {
  const ready = await setUpWebGpu()
  let start = 0
  beforeAll(() => {
    start = tf.memory().numTensors
  })
  afterAll(() => {
    if (ready) expect(tf.memory().numTensors).toBe(start)
  })
  return ready
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

/** Largest element-wise |a − b|. */
export function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!))
  return m
}
