/**
 * Capture and replay of a decode step: the dispatches one step records through TF.js and the
 * kernels of this folder are captured once (pipeline, bind group, workgroup counts) and the later
 * steps encode the same dispatches again into one command encoder with one submit, without running
 * TF.js ops, making bind groups, writing uniforms or allocating buffers. What changes from step to
 * step must live in buffers the caller writes before each replay (token ids, positions, the step
 * index); every buffer the captured step bound stays reserved (`pinned`) until the plan is freed.
 *
 * Tensors the step uploads from the host (constants such as TF.js scalars) are uploaded again before
 * each replay, in case a dispatch writes to them. A capture is refused (not `replayable`: run the
 * step normally instead) when the step writes a buffer that is not a uniform buffer other than by
 * uploading a tensor, or records a command other than compute dispatches.
 * @internal
 */
import type * as tf from '@tensorflow/tfjs-core'
import {
  type Backend,
  type Encoder,
  GPUBufferUsageFlags,
  type Pass,
  webgpuBackend,
} from './_dispatch.js'

type Cmd = { p: unknown; g: unknown; x: number; y: number; z: number }
type Buf = { size: number; usage?: number }

/** A captured step. */
export type StepPlan = {
  /** False when the step cannot be replayed (see the file's comment). */
  readonly replayable: boolean
  /** Why it cannot be replayed, or null. */
  readonly refused: string | null
  /** Dispatches captured. */
  readonly dispatches: number
  /** Returns the reserved buffers to the backend's pool. */
  dispose(): void
}

type Write = { buf: Buf; data: Int32Array | Float32Array }
type Plan = StepPlan & { readonly cmds: readonly Cmd[]; readonly uploads: readonly Write[] }

/** Submits whatever the backend has recorded and not submitted yet. */
export function flushBackend(b: Backend = webgpuBackend()): Backend {
  b.endComputePassEncoder()
  if (b.commandEncoder) b.submitQueue()
  return b
}

/** The GPU buffer behind a tensor (uploaded first when it is still on the host). */
export function tensorBuffer(t: tf.TensorInfo, b: Backend = webgpuBackend()): Buf {
  b.uploadToGPU(t.dataId)
  const r = b.tensorMap.get(t.dataId).resource
  if (!r) throw new Error('The tensor has no GPU buffer.')
  return r
}

// biome-ignore lint/suspicious/noExplicitAny: patching methods of WebGPU objects in place
type AnyObj = any

function patch(o: AnyObj, name: string, f: (orig: AnyObj) => AnyObj, undo: (() => void)[]): void {
  const had = Object.hasOwn(o, name)
  const prev = o[name]
  o[name] = f(prev)
  undo.push(() => {
    if (had) o[name] = prev
    else delete o[name]
  })
}

function watchEncoder(enc: Encoder, cmds: Cmd[], refuse: (why: string) => void): Encoder {
  const e = enc as AnyObj
  for (const m of ['copyBufferToBuffer', 'clearBuffer', 'beginRenderPass', 'resolveQuerySet'])
    if (typeof e[m] === 'function') {
      const f = e[m]
      e[m] = (...a: unknown[]) => {
        refuse(m)
        return f.apply(enc, a)
      }
    }
  const begin = e.beginComputePass
  e.beginComputePass = (d?: unknown) => {
    const pass = begin.call(enc, d) as Pass & AnyObj
    const cur: { p: unknown; g: unknown } = { p: null, g: null }
    const [sp, sg, dw] = [pass.setPipeline, pass.setBindGroup, pass.dispatchWorkgroups]
    if (d && typeof d === 'object' && Object.keys(d).length > 0) refuse('pass')
    pass.setPipeline = (p: unknown) => {
      cur.p = p
      return sp.call(pass, p)
    }
    pass.setBindGroup = (i: number, g: unknown, ...rest: unknown[]) => {
      if (i !== 0 || rest.length > 0) refuse('bind group')
      cur.g = g
      return sg.call(pass, i, g, ...rest)
    }
    pass.dispatchWorkgroups = (x: number, y = 1, z = 1) => {
      cmds.push({ p: cur.p, g: cur.g, x, y, z })
      return dw.call(pass, x, y, z)
    }
    if (typeof pass.dispatchWorkgroupsIndirect === 'function') {
      const di = pass.dispatchWorkgroupsIndirect
      pass.dispatchWorkgroupsIndirect = (...a: unknown[]) => {
        refuse('indirect')
        return di.apply(pass, a)
      }
    }
    return pass
  }
  return enc
}

/**
 * Runs `fn` (one step, recorded through TF.js and this folder's kernels) and captures its
 * dispatches. Its results are real (the step ran); its intermediate buffers and uniform buffers
 * stay reserved for the plan. The caller keeps `fn`'s inputs alive and unchanged in place until
 * it frees the plan.
 */
