/**
 * The decoder forward and the validator's per-rollout evaluation on the gpu kernels: fused
 * residual + RMSNorm, RoPE, online-softmax attention, SwiGLU, GEMMs on f32 or f16 weights, and the
 * check statistics reduced on the GPU (only hidden rows and O(T) scalars are read back).
 */
import * as tf from '@tensorflow/tfjs-core'
import { ReliquaryError } from '../errors/base.js'
import type { CausalLM } from '../model/loadModel.js'
import type { ModelConfig } from '../model/parseModelConfig.js'
import type { RolloutEvaluator } from '../rollout/verifyRollout.js'
import type { RolloutScores } from '../rollout/scores.js'
import { gpuCausalAttention } from './attention.js'
import { withGpuModelParts } from './_gpuModelParts.js'
import { gpuEvaluateRollouts } from './evaluateRollouts.js'
import type { GpuF16Matrix } from './f16.js'
import { decoderLayers, weightMatMul } from './_decoderLayers.js'
import { gpuTokenStats } from './tokenStats.js'

/**
 * `f32`: float32 weights and arithmetic, the path that reproduces the reference's fp32 numbers.
 * `f16`: linear weights stored as f16 on the GPU and multiplied on tensor cores where the device
 * has them (f32 accumulation); norms, attention and reductions stay float32 (attention on tensor
 * cores, f16 q/k/v scaled per head into range, is opt-in: `attentionOptions.tensorCores`).
 */
export type GpuPrecision = 'f32' | 'f16'

/**
 * A weight in kernel layout `[in, out]`: float32, f16, or split by output columns into parts that
 * each fit one storage binding (the products are concatenated). @internal
 */
export type GpuWeight = tf.Tensor2D | GpuF16Matrix | { kind: 'split'; parts: GpuWeight[] }
type Linear = { w: GpuWeight; b?: tf.Tensor1D | undefined }
/** One decoder block's weights on the GPU. @internal */
export type GpuLayer = Layer
type Layer = {
  inputNorm: tf.Tensor1D
  postAttentionNorm: tf.Tensor1D
  q: Linear
  k: Linear
  v: Linear
  o: Linear
  qNorm?: tf.Tensor1D | undefined
  kNorm?: tf.Tensor1D | undefined
  gate: Linear
  up: Linear
  down: Linear
  /** q, k and v as one f16 weight (tensor-core path), split by column in the GEMM. */
  qkv?: { w: GpuF16Matrix; b?: tf.Tensor1D | undefined; widths: number[] } | undefined
  /** gate and up interleaved every 16 columns (tensor-core path), SwiGLU in the GEMM. */
  gateUp?: GpuF16Matrix | undefined
}

/** The decoder's weights on the GPU. @internal */
export type GpuWeights = {
  /** Embedding rows `[T, d]` float32 for int32 ids. */
  embedRows(ids: tf.Tensor1D): tf.Tensor2D
  lmHead: GpuWeight
  finalNorm: tf.Tensor1D
  layers: readonly GpuLayer[]
}

/** A loaded model prepared for the gpu kernels. */
export type GpuModel = {
  /** The normalised config. */
  readonly config: ModelConfig
  /** The TF.js model it was prepared from (`prepareGpuModel`); undefined for `loadGpuModel`. */
  readonly model?: CausalLM | undefined
  readonly precision: GpuPrecision
  /**
   * Throws `INVALID_ARGUMENT` unless `tokens` is a non-empty array of ids in `[0, vocabSize)`.
   * @param param - The name used in the message.
   */
  assertTokens(tokens: readonly number[], param?: string): void
  /** Final-norm hidden states `[T, d]` of one sequence (the caller disposes). */
  forwardHidden(tokens: readonly number[]): tf.Tensor2D
  /**
   * Final-norm hidden states of several sequences packed in one forward, `[ΣT, d]` with the
   * sequences' rows in order: each attends only to its own earlier positions (positions restart
   * at 0 per sequence). The linear layers run once over all rows. The caller disposes.
   */
  forwardPacked(sequences: readonly (readonly number[])[]): tf.Tensor2D
  /** Logits `[rows, vocab]` from hidden rows (the caller disposes). */
  logits(hidden: tf.Tensor2D): tf.Tensor2D
  /** Frees what this object owns: the f16 copies of `prepareGpuModel`, every weight of `loadGpuModel`. Idempotent. */
  dispose(): void
}

