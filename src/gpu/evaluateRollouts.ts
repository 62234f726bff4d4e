/**
 * Batched evaluation on the gpu kernels: many rollouts per forward (packed rows, a causal mask per
 * sequence), the challenged hidden rows gathered on the GPU and the check statistics reduced there,
 * so one read-back per batch carries every rollout's hidden rows and O(T) scalars.
 */
import * as tf from '@tensorflow/tfjs-core'
import { ReliquaryError } from '../errors/base.js'
import { gpuCapabilities } from './device.js'
import type { ModelConfig } from '../model/parseModelConfig.js'
import type { GpuModel, GpuRolloutEvaluation } from './gpuModel.js'
import { gpuTokenStats } from './tokenStats.js'

/** One rollout of a {@link gpuEvaluateRollouts} call. */
export type GpuRolloutRequest = {
  /** The rollout's tokens (prompt and completion), each in `[0, vocabSize)`. */
  readonly tokens: readonly number[]
  /** Positions whose final-norm hidden rows are returned, in this order. */
  readonly hiddenRows: readonly number[]
}

/** Options of {@link gpuEvaluateRollouts}. */
export type GpuEvaluateRolloutsOptions = {
  /** Sampling temperature of the tempered probabilities (the profile's). */
  readonly temperature: number
  /** The EOS set of the termination statistic. @default the model config's `eosTokenIds` */
  readonly eosTokenIds?: readonly number[] | undefined
  /**
   * Most tokens packed into one forward. A rollout longer than this runs alone.
   * @default {@link defaultMaxBatchTokens} for the model and device
   */
  readonly maxBatchTokens?: number | undefined
}

/** Logits rows per `lm_head` product: bounds the `[rows, vocab]` buffer. */
const LOGIT_ROWS = 256

/** Default token budget per forward, below the binding limit. */
const DEFAULT_BATCH_TOKENS = 8192

/**
 * The default token budget of one packed forward for a model config on the current device: 8192,
 * lowered so that the widest activation (`[tokens, max(intermediate, heads·headDim, hidden)]`
 * float32) fits one storage binding (`maxStorageBufferBindingSize`; 128 MiB before the webgpu
 * backend is up).
 *
 * @param config - The model's config (a `GpuModel`'s or a `CausalLM`'s).
 * @returns A positive token count.
 */
export function maxBatchTokensFor(
  config: Pick<ModelConfig, 'intermediateSize' | 'numHeads' | 'headDim' | 'hiddenSize'>,
): number {
  const c = config
  const width = Math.max(c.intermediateSize, c.numHeads * c.headDim, c.hiddenSize)
  const binding = gpuCapabilities()?.maxBindingBytes ?? 134217728
  return Math.max(1, Math.min(DEFAULT_BATCH_TOKENS, Math.floor(binding / (4 * width))))
}

/**
 * The default token budget of one packed forward for a model on the current device
 * ({@link maxBatchTokensFor} of its config).
 *
 * @param gm - The model.
 */
export function defaultMaxBatchTokens(gm: GpuModel): number {
  return maxBatchTokensFor(gm.config)
}

function validate(gm: GpuModel, requests: readonly GpuRolloutRequest[], temperature: number) {
  if (!(temperature > 0))
    throw new ReliquaryError('INVALID_ARGUMENT', '"temperature" must be positive.')
  for (const [i, r] of requests.entries()) {
    gm.assertTokens(r.tokens, `requests[${i}].tokens`)
    for (const row of r.hiddenRows)
      if (!Number.isInteger(row) || row < 0 || row >= r.tokens.length)
        throw new ReliquaryError(
          'GRAIL_SHAPE_MISMATCH',
          `Hidden row ${String(row)} is outside rollout ${i}'s ${r.tokens.length}-token sequence.`,
        )
  }
}

/** Consecutive groups of requests whose token counts sum to at most `budget` (at least one each). */
function batches(requests: readonly GpuRolloutRequest[], budget: number): number[][] {
  const out: number[][] = []
  let cur: number[] = []
  let n = 0
  for (const [i, r] of requests.entries()) {
    if (cur.length > 0 && n + r.tokens.length > budget) {
      out.push(cur)
      cur = []
      n = 0
    }
    cur.push(i)
    n += r.tokens.length
  }
  if (cur.length > 0) out.push(cur)
  return out
}

