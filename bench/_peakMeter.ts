// Peak TF.js memory over a stretch of work, read on every change of the engine's counters (not
// sampled): `peak_num_bytes`, the highest `tf.memory().numBytes` (every tensor counted, a clone
// sharing its buffer included: the figure TF.js reports), and `peak_buffer_growth_bytes`, the
// highest growth of the sum over distinct tensor buffers since the last reset; on webgpu also
// `peak_gpu_in_use_bytes`, the highest `numBytesInGPU` (the GPU buffers held by tensors and
// in-flight uniforms, the backend's pool of free buffers not counted: the figure comparable with
// torch's `max_memory_allocated`, where `numBytes` counts a clone sharing a buffer twice and
// `numBytesAllocatedInGPU` the pool too). Patches the engine
// state of the current process; for bench scripts only. Relative imports only (bundled for bench/gpu).
import * as tf from '@tensorflow/tfjs-core'

/** The part of tfjs-backend-webgpu's BufferManager the meter reads. */
type GpuBufferManager = { numBytesUsed: number; acquireBuffer: (...a: unknown[]) => unknown }

/** Installs the meter; `reset()` starts a new stretch, `read()` returns its peaks. */
export function peakMeter() {
  const state = tf.engine().state as unknown as {
    numBytes: number
    tensorInfo: WeakMap<object, { bytes: number }>
  }
  let bytes = state.numBytes
  let peakBytes = bytes
  Object.defineProperty(state, 'numBytes', {
    configurable: true,
    get: () => bytes,
    set: (v: number) => {
      bytes = v
      if (v > peakBytes) peakBytes = v
    },
  })
  const m = state.tensorInfo
  // A WeakMap: buffers are counted from the reset on (the step's growth over its start).
  let live = 0
  let peakLive = 0
  let base = bytes
  const set = m.set.bind(m)
  const del = m.delete.bind(m)
  m.set = (k, v) => {
    live += v.bytes - (m.get(k)?.bytes ?? 0)
    if (live > peakLive) peakLive = live
    return set(k, v)
  }
  m.delete = (k) => {
    live -= m.get(k)?.bytes ?? 0
    return del(k)
  }
  // webgpu: the buffer manager's bytes in use, after every acquisition.
  const manager = (tf.backend() as unknown as { bufferManager?: GpuBufferManager }).bufferManager
  let peakGpu = manager?.numBytesUsed ?? null
  if (manager) {
    const acquire = manager.acquireBuffer.bind(manager)
    manager.acquireBuffer = (...a: unknown[]) => {
      const b = acquire(...a)
      if (manager.numBytesUsed > peakGpu!) peakGpu = manager.numBytesUsed
      return b
    }
  }
  return {
    reset() {
      base = bytes
      peakBytes = bytes
      live = 0
      peakLive = 0
      peakGpu = manager?.numBytesUsed ?? null
    },
    read: () => ({
      start_num_bytes: base,
      peak_num_bytes: peakBytes,
      peak_buffer_growth_bytes: peakLive,
      peak_gpu_in_use_bytes: peakGpu,
    }),
  }
}