/**
 * Assembles a {@link GpuModel} from weights on the GPU (`prepareGpuModel`, `loadGpuModel`).
 * @internal
 */
export function createGpuModel(p: {
  config: ModelConfig
  rope: CausalLM['_internal']['rope']
  weights: GpuWeights
  precision: GpuPrecision
  model?: CausalLM | undefined
  assertTokens: (tokens: readonly number[], param?: string) => void
  dispose: () => void
}): GpuModel {
  const run = (sequences: readonly (readonly number[])[]) =>
    forward(p.config, p.rope, p.weights, sequences, p.precision === 'f16')
  return withGpuModelParts(p, {
    config: p.config,
    model: p.model,
    precision: p.precision,
    assertTokens: p.assertTokens,
    forwardHidden: (tokens) => {
      p.assertTokens(tokens, 'tokens')
      return run([tokens])
    },
    forwardPacked: (sequences) => {
      if (sequences.length === 0)
        throw new ReliquaryError('INVALID_ARGUMENT', 'forwardPacked needs at least one sequence.')
      for (const [i, s] of sequences.entries()) p.assertTokens(s, `sequences[${i}]`)
      return run(sequences)
    },
    logits: (hidden) => weightMatMul(hidden, p.weights.lmHead),
    dispose: p.dispose,
  })
}

/** Causal attention per packed sequence (one dispatch when there is one sequence). */
function packedAttention(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  lengths: readonly number[],
  scale: number,
  tensorCores: boolean,
): tf.Tensor2D {
  const o = { start: 0, scale, tensorCores }
  if (lengths.length === 1) return gpuCausalAttention(q, k, v, o)
  let off = 0
  const parts = lengths.map((n) => {
    const at = (x: tf.Tensor3D) => tf.slice(x, [off, 0, 0], [n, x.shape[1], x.shape[2]])
    const y = gpuCausalAttention(at(q), at(k), at(v), o)
    off += n
    return y
  })
  return tf.concat(parts, 0)
}

function forward(
  cfg: ModelConfig,
  ropeTables: CausalLM['_internal']['rope'],
  w: GpuWeights,
  sequences: readonly (readonly number[])[],
  tensorCores: boolean,
): tf.Tensor2D {
  const lengths = sequences.map((s) => s.length)
  const tokens = sequences.length === 1 ? sequences[0]! : sequences.flat()
  const T = tokens.length
  const [hd, eps] = [cfg.headDim, cfg.rmsNormEps]
  const scale = 1 / Math.sqrt(hd)
  return tf.tidy(() => {
    const ids = tf.tensor1d(Int32Array.from(tokens), 'int32')
    const rope = lengths.map((n) => ropeTables.slice(0, n))
    const cat = (k: 'cos' | 'sinSigned') => {
      if (rope.length === 1) return rope[0]![k]
      const out = new Float32Array(T * hd)
      let off = 0
      for (const r of rope) {
        out.set(r[k], off)
        off += r[k].length
      }
      return out
    }
    const cos = tf.tensor2d(cat('cos'), [T, hd])
    const sin = tf.tensor2d(cat('sinSigned'), [T, hd])
    const o = { heads: cfg.numHeads, kvHeads: cfg.numKvHeads, headDim: hd, eps, cos, sin }
    return decoderLayers(w, w.embedRows(ids), o, (_, q, k, v) =>
      packedAttention(q, k, v, lengths, scale, tensorCores),
    )
  })
}

/** What {@link gpuEvaluateRollout} returns (the shape of the validator evaluator's result). */
export type GpuRolloutEvaluation = {
  hidden: { data: Float32Array; hiddenSize: number }
  scores: RolloutScores
}

/** Logits rows per chunk in {@link gpuEvaluateRollout}: bounds the `[rows, vocab]` buffer. */
const LOGIT_ROWS = 256

/**
 * One forward pass and the check statistics on the GPU: the hidden rows at `hiddenRows`, and per
 * position the fp32 log-probability of the next token, its probability at `temperature`, and the
 * EOS-set probability at the second-to-last row. Logits are produced and reduced 256 rows at a
 * time and never read back. Same result shape as `evaluateRollout`.
 */