/** Runs one packed forward and returns the tensors to read back: `[K, d]` rows and `[R, 3]` stats. */
function forwardBatch(
  gm: GpuModel,
  reqs: readonly GpuRolloutRequest[],
  eos: readonly number[],
  temperature: number,
): tf.Tensor[] {
  const rows: number[] = []
  const scored: number[] = []
  const next: number[] = []
  let off = 0
  for (const r of reqs) {
    for (const h of r.hiddenRows) rows.push(off + h)
    for (let t = 0; t + 1 < r.tokens.length; t++) {
      scored.push(off + t)
      next.push(r.tokens[t + 1]!)
    }
    off += r.tokens.length
  }
  const hidden = gm.forwardPacked(reqs.map((r) => r.tokens))
  const outs: tf.Tensor[] = []
  try {
    outs.push(tf.tidy(() => tf.gather(hidden, tf.tensor1d(rows.length ? rows : [0], 'int32'))))
    for (let r0 = 0; r0 < scored.length; r0 += LOGIT_ROWS) {
      const n = Math.min(LOGIT_ROWS, scored.length - r0)
      outs.push(
        tf.tidy(() => {
          const idx = tf.tensor1d(scored.slice(r0, r0 + n), 'int32')
          const logits = gm.logits(tf.gather(hidden, idx) as tf.Tensor2D)
          const ids = tf.tensor1d(next.slice(r0, r0 + n), 'int32')
          return gpuTokenStats(logits, ids, eos, temperature)
        }),
      )
    }
    if (outs.length > 2) {
      const stats = tf.concat(outs.slice(1), 0)
      tf.dispose(outs.splice(1))
      outs.push(stats)
    }
    return outs
  } catch (e) {
    tf.dispose(outs)
    throw e
  } finally {
    hidden.dispose()
  }
}

/** Splits one batch's read-back into per-rollout results (same layout as `gpuEvaluateRollout`). */
function split(
  reqs: readonly GpuRolloutRequest[],
  rowsData: Float32Array,
  stats: Float32Array | undefined,
  d: number,
): GpuRolloutEvaluation[] {
  let k = 0
  let s = 0
  return reqs.map((r) => {
    const T = r.tokens.length
    const K = r.hiddenRows.length
    const data = K ? rowsData.slice(k * d, (k + K) * d) : new Float32Array(0)
    k += K
    const logprobs = new Float64Array(T).fill(Number.NaN)
    const temperedProbs = new Float64Array(T).fill(Number.NaN)
    let eosProbability = Number.NaN
    for (let t = 1; t < T; t++, s++) {
      logprobs[t] = stats![3 * s]!
      temperedProbs[t] = stats![3 * s + 1]!
      if (t === T - 1) eosProbability = stats![3 * s + 2]!
    }
    return { hidden: { data, hiddenSize: d }, scores: { logprobs, temperedProbs, eosProbability } }
  })
}

/**
 * Evaluates many rollouts with as few forwards as the token budget allows: the rollouts are packed
 * in order into forwards of at most `maxBatchTokens` tokens (each sequence attends only to itself,
 * positions restart per sequence), the requested hidden rows are gathered on the GPU, and the
 * check statistics (log-probability of each next token, its probability at `temperature`, the EOS
 * probability at the second-to-last row) are reduced on the GPU 256 rows at a time. One read-back
 * per forward. Each result equals `gpuEvaluateRollout` for that rollout alone (row for row the same
 * kernels). Validates every request before any GPU work.
 *
 * @param gm - A model from `prepareGpuModel`.
 * @param requests - Rollouts and the hidden rows wanted from each.
 * @param o - {@link GpuEvaluateRolloutsOptions}
 * @returns One evaluation per request, in request order.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a bad temperature, an empty or out-of-range
 *   token list, or a bad `maxBatchTokens`; `GRAIL_SHAPE_MISMATCH` for a hidden row outside its
 *   rollout.
 * @example
 * ```ts
 * const gm = await prepareGpuModel(model, { precision: 'f16' })
 * const evs = await gpuEvaluateRollouts(gm, rollouts.map((t, i) => ({ tokens: t, hiddenRows: rows[i] })), { temperature: 0.9 })
 * ```
 */
export async function gpuEvaluateRollouts(
  gm: GpuModel,
  requests: readonly GpuRolloutRequest[],
  o: GpuEvaluateRolloutsOptions,
): Promise<GpuRolloutEvaluation[]> {
  validate(gm, requests, o.temperature)
  const budget = o.maxBatchTokens ?? defaultMaxBatchTokens(gm)
  if (!Number.isSafeInteger(budget) || budget < 1)
    throw new ReliquaryError('INVALID_ARGUMENT', '"maxBatchTokens" must be a positive integer.')
  const cfg = gm.config
  const eos = [...new Set(o.eosTokenIds ?? cfg.eosTokenIds)].filter(
    (e) => e >= 0 && e < cfg.vocabSize,
  )
  const out: GpuRolloutEvaluation[] = []
  for (const idx of batches(requests, budget)) {
    const reqs = idx.map((i) => requests[i]!)
    const outs = forwardBatch(gm, reqs, eos, o.temperature)
    try {
      const data = await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>))
      out.push(...split(reqs, data[0]!, data[1], cfg.hiddenSize))
    } finally {
      tf.dispose(outs)
    }
  }
  return out
}
