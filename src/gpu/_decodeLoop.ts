/**
 * The decode steps of batched generation: one row per unfinished sequence, each step's decoder
 * and sampling recorded once per set of rows and replayed (`_stepReplay.ts`) with one command
 * encoder and one submit per step; the sampled ids and log-probabilities of every `syncEvery`
 * steps are copied into one buffer and read back with one readback.
 * @internal
 */
import * as tf from '@tensorflow/tfjs-core'
import { ReliquaryError } from '../errors/base.js'
import type { GenerateResult } from '../model/generate.js'
import { decoderLayers } from './_decoderLayers.js'
import { cacheAttention, type KvCache, writeKvCache } from './_kvCache.js'
import { sampleRows } from './_sampleRows.js'
import {
  type Copy,
  captureStep,
  copyBuffers,
  flushBackend,
  replayStep,
  type StepPlan,
  tensorBuffer,
} from './_stepReplay.js'
import type { GpuModel, GpuWeights } from './gpuModel.js'

/** What the decoder needs besides its inputs. */
export type DecodeCtx = {
  gm: GpuModel
  w: GpuWeights
  cache: KvCache
  cos: tf.Tensor2D
  sin: tf.Tensor2D
}

/** The checked options of `gpuGenerateBatch`. */
export type DecodeOptions = {
  maxNew: number[]
  temperature: number
  seeds: number[]
  eos: Set<number>
  syncEvery: number
  prefillRows: number
  signal: AbortSignal | undefined
  /** Capture each set of rows' first step and replay it (else every step runs through TF.js). */
  replay: boolean
  /** Called around the host work of each decode step. */
  onStep: ((phase: 'begin' | 'end') => void) | undefined
}

/**
 * The decoder over R token rows at (`slot`, `pos`): each row's keys/values are written to the
 * cache, then each row attends to its sequence's positions `0 … pos`. Returns final-norm hidden
 * rows `[R, d]` (the caller's tidy owns them).
 */
export function rowsForward(
  c: DecodeCtx,
  ids: tf.Tensor1D,
  slot: tf.Tensor1D,
  pos: tf.Tensor1D,
): tf.Tensor2D {
  const cfg = c.gm.config
  const [hd, eps] = [cfg.headDim, cfg.rmsNormEps]
  const scale = 1 / Math.sqrt(hd)
  const cos = tf.gather(c.cos, pos)
  const sin = tf.gather(c.sin, pos)
  const o = { heads: cfg.numHeads, kvHeads: cfg.numKvHeads, headDim: hd, eps, cos, sin }
  return decoderLayers(c.w, c.w.embedRows(ids), o, (i, q, k, v) => {
    writeKvCache(c.cache, i, k, v, slot, pos)
    return cacheAttention(c.cache, i, q, slot, pos, scale)
  })
}

/** The rows of the unfinished sequences and the buffers a step reads (rewritten in place). */
type Rows = {
  readonly seqs: readonly number[]
  /** Last prompt position of each row's sequence. */
  readonly base: Int32Array
  readonly slot: tf.Tensor1D
  readonly pos: tf.Tensor1D
  readonly step: tf.Tensor1D
  /** The ids each row feeds to the next step. */
  readonly ids: tf.Tensor1D
  captured?: { plan: StepPlan; ids: tf.Tensor1D; lps: tf.Tensor1D }
}

/** `syncEvery` steps of ids and log-probabilities (f32 bits) in one int32 tensor, read at once. */
type Batch = { readonly seqs: readonly number[]; readonly hist: tf.Tensor1D; n: number }

function newRows(prompts: readonly (readonly number[])[], seqs: number[]): Rows {
  const r: Rows = {
    seqs,
    base: Int32Array.from(seqs, (b) => prompts[b]!.length - 1),
    slot: tf.tensor1d(Int32Array.from(seqs), 'int32'),
    pos: tf.tensor1d(new Int32Array(seqs.length), 'int32'),
    step: tf.tensor1d(new Int32Array(1), 'int32'),
    ids: tf.tensor1d(new Int32Array(seqs.length), 'int32'),
  }
  // Uploaded now, before any step is captured: a host upload made inside a capture is replayed
  // as a constant (captureStep), which would reset these rows' state at every replayed step.
  for (const t of [r.slot, r.pos, r.step, r.ids]) tensorBuffer(t)
  return r
}

function disposeRows(r: Rows | undefined): void {
  if (!r) return
  r.captured?.plan.dispose()
  tf.dispose([r.slot, r.pos, r.step, r.ids])
  if (r.captured) tf.dispose([r.captured.ids, r.captured.lps])
}

/** Copies of a step's outputs: next input ids, and both into the batch's buffer at step `j`. */
function stepCopies(r: Rows, ids: tf.Tensor1D, lps: tf.Tensor1D, batch: Batch, j: number): Copy[] {
  const bytes = 4 * r.seqs.length
  const [src, hist] = [tensorBuffer(ids), tensorBuffer(batch.hist)]
  return [
    { src, dst: tensorBuffer(r.ids), bytes },
    { src, dst: hist, bytes, dstOffset: 2 * j * bytes },
    { src: tensorBuffer(lps), dst: hist, bytes, dstOffset: (2 * j + 1) * bytes },
  ]
}

