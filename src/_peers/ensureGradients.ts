import * as tf from '@tensorflow/tfjs-core'
import { ReliquaryError } from '../errors/base.js'

// Where the gradient registration is loaded from, first that works: the package's own bundled
// entry (how the built package and anything run from source with a build present find it), then
// TF.js's module itself (bundlers and Vitest resolve its extensionless imports; Node does not).
// Kept in variables so that neither the type checker nor the build resolves them.
const SOURCES: readonly string[] = [
  'reliquary/tfjs-gradients',
  '@tensorflow/tfjs-core/dist/register_all_gradients.js',
]

/**
 * Registers TensorFlow.js's gradient functions, once, before the first gradient is taken.
 *
 * `@tensorflow/tfjs-core` registers kernels through its backends but no gradients; the
 * `@tensorflow/tfjs` umbrella registers them by importing
 * `@tensorflow/tfjs-core/dist/register_all_gradients`, the registration TF.js documents for custom
 * bundles. Node cannot load that module directly (ESM with extensionless specifiers), so the
 * package ships it bundled as `reliquary/tfjs-gradients`, loaded here on first use. Gradients go
 * into TF.js's global registry, shared by every copy of tfjs-core: when they are already there
 * (the umbrella, tfjs-node or `reliquary/tfjs-gradients` was imported), nothing is loaded.
 *
 * @throws {ReliquaryError} `TFJS_NOT_AVAILABLE` when no source could register them.
 */
export async function ensureGradients(): Promise<void> {
  if (tf.getGradient('Mean') != null) return
  const failures: unknown[] = []
  for (const source of SOURCES) {
    try {
      await import(source)
    } catch (e) {
      failures.push(e)
    }
    if (tf.getGradient('Mean') != null) return
  }
  throw new ReliquaryError(
    'TFJS_NOT_AVAILABLE',
    'TensorFlow.js has no gradients registered, and registering them failed; training cannot run.',
    {
      hints: [
        "Import 'reliquary/tfjs-gradients' once in your application (or '@tensorflow/tfjs' or '@tensorflow/tfjs-node', which also register them).",
      ],
      cause: failures.at(-1),
    },
  )
}
