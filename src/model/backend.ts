import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import * as tf from '@tensorflow/tfjs'
import { ReliquaryError } from '../errors/base.js'

/** Backends the SDK knows how to set up. */
export type BackendName = 'wasm' | 'cpu' | 'webgpu' | 'tensorflow'

/**
 * Selects and initialises a TensorFlow.js backend in one call: the single place where the SDK
 * touches the global backend, for applications, the CLI and examples to call explicitly (library
 * functions never switch it).
 *
 * - `wasm` (default on CPU): `@tensorflow/tfjs-backend-wasm`, with the wasm binaries located
 *   inside the installed package (no network).
 * - `cpu`: the pure-JS fallback.
 * - `webgpu`: `@tensorflow/tfjs-backend-webgpu` over the `webgpu` (Dawn) Node package; both must be
 *   installed by the application.
 * - `tensorflow`: `@tensorflow/tfjs-node` or `@tensorflow/tfjs-node-gpu` when the user has one.
 *
 * @throws {ReliquaryError} `TFJS_NOT_AVAILABLE` when the backend's package is missing or fails.
 */
export async function useBackend(name: BackendName = 'wasm'): Promise<string> {
  const req = createRequire(import.meta.url)
  const missing = (pkg: string, e?: unknown) =>
    new ReliquaryError(
      'TFJS_NOT_AVAILABLE',
      `The "${name}" backend needs ${pkg}, which could not be loaded.`,
      {
        hints: [`npm install ${pkg}`, 'Or choose another backend: wasm (default) or cpu.'],
        cause: e,
      },
    )
  try {
    if (name === 'wasm') {
      const wasm = await import('@tensorflow/tfjs-backend-wasm')
      wasm.setWasmPaths(
        `${join(dirname(req.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`,
      )
    } else if (name === 'webgpu') {
      const g = globalThis as Record<string, unknown>
      if (!(g.navigator as { gpu?: unknown } | undefined)?.gpu) {
        const dawn = req('webgpu') as {
          create(o: string[]): unknown
          globals: Record<string, unknown>
        }
        Object.assign(globalThis, dawn.globals)
        g.navigator = { gpu: dawn.create([]) }
      }
      await import(/* webpackIgnore: true */ '@tensorflow/tfjs-backend-webgpu' as string)
    } else if (name === 'tensorflow') {
      try {
        req('@tensorflow/tfjs-node-gpu')
      } catch {
        req('@tensorflow/tfjs-node')
      }
    }
  } catch (e) {
    throw missing(
      name === 'webgpu'
        ? '@tensorflow/tfjs-backend-webgpu and webgpu'
        : name === 'tensorflow'
          ? '@tensorflow/tfjs-node'
          : `@tensorflow/tfjs-backend-${name}`,
      e,
    )
  }
  if (!(await tf.setBackend(name)))
    throw missing(name === 'webgpu' ? 'a working WebGPU adapter (Vulkan driver)' : name)
  await tf.ready()
  return tf.getBackend()
}
