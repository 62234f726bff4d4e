/**
 * WebGPU device setup for the TensorFlow.js webgpu backend: one Dawn device with f16 and
 * subgroup matrices (tensor cores) where the adapter offers them, shared by every TF.js op and
 * the kernels of this folder.
 */
import { createRequire } from 'node:module'
import * as tf from '@tensorflow/tfjs-core'
import { ReliquaryError } from '../errors/base.js'

/** What the GPU device was opened with; the kernels pick their path from it. */
export type GpuCapabilities = {
  /** Adapter description (vendor, device, driver) as Dawn reports it. */
  readonly adapter: string
  /** `shader-f16` is enabled on the device: f16 storage and arithmetic in kernels. */
  readonly f16: boolean
  /** `subgroups` is enabled on the device. */
  readonly subgroups: boolean
  /**
   * `chromium-experimental-subgroup-matrix` is enabled and the adapter offers an f16 x f16 -> f32
   * 16x16x16 configuration: the tensor-core GEMM can run.
   */
  readonly subgroupMatrix: boolean
  /** Largest storage binding in bytes (2 GiB on the drivers measured). */
  readonly maxBindingBytes: number
  /** Largest buffer in bytes. */
  readonly maxBufferBytes: number
}

/** Options of {@link openWebGpuBackend}. */
export type WebGpuOptions = {
  /** Ask for `shader-f16` where the adapter offers it (default true). */
  readonly f16?: boolean | undefined
  /**
   * Ask for subgroup matrices where the adapter offers them (default true). Dawn exposes them only
   * with its `allow_unsafe_apis` instance toggle, which this turns on.
   */
  readonly subgroupMatrix?: boolean | undefined
  /** Adapter preference (default `high-performance`). */
  readonly powerPreference?: 'high-performance' | 'low-power' | undefined
}

type Adapter = {
  features: Set<string>
  limits: Record<string, number>
  info?: {
    vendor?: string
    architecture?: string
    device?: string
    description?: string
    subgroupMatrixConfigs?: Iterable<{
      componentType: string
      resultComponentType: string
      M: number
      N: number
      K: number
    }>
  }
  requestDevice(d: unknown): Promise<unknown>
}
type Gpu = { requestAdapter(o: unknown): Promise<Adapter | null> }

let capabilities: GpuCapabilities | undefined

/** The capabilities of the device the webgpu backend runs on, or `undefined` before setup. */
export function gpuCapabilities(): GpuCapabilities | undefined {
  return capabilities
}

const NO_ADAPTER_HINTS = [
  'WebGPU in Node runs over Vulkan: install the Vulkan loader (libvulkan1) and a Vulkan driver (ICD) for your GPU — the NVIDIA driver ships nvidia_icd.json; without a GPU, Mesa >= 25 lavapipe (mesa-vulkan-drivers).',
  'Point the loader at the driver with VK_ICD_FILENAMES (or VK_DRIVER_FILES) if it is not in a standard place; `vulkaninfo --summary` lists what the loader finds.',
  'Or choose another backend: wasm (default) or cpu.',
]

function dawnInstance(o: WebGpuOptions): Gpu {
  const g = globalThis as Record<string, unknown>
  const existing = (g.navigator as { gpu?: Gpu } | undefined)?.gpu
  if (existing && g.GPUBufferUsage) return existing
  const req = createRequire(import.meta.url)
  const dawn = req('webgpu') as { create(flags: string[]): Gpu; globals: Record<string, unknown> }
  Object.assign(globalThis, dawn.globals)
  const toggles = ['vulkan_enable_f16_on_nvidia']
  if (o.subgroupMatrix !== false) toggles.unshift('allow_unsafe_apis')
  const gpu = dawn.create([`enable-dawn-features=${toggles.join(',')}`])
  Object.defineProperty(globalThis, 'navigator', {
    value: { ...(g.navigator as object | undefined), gpu },
    configurable: true,
    writable: true,
  })
  return gpu
}

function hasF16TensorCores(a: Adapter): boolean {
  for (const c of a.info?.subgroupMatrixConfigs ?? [])
    if (
      c.componentType === 'f16' &&
      c.resultComponentType === 'f32' &&
      c.M === 16 &&
      c.N === 16 &&
      c.K === 16
    )
      return true
  return false
}

/**
 * Opens a Dawn device with the features the kernels use (where offered) and registers the
 * TF.js `webgpu` backend on it (replacing the package's own registration, which asks for no
 * f16 or subgroup features). Called by `useBackend('webgpu')`; exported for applications that
 * manage backends themselves. Returns the capabilities; `tf.setBackend('webgpu')` is still the
 * caller's.
 *
 * @throws {ReliquaryError} `TFJS_NOT_AVAILABLE` when `webgpu` or `@tensorflow/tfjs-backend-webgpu`
 *   cannot be loaded, or when no adapter is found (the hint names the Vulkan driver).
 */
export async function openWebGpuBackend(o: WebGpuOptions = {}): Promise<GpuCapabilities> {
  let gpu: Gpu
  let mod: { WebGPUBackend: new (device: unknown, info?: unknown) => tf.KernelBackend }
  try {
    gpu = dawnInstance(o)
    mod = await import(/* webpackIgnore: true */ '@tensorflow/tfjs-backend-webgpu' as string)
  } catch (e) {
    throw new ReliquaryError(
      'TFJS_NOT_AVAILABLE',
      'The "webgpu" backend needs the webgpu (Dawn) and @tensorflow/tfjs-backend-webgpu packages, which could not be loaded.',
      {
        hints: [
          'npm install webgpu@0.6.2 @tensorflow/tfjs-backend-webgpu@4.22.0',
          `Loading failed with: ${e instanceof Error ? e.message : String(e)}`,
        ],
        cause: e,
      },
    )
  }
  const adapter = await gpu.requestAdapter({
    powerPreference: o.powerPreference ?? 'high-performance',
  })
  if (!adapter)
    throw new ReliquaryError(
      'TFJS_NOT_AVAILABLE',
      'No WebGPU adapter was found (no Vulkan driver).',
      {
        hints: NO_ADAPTER_HINTS,
      },
    )
  const want = ['timestamp-query', 'subgroups']
  if (o.f16 !== false) want.push('shader-f16')
  const tc = o.f16 !== false && o.subgroupMatrix !== false && hasF16TensorCores(adapter)
  if (tc) want.push('chromium-experimental-subgroup-matrix')
  const features = want.filter((f) => adapter.features.has(f))
  const l = adapter.limits
  const device = await adapter.requestDevice({
    requiredFeatures: features,
    requiredLimits: {
      maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
      maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxBufferSize: l.maxBufferSize,
      maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
      maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
      maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    },
  })
  const info = adapter.info ?? {}
  if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu')
  tf.registerBackend('webgpu', () => new mod.WebGPUBackend(device, info), 3)
  capabilities = {
    adapter: [info.vendor, info.architecture, info.device, info.description]
      .filter(Boolean)
      .join(' '),
    f16: features.includes('shader-f16'),
    subgroups: features.includes('subgroups'),
    subgroupMatrix: features.includes('chromium-experimental-subgroup-matrix'),
    maxBindingBytes: l.maxStorageBufferBindingSize ?? 134217728,
    maxBufferBytes: l.maxBufferSize ?? 268435456,
  }
  return capabilities
}