export function captureStep<T>(fn: () => T): { result: T; plan: StepPlan } {
  const b = webgpuBackend()
  flushBackend(b)
  const cmds: Cmd[] = []
  const pinned: Buf[] = []
  const uploads: Write[] = []
  let refused: string | null = null
  let inUpload = 0
  // The copies and mapped buffers of an upload are redone by rewriting its data on replay.
  const refuse = (why: string) => {
    if (inUpload === 0) refused ??= why
  }
  const bm = b.bufferManager as AnyObj
  const release = bm.releaseBuffer as (buf: Buf, reuse?: boolean) => void
  const undo: (() => void)[] = []
  let result: T
  try {
    patch(
      b.device,
      'createCommandEncoder',
      (f) => () => watchEncoder(f.call(b.device), cmds, refuse),
      undo,
    )
    patch(
      b,
      'uploadToGPU',
      (f) => (id: tf.DataId) => {
        const d = b.tensorMap.get(id)
        const values = d.resource ? null : d.values
        inUpload++
        try {
          f.call(b, id)
        } finally {
          inUpload--
        }
        if (values)
          uploads.push({
            buf: b.tensorMap.get(id).resource!,
            data:
              d.dtype === 'float32'
                ? Float32Array.from(values as Float32Array)
                : Int32Array.from(values as Int32Array),
          })
      },
      undo,
    )
    patch(
      bm,
      'acquireBuffer',
      (f) => (size: number, usage: number, mapped?: boolean, reuse?: boolean) => {
        if (mapped) refuse('mapped buffer')
        return f.call(bm, size, usage, mapped, reuse)
      },
      undo,
    )
    patch(
      bm,
      'releaseBuffer',
      () =>
        (buf: Buf, reuse = true) => {
          if (reuse) pinned.push(buf)
          else release.call(bm, buf, reuse)
        },
      undo,
    )
    patch(
      b.queue,
      'writeBuffer',
      (f) =>
        (buf: Buf, ...a: unknown[]) => {
          if (((buf.usage ?? 0) & GPUBufferUsageFlags.UNIFORM) === 0) refuse('buffer write')
          return f.call(b.queue, buf, ...a)
        },
      undo,
    )
    result = fn()
    flushBackend(b)
  } catch (e) {
    // No plan will own the buffers the step freed: back to the pool with them.
    for (const u of undo.splice(0).reverse()) u()
    for (const buf of pinned) release.call(bm, buf)
    throw e
  } finally {
    for (const u of undo.reverse()) u()
  }
  let freed = false
  const plan: Plan = {
    replayable: refused === null,
    refused,
    dispatches: cmds.length,
    cmds,
    uploads,
    dispose() {
      if (freed) return
      freed = true
      for (const buf of pinned) b.bufferManager.releaseBuffer(buf)
    },
  }
  return { result, plan }
}

/** A buffer-to-buffer copy recorded after the replayed dispatches. */
export type Copy = { src: Buf; dst: Buf; bytes: number; dstOffset?: number }

/**
 * Encodes a captured step's dispatches again, then `copies`, into one command encoder and submits
 * it (after whatever TF.js had recorded). `writes` go to the queue first.
 */
export function replayStep(p: StepPlan, writes: readonly Write[], copies: readonly Copy[]): void {
  const plan = p as Plan
  if (!plan.replayable) throw new Error('This step cannot be replayed.')
  const b = webgpuBackend()
  flushBackend(b)
  for (const w of [...plan.uploads, ...writes]) b.queue.writeBuffer(w.buf, 0, w.data)
  const enc = b.device.createCommandEncoder()
  if (plan.cmds.length > 0) {
    const pass = enc.beginComputePass()
    let last: unknown = null
    for (const c of plan.cmds) {
      if (c.p !== last) pass.setPipeline(c.p)
      last = c.p
      pass.setBindGroup(0, c.g)
      pass.dispatchWorkgroups(c.x, c.y, c.z)
    }
    pass.end()
  }
  for (const c of copies) enc.copyBufferToBuffer(c.src, 0, c.dst, c.dstOffset ?? 0, c.bytes)
  b.queue.submit([enc.finish()])
}

/** Runs `copies` in their own submit (after whatever TF.js had recorded). */
export function copyBuffers(copies: readonly Copy[]): void {
  const b = webgpuBackend()
  flushBackend(b)
  const enc = b.device.createCommandEncoder()
  for (const c of copies) enc.copyBufferToBuffer(c.src, 0, c.dst, c.dstOffset ?? 0, c.bytes)
  b.queue.submit([enc.finish()])
}
