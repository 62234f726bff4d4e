/**
 * Registers TensorFlow.js's gradient functions, which `@tensorflow/tfjs-core` alone does not.
 *
 * Import it once, for its effect, before taking gradients with `@tensorflow/tfjs-core` (GRPO
 * training does it for you):
 *
 * ```ts
 * import 'reliquary/tfjs-gradients'
 * ```
 *
 * It is TF.js's own `@tensorflow/tfjs-core/dist/register_all_gradients` (what the
 * `@tensorflow/tfjs` umbrella imports), bundled because Node cannot load that module directly.
 * The gradients go into TF.js's global registry, shared with the `@tensorflow/tfjs-core` your
 * project installed.
 *
 * @packageDocumentation
 */
import * as tf from '@tensorflow/tfjs-core'
import '@tensorflow/tfjs-core/dist/register_all_gradients.js'

/**
 * Whether TF.js has its gradient functions registered (always `true` once this module has loaded,
 * unless another copy of tfjs-core is in use).
 *
 * @returns `true` when `tf.getGradient('Mean')` is defined.
 * @example
 * ```ts
 * import { gradientsRegistered } from 'reliquary/tfjs-gradients'
 * console.log(gradientsRegistered()) // true
 * ```
 */
export function gradientsRegistered(): boolean {
  return tf.getGradient('Mean') != null
}
