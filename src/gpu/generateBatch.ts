/**
 * Batched autoregressive generation on the gpu kernels: many sequences at once, their keys and
 * values cached on the GPU, the next token chosen on the GPU, only token ids (and their raw
 * log-probabilities) read back.
 */
import * as tf from '@tensorflow/tfjs-core'
import { createRng } from '../_utils/rng.js'
import { ReliquaryError, invalidArgument } from '../errors/base.js'
import type { GenerateResult } from '../model/generate.js'
import { gpuCapabilities } from './device.js'
import { type DecodeCtx, type DecodeOptions, decodeLoop, rowsForward } from './_decodeLoop.js'
import type { GpuModel } from './gpuModel.js'
import { gpuModelParts } from './_gpuModelParts.js'
import { createKvCache, disposeKvCache, kvCacheBytes } from './_kvCache.js'
import { sampleRows } from './_sampleRows.js'

/** Options of {@link gpuGenerateBatch}. */
export type GpuGenerateBatchOptions = {
  /** Most new tokens per sequence (the EOS token counts): one number for all, or one each. */
  maxNewTokens: number | readonly number[]
  /** Softmax temperature; 0 means greedy argmax (lowest id wins ties). @default 1 */
  temperature?: number | undefined
  /** Nucleus mass; only 1 (off) is supported on the GPU. @default 1 */
  topP?: number | undefined
  /** Top-k; only 0 (off) is supported on the GPU. @default 0 */
  topK?: number | undefined
  /** One PRNG seed (safe integer) per sequence, as `generate`'s `seed`. @default random */
  seeds?: readonly number[] | undefined
  /** Stop a sequence after the first of these ids, keeping it. @default the model's */
  eosTokenIds?: readonly number[] | undefined
  /** Aborts between steps; `signal.reason` is thrown and everything is freed. */
  signal?: AbortSignal | undefined
  /**
   * Decode steps between readbacks of the chosen ids (finished sequences leave the batch at a
   * readback). @default 8
   */
  syncEvery?: number | undefined
  /** Prompt rows per cache-filling forward. @default 4096 */
  prefillRows?: number | undefined
}

/**
 * Process-wide switches of {@link gpuGenerateBatch}, for benchmarks and tests. `replaySteps`
 * (default true): the first decode step of each set of rows is captured and the later ones replay
 * its dispatches with one command encoder and one submit each; false runs every step through
 * TF.js (the same tokens, more host work per step). `onStep`: called with `'begin'` and `'end'`
 * around the host work of each decode step (recording or replaying it, its buffer writes and
 * copies, the submit), for a benchmark's clocks.
 */
export const gpuGenerateBatchSwitches: {
  replaySteps: boolean
  onStep: ((phase: 'begin' | 'end') => void) | undefined
} = { replaySteps: true, onStep: undefined }

function checkOptions(
  gm: GpuModel,
  prompts: readonly (readonly number[])[],
  o: GpuGenerateBatchOptions,
): DecodeOptions {
  const B = prompts.length
  if (B === 0) throw invalidArgument('prompts', 'at least one prompt', B)
  for (const [i, p] of prompts.entries()) gm.assertTokens(p, `prompts[${i}]`)
  const maxNew =
    typeof o.maxNewTokens === 'number'
      ? prompts.map(() => o.maxNewTokens as number)
      : [...o.maxNewTokens]
  if (maxNew.length !== B || !maxNew.every((n) => Number.isSafeInteger(n) && n >= 1))
    throw invalidArgument('maxNewTokens', 'a positive integer (or one per prompt)', o.maxNewTokens)
  const temperature = o.temperature ?? 1
  if (!Number.isFinite(temperature) || temperature < 0)
    throw invalidArgument('temperature', 'a finite number ≥ 0', temperature)
  if ((o.topP ?? 1) !== 1 || (o.topK ?? 0) !== 0)
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      'gpuGenerateBatch samples with top-p 1 and top-k 0 only.',
      {
        hints: ['Use generate() from reliquary/model for top-p or top-k sampling.'],
      },
    )
  const seeds = o.seeds ? [...o.seeds] : prompts.map(() => Math.floor(Math.random() * 2 ** 32))
  if (seeds.length !== B || !seeds.every((s) => Number.isSafeInteger(s)))
    throw invalidArgument('seeds', 'one safe integer per prompt', o.seeds)
  const eos = new Set(o.eosTokenIds ?? gm.config.eosTokenIds)
  for (const id of eos)
    if (!Number.isInteger(id)) throw invalidArgument('eosTokenIds', 'integer token ids', id)
  const syncEvery = o.syncEvery ?? 8
  if (!Number.isSafeInteger(syncEvery) || syncEvery < 1)
    throw invalidArgument('syncEvery', 'a positive integer', syncEvery)
  const prefillRows = o.prefillRows ?? 4096
  if (!Number.isSafeInteger(prefillRows) || prefillRows < 1)
    throw invalidArgument('prefillRows', 'a positive integer', prefillRows)
  const longest = Math.max(...prompts.map((p) => p.length)) + Math.max(...maxNew)
  if (longest > gm.config.maxPositionEmbeddings)
    throw invalidArgument(
      'maxNewTokens',
      `prompt + new tokens ≤ ${gm.config.maxPositionEmbeddings}`,
      longest,
    )
  const { replaySteps: replay, onStep } = gpuGenerateBatchSwitches
  return {
    ...{ maxNew, temperature, seeds, eos, syncEvery, prefillRows, signal: o.signal },
    ...{ replay, onStep },
  }
}