/** One decode step `t` of the rows into `batch`: replayed when captured, else recorded. */
function runStep(
  c: DecodeCtx,
  r: Rows,
  us: tf.Tensor1D,
  o: { steps: number; temperature: number; t: number; replay: boolean },
  batch: Batch,
): void {
  const j = batch.n++
  const writes = [
    { buf: tensorBuffer(r.pos), data: r.base.map((p) => p + o.t) },
    { buf: tensorBuffer(r.step), data: Int32Array.of(o.t) },
  ]
  if (r.captured?.plan.replayable) {
    replayStep(r.captured.plan, writes, stepCopies(r, r.captured.ids, r.captured.lps, batch, j))
    return
  }
  const b = flushBackend()
  for (const w of writes) b.queue.writeBuffer(w.buf, 0, w.data)
  const step = () =>
    tf.tidy(() => {
      const hidden = rowsForward(c, r.ids, r.slot, r.pos)
      const so = { steps: o.steps, step: r.step, temperature: o.temperature }
      return sampleRows(c.gm.logits(hidden), us, r.slot, so)
    })
  if (o.replay && !r.captured) {
    const { result, plan } = captureStep(step)
    r.captured = { plan, ids: result[0], lps: result[1] }
    if (!plan.replayable) plan.dispose()
    copyBuffers(stepCopies(r, result[0], result[1], batch, j))
    return
  }
  const [ids, lps] = step()
  copyBuffers(stepCopies(r, ids, lps, batch, j))
  tf.dispose([ids, lps])
}

/** Appends a read-back batch to the results; marks sequences finished (EOS or their cap). */
async function consume(
  batch: Batch,
  results: GenerateResult[],
  done: boolean[],
  k: DecodeOptions,
): Promise<void> {
  const data = (await batch.hist.data()) as Int32Array
  const lps = new Float32Array(data.buffer, data.byteOffset, data.length)
  const R = batch.seqs.length
  for (let j = 0; j < batch.n; j++)
    batch.seqs.forEach((b, i) => {
      if (done[b]) return
      const r = results[b]!
      const id = data[2 * j * R + i]!
      r.tokens.push(id)
      r.completion.push(id)
      r.logprobs.push(lps[(2 * j + 1) * R + i]!)
      if (k.eos.has(id)) {
        r.finishReason = 'eos'
        done[b] = true
      } else if (r.completion.length >= k.maxNew[b]!) done[b] = true
    })
}

/**
 * The decode steps after `first` (each sequence's first token and its log-probability, from the
 * prefill; taken over). Ids stay on the GPU from step to step; each `syncEvery` steps the last
 * batch of steps starts reading back while the GPU runs on, and the batch before it (already
 * read) retires finished sequences from the rows.
 */
export async function decodeLoop(
  c: DecodeCtx,
  prompts: readonly (readonly number[])[],
  us: tf.Tensor1D,
  k: DecodeOptions,
  results: GenerateResult[],
  first: [tf.Tensor1D, tf.Tensor1D],
): Promise<void> {
  const steps = us.shape[0] / prompts.length
  const done = new Array<boolean>(prompts.length).fill(false)
  const newBatch = (seqs: readonly number[]): Batch => ({
    seqs,
    hist: tf.zeros([k.syncEvery * 2 * seqs.length], 'int32') as tf.Tensor1D,
    n: 0,
  })
  let rows: Rows | undefined
  let batch: Batch | undefined
  let reading: { batch: Batch; p: Promise<void> } | undefined
  const settle = async () => {
    if (!reading) return
    const r = reading
    reading = undefined
    try {
      await r.p
    } finally {
      r.batch.hist.dispose()
    }
  }
  try {
    const all = prompts.map((_, b) => b)
    batch = newBatch(all)
    rows = newRows(prompts, all)
    copyBuffers(stepCopies(rows, first[0], first[1], batch, batch.n++))
    tf.dispose(first)
    const so = { steps, temperature: k.temperature, t: 0, replay: k.replay }
    for (let t = 1; t < steps; t++) {
      if (k.signal?.aborted)
        throw k.signal.reason ?? new ReliquaryError('INVALID_ARGUMENT', 'Generation aborted.')
      if (t % k.syncEvery === 0) {
        await settle()
        reading = { batch: batch!, p: consume(batch!, results, done, k) }
        batch = undefined
        const keep = rows.seqs.flatMap((b, j) => (done[b] ? [] : [j]))
        if (keep.length === 0) break
        if (keep.length < rows.seqs.length) {
          const ids = tf.tidy(() => tf.gather(rows!.ids, tf.tensor1d(keep, 'int32')))
          const old = rows
          rows = undefined
          disposeRows(old)
          try {
            rows = newRows(
              prompts,
              keep.map((j) => old.seqs[j]!),
            )
            copyBuffers([
              { src: tensorBuffer(ids), dst: tensorBuffer(rows.ids), bytes: 4 * keep.length },
            ])
          } finally {
            ids.dispose()
          }
        }
      }
      batch ??= newBatch(rows.seqs)
      k.onStep?.('begin')
      runStep(c, rows, us, { ...so, t }, batch)
      k.onStep?.('end')
    }
    await settle()
    if (batch) await consume(batch, results, done, k)
  } finally {
    await settle().catch(() => undefined)
    batch?.hist.dispose()
    disposeRows(rows)
    tf.dispose(first)
  }
}
