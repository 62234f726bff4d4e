import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { isReliquaryError, ReliquaryError } from '../errors/base.js'
import { openWebGpuBackend, type WebGpuOptions } from '../gpu/device.js'

/** Options of {@link useBackend}. */
export type UseBackendOptions = {
  /** Device features for the `webgpu` backend (f16, subgroup matrices, adapter preference). */
  readonly webgpu?: WebGpuOptions | undefined
}

/**
 * `@tensorflow/tfjs-node-gpu` when installed, else `@tensorflow/tfjs-node`. A package that is
 * installed but fails to load (its native library, CUDA or cuDNN missing) is reported with its own
 * error, not as "not installed".
 */
function loadTfjsNode(req: NodeRequire): void {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    let path: string
    try {
      path = req.resolve(pkg)
    } catch {
      continue
    }
    try {
      req(path)
      return
    } catch (e) {
      const why = e instanceof Error ? e.message.split('\n')[0]! : String(e)
      throw new ReliquaryError(
        'TFJS_NOT_AVAILABLE',
        `${pkg} is installed but failed to load: ${why}`,
        {
          hints: [
            pkg.endsWith('-gpu')
              ? 'tfjs-node-gpu 4.22 needs libtensorflow 2.9.1 built for CUDA 11.2 and cuDNN 8.1 on the library path (it has no code for GPUs newer than Ampere); the webgpu backend runs on current NVIDIA drivers.'
              : 'tfjs-node needs its libtensorflow download (made by its install script); reinstall it with network access.',
            'Or choose another backend: wasm (default), webgpu or cpu.',
          ],
          cause: e,
        },
      )
    }
  }
  throw new Error('Cannot find module @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node')
}

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
 *   installed by the application. The device is opened with `shader-f16` and subgroup matrices
 *   (tensor cores) where the adapter offers them (see `openWebGpuBackend` in `reliquary/gpu`);
 *   everything else runs on f32 kernels.
 * - `tensorflow`: `@tensorflow/tfjs-node` or `@tensorflow/tfjs-node-gpu` when the user has one.
 *
 * @throws {ReliquaryError} `TFJS_NOT_AVAILABLE` when the backend's package is missing or fails.
 */
export async function useBackend(
  name: BackendName = 'wasm',
  options: UseBackendOptions = {},
): Promise<string> {
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
    } else if (name === 'cpu') {
      await import('@tensorflow/tfjs-backend-cpu')
    } else if (name === 'webgpu') {
      // Its own typed errors (missing packages, no adapter) pass through unchanged.
      await openWebGpuBackend(options.webgpu)
    } else if (name === 'tensorflow') {
      loadTfjsNode(req)
    }
  } catch (e) {
    if (isReliquaryError(e)) throw e
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
    throw new ReliquaryError(
      'TFJS_NOT_AVAILABLE',
      `The "${name}" backend is installed but failed to initialise.`,
      {
        hints: [
          name === 'webgpu'
            ? 'It needs a working WebGPU adapter (a Vulkan driver).'
            : 'TensorFlow.js logged why ("Initialization of backend … failed"); the wasm backend needs its .wasm binaries in the dist folder of @tensorflow/tfjs-backend-wasm (a bundle must keep that package installed beside it).',
          'Or choose another backend: wasm (default) or cpu.',
        ],
      },
    )
  await tf.ready()
  return tf.getBackend()
}