/** The first token of every sequence: its prompt written to the cache, chunk by chunk. */
function prefill(
  c: DecodeCtx,
  prompts: readonly (readonly number[])[],
  us: tf.Tensor1D,
  k: DecodeOptions,
  steps: number,
): [tf.Tensor1D, tf.Tensor1D] {
  const out: tf.Tensor1D[] = []
  let b0 = 0
  while (b0 < prompts.length) {
    let b1 = b0 + 1
    let rows = prompts[b0]!.length
    while (b1 < prompts.length && rows + prompts[b1]!.length <= k.prefillRows)
      rows += prompts[b1++]!.length
    const part = prompts.slice(b0, b1)
    const first = b0
    out.push(
      ...tf.tidy(() => {
        const slots = part.flatMap((p, j) => p.map(() => first + j))
        const ids = tf.tensor1d(Int32Array.from(part.flat()), 'int32')
        const slot = tf.tensor1d(Int32Array.from(slots), 'int32')
        const pos = tf.tensor1d(Int32Array.from(part.flatMap((p) => p.map((_, t) => t))), 'int32')
        const hidden = rowsForward(c, ids, slot, pos)
        const last: number[] = []
        for (const p of part) last.push((last.at(-1) ?? -1) + p.length)
        const logits = c.gm.logits(tf.gather(hidden, tf.tensor1d(last, 'int32')))
        const seq = tf.tensor1d(Int32Array.from(part.map((_, j) => first + j)), 'int32')
        return sampleRows(logits, us, seq, { steps, step: 0, temperature: k.temperature })
      }),
    )
    b0 = b1
  }
  if (out.length === 2) return [out[0]!, out[1]!]
  try {
    return tf.tidy(() => [
      tf.concat(out.filter((_, i) => i % 2 === 0)),
      tf.concat(out.filter((_, i) => i % 2 === 1)),
    ])
  } finally {
    tf.dispose(out)
  }
}

/**
 * Generates a completion for each prompt in one batch on the GPU. The prompts' keys and values go
 * to a cache preallocated on the GPU (`[sequences, longest prompt + most new tokens]` per layer;
 * f16 when the model's precision is `f16`, float32 otherwise); each decode step runs the decoder
 * once over one row per unfinished sequence, at that sequence's own position, attending to its
 * own cache. The next token is chosen on the GPU: the argmax at temperature 0, otherwise a draw
 * from the softmax at `temperature` with the uniforms of a per-sequence `createRng(seed)` stream —
 * the same draw `generate` makes with the same seed (top-p 1, top-k 0; the protocol profiles'
 * sampling), up to float32 rounding of the cumulative sum. Only the chosen ids and their raw
 * log-probabilities are read back, every `syncEvery` steps; a sequence ends at its first EOS id
 * (kept) or after its `maxNewTokens`.
 *
 * As with `generate`, cached decoding adds float32 rounding differences against one full forward
 * over the finished sequence; proofs are computed from such a forward.
 *
 * @param gm - A model from `prepareGpuModel` or `loadGpuModel`; held, not owned.
 * @param prompts - Prompt token ids, at least one per sequence (lengths may differ).
 * @param options - {@link GpuGenerateBatchOptions}
 * @returns One `GenerateResult` per prompt, in order.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for bad options or ids, or top-p/top-k sampling.
 */
export async function gpuGenerateBatch(
  gm: GpuModel,
  prompts: readonly (readonly number[])[],
  options: GpuGenerateBatchOptions,
): Promise<GenerateResult[]> {
  const k = checkOptions(gm, prompts, options)
  const { weights, rope } = gpuModelParts(gm)
  const cfg = gm.config
  const B = prompts.length
  const steps = Math.max(...k.maxNew)
  const capacity = Math.max(...prompts.map((p) => p.length)) + steps
  const draws = new Float32Array(B * steps)
  k.seeds.forEach((s, b) => {
    const rng = createRng(s)
    for (let t = 0; t < steps; t++) draws[b * steps + t] = Math.min(rng(), 1 - 2 ** -24)
  })
  const results: GenerateResult[] = prompts.map((p, b) => ({
    tokens: [...p],
    completion: [],
    logprobs: [],
    finishReason: 'length',
    seed: k.seeds[b]!,
  }))
  const live: tf.Tensor[] = []
  const geometry = {
    numLayers: cfg.numLayers,
    sequences: B,
    capacity,
    kvHeads: cfg.numKvHeads,
    headDim: cfg.headDim,
    f16: gm.precision === 'f16',
  }
  // Each layer's keys (and values) are one tensor: it must fit one storage binding.
  const perTensor = kvCacheBytes({ ...geometry, numLayers: 1 }) / 2
  const binding = gpuCapabilities()?.maxBindingBytes ?? 2 ** 31 - 4
  if (perTensor > binding)
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      `The key/value cache of ${B} sequences x ${capacity} positions needs ${perTensor} bytes per layer tensor, over the ${binding}-byte binding limit.`,
      { hints: ['Generate fewer sequences per call, or fewer new tokens.'] },
    )
  const tables = rope.slice(0, capacity)
  const cache = createKvCache(geometry)
  try {
    const c: DecodeCtx = {
      gm,
      w: weights,
      cache,
      cos: tf.tensor2d(tables.cos, [capacity, cfg.headDim]),
      sin: tf.tensor2d(tables.sinSigned, [capacity, cfg.headDim]),
    }
    live.push(c.cos, c.sin)
    const us = tf.tensor1d(draws)
    live.push(us)
    await decodeLoop(c, prompts, us, k, results, prefill(c, prompts, us, k, steps))
  } finally {
    tf.dispose(live)
    disposeKvCache(cache)
  }
  return results
}
