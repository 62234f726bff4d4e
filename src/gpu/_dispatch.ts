/**
 * Runs a WGSL compute shader of this folder inside the TF.js webgpu backend's own command stream:
 * tensors stay the backend's buffers, the dispatch is recorded in the backend's compute pass (so it
 * is ordered with every TF.js op), and outputs are new backend tensors. The shaders are whole WGSL
 * modules (they need `enable f16` / subgroup-matrix directives, which TF.js's shader preamble
 * cannot carry). Bindings: inputs in order (read), then outputs (read_write), then one uniform
 * struct `u`.
 * @internal
 */
import * as tf from '@tensorflow/tfjs-core'

/** A uniform value: a number is written as u32, `{ f }` as f32, `{ i }` as i32. */
export type Uniform = number | { f: number } | { i: number }

/** One dispatch. */
export type GpuDispatch = {
  /** Cache key of the shader (everything `code` depends on). */
  readonly key: string
  /** The WGSL module. Entry point `main`. */
  readonly code: () => string
  readonly inputs: readonly tf.TensorInfo[]
  /** Output tensors; `init` uploads initial contents (for example a zeroed atomic counter). */
  readonly outputs: readonly {
    shape: number[]
    dtype: tf.DataType
    init?: Int32Array | Float32Array
  }[]
  readonly uniforms: readonly Uniform[]
  /** Workgroup counts; each at most 65535. */
  readonly workgroups: readonly [number, number?, number?]
}

type Buf = { size: number; usage?: number }
type Device = {
  createCommandEncoder(): Encoder
  createShaderModule(d: { code: string; label?: string }): unknown
  createComputePipeline(d: unknown): { getBindGroupLayout(i: number): unknown }
  createBindGroup(d: unknown): unknown
  createQuerySet?(d: { type: 'timestamp'; count: number }): unknown
  pushErrorScope?(f: string): void
  popErrorScope?(): Promise<{ message: string } | null>
}
/** A command encoder (the calls this folder makes). */
export type Encoder = {
  beginComputePass(d?: unknown): Pass
  copyBufferToBuffer(src: unknown, so: number, dst: unknown, dof: number, size: number): void
  finish(): unknown
}
/** The parts of tfjs-backend-webgpu's `WebGPUBackend` the kernels of this folder drive (4.22). */
export type Backend = tf.KernelBackend & {
  device: Device
  queue: {
    writeBuffer(b: unknown, o: number, d: ArrayBufferView | ArrayBuffer): void
    submit(c: unknown[]): void
  }
  tensorMap: {
    get(id: tf.DataId): { resource: Buf | null; dtype: tf.DataType; values?: unknown }
  }
  bufferManager: {
    acquireBuffer(size: number, usage: number, mappedAtCreation?: boolean): Buf
    releaseBuffer(b: Buf, reuse?: boolean): void
  }
  uniformPendingDisposal: Buf[]
  commandQueueOwnedIds: { add(id: tf.DataId): void }
  commandEncoder: Encoder | null
  computePassEncoder: Pass | null
  dispatchCountInPass: number
  makeTensorInfo(
    shape: number[],
    dtype: tf.DataType,
    values?: Int32Array | Float32Array,
  ): tf.TensorInfo
  uploadToGPU(id: tf.DataId): void
  ensureCommandEncoderReady(): void
  endComputePassEncoder(): void
  submitQueue(): void
  /** Set by TF.js while `tf.profile`/`tf.time` runs: each timed dispatch pushes its GPU time here. */
  activeTimers?: { name: string; query: Promise<number> }[] | null
  supportTimestampQuery?: boolean
  querySet?: unknown
  querySetCount?: number
  getQueryTime?(): Promise<number>
}
/** A compute pass encoder (the calls this folder makes). */
export type Pass = {
  setPipeline(p: unknown): void
  setBindGroup(i: number, g: unknown): void
  dispatchWorkgroups(x: number, y?: number, z?: number): void
  end(): void
}

const pipelines = new WeakMap<object, Map<string, ReturnType<Device['createComputePipeline']>>>()

/** The active webgpu backend; throws when another backend is active. */
export function webgpuBackend(): Backend {
  if (tf.getBackend() !== 'webgpu') throw new Error('The gpu kernels need the webgpu backend.')
  return tf.backend() as Backend
}

function pipeline(b: Backend, key: string, code: () => string) {
  let m = pipelines.get(b.device as object)
  if (!m) {
    m = new Map()
    pipelines.set(b.device as object, m)
  }
  let p = m.get(key)
  if (!p) {
    const module = b.device.createShaderModule({ code: code(), label: key })
    p = b.device.createComputePipeline({
      layout: 'auto',
      compute: { module, entryPoint: 'main' },
      label: key,
    })
    m.set(key, p)
  }
  return p
}

function uniformBuffer(b: Backend, values: readonly Uniform[]): Buf {
  const n = Math.max(4, Math.ceil(values.length / 4) * 4)
  const data = new ArrayBuffer(n * 4)
  const view = new DataView(data)
  values.forEach((v, i) => {
    if (typeof v === 'number') view.setUint32(i * 4, v >>> 0, true)
    else if ('f' in v) view.setFloat32(i * 4, v.f, true)
    else view.setInt32(i * 4, v.i, true)
  })
  const usage = GPUBufferUsageFlags.UNIFORM | GPUBufferUsageFlags.COPY_DST
  const buf = b.bufferManager.acquireBuffer(data.byteLength, usage)
  b.queue.writeBuffer(buf, 0, data)
  b.uniformPendingDisposal.push(buf)
  return buf
}