export async function gpuEvaluateRollout(
  gm: GpuModel,
  tokens: readonly number[],
  o: { hiddenRows: readonly number[]; temperature: number; eosTokenIds?: readonly number[] },
): Promise<GpuRolloutEvaluation> {
  const T = tokens.length
  const cfg = gm.config
  const V = cfg.vocabSize
  if (!(o.temperature > 0))
    throw new ReliquaryError('INVALID_ARGUMENT', '"temperature" must be positive.')
  for (const r of o.hiddenRows)
    if (!Number.isInteger(r) || r < 0 || r >= T)
      throw new ReliquaryError(
        'GRAIL_SHAPE_MISMATCH',
        `Hidden row ${String(r)} is outside the ${T}-token sequence.`,
      )
  const eos = [...new Set(o.eosTokenIds ?? cfg.eosTokenIds)].filter((e) => e >= 0 && e < V)
  const hidden = gm.forwardHidden(tokens)
  const outs: tf.Tensor[] = []
  try {
    outs.push(
      tf.tidy(() =>
        tf.gather(hidden, tf.tensor1d(o.hiddenRows.length ? [...o.hiddenRows] : [0], 'int32')),
      ),
    )
    for (let r0 = 0; r0 < T - 1; r0 += LOGIT_ROWS) {
      const n = Math.min(LOGIT_ROWS, T - 1 - r0)
      outs.push(
        tf.tidy(() => {
          const logits = gm.logits(tf.slice(hidden, [r0, 0], [n, cfg.hiddenSize]))
          const next = tf.tensor1d(tokens.slice(r0 + 1, r0 + 1 + n) as number[], 'int32')
          return gpuTokenStats(logits, next, eos, o.temperature)
        }),
      )
    }
  } finally {
    hidden.dispose()
  }
  try {
    const data = await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>))
    const logprobs = new Float64Array(T).fill(Number.NaN)
    const temperedProbs = new Float64Array(T).fill(Number.NaN)
    let eosProbability = Number.NaN
    data.slice(1).forEach((s, c) => {
      for (let i = 0; i < s.length / 3; i++) {
        const t = c * LOGIT_ROWS + i + 1
        logprobs[t] = s[3 * i]!
        temperedProbs[t] = s[3 * i + 1]!
        if (t === T - 1) eosProbability = s[3 * i + 2]!
      }
    })
    return {
      hidden: {
        data: o.hiddenRows.length ? data[0]! : new Float32Array(0),
        hiddenSize: cfg.hiddenSize,
      },
      scores: { logprobs, temperedProbs, eosProbability },
    }
  } finally {
    for (const t of outs) t.dispose()
  }
}

/**
 * The {@link RolloutEvaluator} for `verifyRollout`, `verifyRollouts` and the admission pipeline on
 * the gpu kernels: `evaluate` runs one forward per rollout, `evaluateBatch` packs many rollouts
 * per forward (`gpuEvaluateRollouts`, at most `maxBatchTokens` tokens each); the check statistics
 * are reduced on the GPU.
 *
 * @param gm - A model from `prepareGpuModel` or `loadGpuModel`; held, not owned.
 * @param options - The EOS set (default: the model config's) and the token budget per batched
 *   forward (default: `defaultMaxBatchTokens(gm)`).
 */
export function createGpuRolloutEvaluator(
  gm: GpuModel,
  options: {
    eosTokenIds?: readonly number[] | undefined
    maxBatchTokens?: number | undefined
  } = {},
): RolloutEvaluator {
  const eosTokenIds = options.eosTokenIds ?? gm.config.eosTokenIds
  return {
    vocabSize: gm.config.vocabSize,
    maxPositions: gm.config.maxPositionEmbeddings,
    eosTokenIds,
    evaluate: (tokens, o) => gpuEvaluateRollout(gm, tokens, { ...o, eosTokenIds }),
    evaluateBatch: (requests, o) =>
      gpuEvaluateRollouts(gm, requests, {
        temperature: o.temperature,
        eosTokenIds,
        maxBatchTokens: options.maxBatchTokens,
      }),
  }
}