/** GPUBufferUsage values (fixed by the WebGPU spec). */
/** WebGPU's `GPUBufferUsage` bits this folder uses (the Node package has no global for them). */
export const GPUBufferUsageFlags = { UNIFORM: 0x40, COPY_DST: 0x8 } as const

/** Records one dispatch and returns its output tensors (backend tensor infos). */
export function runGpu(b: Backend, d: GpuDispatch): tf.TensorInfo[] {
  const outs = d.outputs.map((o) => b.makeTensorInfo(o.shape, o.dtype, o.init))
  const all = [...d.inputs, ...outs]
  for (const t of all) b.uploadToGPU(t.dataId)
  const p = pipeline(b, d.key, d.code)
  const entries = all.map((t, i) => ({
    binding: i,
    resource: { buffer: b.tensorMap.get(t.dataId).resource },
  }))
  entries.push({ binding: all.length, resource: { buffer: uniformBuffer(b, d.uniforms) } })
  const group = b.device.createBindGroup({ layout: p.getBindGroupLayout(0), entries })
  for (const t of all) b.commandQueueOwnedIds.add(t.dataId)
  b.ensureCommandEncoderReady()
  // Under tf.profile / tf.time, TF.js times each of its programs in a pass of its own with
  // timestamp writes; these kernels do the same so that their GPU time is reported beside TF.js's
  // (named by their pipeline key). Outside profiling nothing changes.
  const timed = b.activeTimers != null && b.supportTimestampQuery === true && !!b.getQueryTime
  if (timed) {
    b.endComputePassEncoder()
    b.querySet ??= b.device.createQuerySet!({ type: 'timestamp', count: b.querySetCount ?? 2 })
    b.computePassEncoder = b.commandEncoder!.beginComputePass({
      timestampWrites: {
        querySet: b.querySet,
        beginningOfPassWriteIndex: 0,
        endOfPassWriteIndex: 1,
      },
    })
  } else if (!b.computePassEncoder) b.computePassEncoder = b.commandEncoder!.beginComputePass({})
  b.computePassEncoder.setPipeline(p)
  b.computePassEncoder.setBindGroup(0, group)
  const [x, y = 1, z = 1] = d.workgroups
  b.computePassEncoder.dispatchWorkgroups(x, y, z)
  b.dispatchCountInPass++
  if (timed) {
    b.endComputePassEncoder()
    b.activeTimers!.push({ name: d.key, query: b.getQueryTime!() })
  } else if (
    b.dispatchCountInPass >= (tf.env().get('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE') as number)
  ) {
    b.endComputePassEncoder()
    b.submitQueue()
  }
  return outs
}

/**
 * The WGSL declarations of a dispatch's bindings in {@link runGpu}'s order: `read` storage buffers
 * (the inputs), `readWrite` storage buffers (the outputs), then the uniform struct `U` bound as `u`.
 * Buffers are `'name: elementType'` (an `array<elementType>` each); `uniform` is the struct's fields.
 */
export function wgslBindings(b: {
  readonly read?: readonly string[]
  readonly readWrite?: readonly string[]
  readonly uniform: string
}): string {
  const storage = [
    ...(b.read ?? []).map((x) => ['read', x] as const),
    ...(b.readWrite ?? []).map((x) => ['read_write', x] as const),
  ]
  const lines = storage.map(([access, x], i) => {
    const [name, type] = x.split(': ')
    return `@group(0) @binding(${i}) var<storage, ${access}> ${name}: array<${type}>;`
  })
  lines.push(
    `struct U { ${b.uniform} }`,
    `@group(0) @binding(${storage.length}) var<uniform> u: U;`,
  )
  return lines.join('\n')
}

/** Splits `n` workgroups into a 2-D grid within the 65535-per-dimension limit. */
export function grid(n: number): [number, number] {
  if (n <= 65535) return [n, 1]
  const y = Math.ceil(n / 65535)
  return [Math.ceil(n / y), y]
}

/** What TF.js passes a kernel function: its named inputs and attributes. */
export type KernelArgs = { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap }

/**
 * Runs the webgpu kernel `name` (registered from `fn` on first use) through TF.js's engine, so its
 * outputs are tracked like any op's (tidy, dispose). Returns them as `T`.
 */
export function runKernel<T>(
  name: string,
  fn: (a: KernelArgs) => tf.TensorInfo | tf.TensorInfo[],
  inputs: tf.NamedTensorMap,
  attrs: tf.NamedAttrMap = {},
): T {
  ensureKernel(name, fn as unknown as tf.KernelFunc)
  return tf.engine().runKernel(name, inputs, attrs) as unknown as T
}

/** Registers a webgpu kernel once. */
export function ensureKernel(name: string, fn: tf.KernelFunc): void {
  if (!tf.getKernel(name, 'webgpu'))
    tf.registerKernel({ kernelName: name, backendName: 'webgpu', kernelFunc: fn })
}

/**
 * Compiles a shader module and pipeline under a validation error scope: `null` when the device
 * accepts it, else the error's message (warnings left out). Used to fall back to a plainer kernel
 * where a driver rejects an experimental one.
 */
export async function probeShader(code: string): Promise<string | null> {
  const d = webgpuBackend().device
  if (!d.pushErrorScope || !d.popErrorScope) return null
  d.pushErrorScope('validation')
  const module = d.createShaderModule({ code, label: 'probe' })
  d.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } })
  const e = await d.popErrorScope()
  if (!e) return null
  const lines = e.message.split('\n')
  const at = lines.findIndex((l) => / error: /.test(l))
  return (at >= 0 ? lines.slice(at, at + 4) : lines.slice(0, 6)).join('\n').slice(0, 2000)
}
