/**
 * Loads a checkpoint straight onto the GPU for the gpu kernels: tensor by tensor (shard by shard),
 * converted on the host from the stored dtype to the chosen precision (bf16/f16 → f16 bits with no
 * float32 copy under `f16`), every matrix split by output columns (or embedding rows) so that no
 * buffer exceeds the device's storage-binding limit, and the GPU memory estimated from the config
 * before anything is read or allocated.
 */
import * as tf from '@tensorflow/tfjs-core'
import { ReliquaryError, invalidArgument } from '../errors/base.js'
import { createRopeTables, expectedWeights, type WeightSpec } from '../model/loadModel.js'
import { openCheckpoint, type CheckpointReader } from '../model/openCheckpoint.js'
import { loadModelConfig, type ModelConfig } from '../model/parseModelConfig.js'
import { gatherF16, toF16Bits } from './_gatherF16.js'
import { gpuCapabilities } from './device.js'
import { probeStagedGemm } from './matmul.js'
import type { GpuF16Matrix } from './f16.js'
import {
  createGpuModel,
  type GpuLayer,
  type GpuModel,
  type GpuPrecision,
  type GpuWeight,
} from './gpuModel.js'

/** Options of {@link loadGpuModel}. */
export type LoadGpuModelOptions = {
  /** @default 'f32' */
  readonly precision?: GpuPrecision | undefined
  /**
   * GPU memory the model may use, in bytes. WebGPU (Dawn) reports no device memory size, so the
   * pre-check needs it from here or from the `RELIQUARY_GPU_MEMORY_BYTES` environment variable;
   * with neither, no pre-check runs.
   */
  readonly maxMemoryBytes?: number | undefined
  /**
   * Largest buffer one tensor may occupy; bigger matrices are split. @default the device's
   * `maxStorageBufferBindingSize` (2 GiB on the drivers measured)
   */
  readonly maxBindingBytes?: number | undefined
  /** Tokens per batched forward assumed by the memory estimate. @default 8192 */
  readonly batchTokens?: number | undefined
}

/** What {@link estimateGpuModelBytes} returns. */
export type GpuModelBytes = {
  /** Weights at the precision (matrices 2 bytes per value under f16, vectors 4). */
  readonly weights: number
  /** Activations of one batched forward of `batchTokens` tokens and one logits chunk, float32. */
  readonly activations: number
  readonly total: number
}

/**
 * An estimate of the GPU memory a model needs on the gpu kernels, from its config alone: weights
 * at `precision` plus the activations of one batched forward (`batchTokens` rows of the residual,
 * q/k/v, attention output and MLP widths, and a 256-row logits chunk), all float32.
 */
export function estimateGpuModelBytes(
  config: ModelConfig,
  o: { precision: GpuPrecision; batchTokens?: number | undefined },
): GpuModelBytes {
  let weights = 0
  for (const s of expectedWeights(config)) {
    const n = s.shape.reduce((a, b) => a * b, 1)
    weights += n * (s.shape.length === 2 && o.precision === 'f16' ? 2 : 4)
  }
  const c = config
  const rowWidth =
    4 * c.hiddenSize + (2 * c.numHeads + 2 * c.numKvHeads) * c.headDim + 3 * c.intermediateSize
  const activations = 4 * ((o.batchTokens ?? 8192) * rowWidth + 2 * 256 * c.vocabSize)
  return { weights, activations, total: weights + activations }
}

function memoryLimit(o: LoadGpuModelOptions): number | undefined {
  if (o.maxMemoryBytes !== undefined) return o.maxMemoryBytes
  const env = process.env.RELIQUARY_GPU_MEMORY_BYTES
  if (env === undefined || env === '') return undefined
  const n = Number(env)
  if (!(n > 0))
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      `RELIQUARY_GPU_MEMORY_BYTES must be a positive number of bytes, received "${env}".`,
    )
  return n
}

/** Column ranges of at most `maxBytes` each for a `[rows, cols]` matrix of `bytesPer`-byte values. */
function columnRanges(rows: number, cols: number, bytesPer: number, maxBytes: number) {
  let n = Math.floor(maxBytes / (rows * bytesPer))
  if (n >= cols) return [[0, cols]] as [number, number][]
  if (n >= 64)
    n -= n % 64 // whole tensor-core tiles
  else if (bytesPer === 2 && rows % 2 === 1) n -= n % 2 // an even count of f16 values
  if (n < 1 || (bytesPer === 2 && (rows * n) % 2 === 1))
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      `A ${rows}-row matrix cannot be split under a ${maxBytes}-byte binding limit.`,
    )
  const out: [number, number][] = []
  for (let c0 = 0; c0 < cols; c0 += n) out.push([c0, Math.min(cols, c0 + n)])
  return out
}

/** One column block `[in, c1 − c0]` of the kernel layout of a checkpoint `[out, in]` matrix. */
function kernelBlock<A extends Uint16Array | Float32Array>(
  src: A,
  inn: number,
  c0: number,
  c1: number,
  make: (n: number) => A,
): A {
  const n = c1 - c0
  const dst = make(inn * n)
  for (let o = c0; o < c1; o++) {
    const row = o * inn
    for (let i = 0; i < inn; i++) dst[i * n + (o - c0)] = src[row + i]!
  }
  return dst
}

type Upload = {
  precision: GpuPrecision
  maxBinding: number
  owned: tf.Tensor[]
}

/** A `[rows, cols]` block on the GPU (f16 words or float32). */
function upload(u: Upload, block: Uint16Array | Float32Array, rows: number, cols: number) {
  if (block instanceof Float32Array) {
    const t = tf.tensor2d(block, [rows, cols], 'float32')
    u.owned.push(t)
    return t
  }
  const data = tf.tensor1d(
    new Int32Array(block.buffer, block.byteOffset, block.length / 2),
    'int32',
  )
  u.owned.push(data)
  return { kind: 'f16', data, rows, cols } as GpuF16Matrix
}

/** The values of one tensor as f16 bits or float32 (refusing non-finite and, for f16, out-of-range values). */
async function readValues(ckpt: CheckpointReader, spec: WeightSpec, precision: GpuPrecision) {
  const info = ckpt.info(spec.name)
  if (!info)
    throw new ReliquaryError(
      'MODEL_WEIGHT_MISSING',
      `Checkpoint at ${ckpt.dir} lacks "${spec.name}".`,
    )
  if (info.shape.length !== spec.shape.length || info.shape.some((s, i) => s !== spec.shape[i]))
    throw new ReliquaryError(
      'MODEL_SHAPE_MISMATCH',
      `"${spec.name}" has shape [${info.shape.join(', ')}] but config.json implies [${spec.shape.join(', ')}].`,
    )
  if (precision === 'f32' || spec.shape.length === 1) {
    const { data } = await ckpt.readFloat32(spec.name)
    if (!data.every(Number.isFinite))
      throw new ReliquaryError('NON_FINITE_VALUE', `"${spec.name}" holds a non-finite value.`)
    return data
  }
  const raw = await ckpt.readBytes(spec.name)
  const { bits, bad } = toF16Bits(raw.bytes, raw.dtype)
  if (bad > 0)
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      `"${spec.name}": ${bad} value(s) are not finite or lie outside f16's range (±65504).`,
      { hints: ['Load the model with precision "f32".'] },
    )
  return bits
}

/** A checkpoint `[out, in]` matrix as a kernel-layout weight, split by output columns. */
function matrix(
  u: Upload,
  values: Uint16Array | Float32Array,
  out: number,
  inn: number,
): GpuWeight {
  const bytesPer = values instanceof Uint16Array ? 2 : 4
  const parts = columnRanges(inn, out, bytesPer, u.maxBinding).map(([c0, c1]) =>
    upload(
      u,
      kernelBlock(values, inn, c0, c1, (n) =>
        values instanceof Uint16Array
          ? (new Uint16Array(n) as typeof values)
          : (new Float32Array(n) as typeof values),
      ),
      inn,
      c1 - c0,
    ),
  )
  return parts.length === 1 ? parts[0]! : { kind: 'split', parts }
}

/** Embedding lookup over a weight's parts (columns of a tied `[d, vocab]` kernel, or rows of `[vocab, d]`). */
function embedding(table: GpuWeight, byColumn: boolean): (ids: tf.Tensor1D) => tf.Tensor2D {
  const parts = table instanceof tf.Tensor || table.kind === 'f16' ? [table] : table.parts
  return (ids) =>
    tf.tidy(() => {
      let lo = 0
      const rows = parts.map((p) => {
        const m = p as tf.Tensor2D | GpuF16Matrix
        const count = byColumn
          ? m instanceof tf.Tensor
            ? m.shape[1]
            : m.cols
          : m instanceof tf.Tensor
            ? m.shape[0]
            : m.rows
        const at = lo
        lo += count
        if (!(m instanceof tf.Tensor)) return gatherF16(m, ids, { byColumn, lo: at })
        const local = tf.sub(ids, tf.scalar(at, 'int32'))
        const inRange = tf.logicalAnd(tf.greaterEqual(local, 0), tf.less(local, count))
        const idx = tf.where(inRange, local, tf.zerosLike(local))
        const g = byColumn ? tf.transpose(tf.gather(m, idx, 1)) : tf.gather(m, idx, 0)
        return tf.mul(g, tf.expandDims(tf.cast(inRange, 'float32'), 1)) as tf.Tensor2D
      })
      return rows.length === 1 ? rows[0]! : (tf.addN(rows) as tf.Tensor2D)
    })
}

/** The untied embedding `[vocab, d]` split by rows (each part a `[rows, d]` matrix). */
function rowsWeight(
  u: Upload,
  values: Uint16Array | Float32Array,
  vocab: number,
  d: number,
): GpuWeight {
  const bytesPer = values instanceof Uint16Array ? 2 : 4
  let per = Math.max(1, Math.floor(u.maxBinding / (d * bytesPer)))
  if (bytesPer === 2 && d % 2 === 1 && per % 2 === 1) per = Math.max(2, per - 1)
  const parts: GpuWeight[] = []
  for (let r0 = 0; r0 < vocab; r0 += per) {
    const r1 = Math.min(vocab, r0 + per)
    parts.push(upload(u, values.slice(r0 * d, r1 * d), r1 - r0, d))
  }
  return parts.length === 1 ? parts[0]! : { kind: 'split', parts }
}

/**
 * Loads a Hugging Face decoder checkpoint (the architectures `loadModel` reads) directly into GPU
 * buffers for the gpu kernels, without a TF.js model in float32: tensors are read one at a time
 * from whichever shard holds them and uploaded at `precision` (`f16`: bf16/f16/f32 values
 * converted on the host to f16 bits, no float32 copy on host or GPU; `f32`: float32). Matrices
 * larger than the binding limit are split by output columns (the embedding by rows). The memory
 * pre-check runs from config.json alone, before any weight is read or allocated.
 *
 * @param dir - Checkpoint directory.
 * @param options - {@link LoadGpuModelOptions}
 * @returns The model; `dispose()` frees every weight.
 * @throws {ReliquaryError} `GPU_MEMORY_INSUFFICIENT` when {@link estimateGpuModelBytes} exceeds
 *   `maxMemoryBytes` / `RELIQUARY_GPU_MEMORY_BYTES`; `INVALID_ARGUMENT` without the webgpu backend,
 *   for a bad option, or for a weight outside f16's range under `f16`; the checkpoint errors of
 *   `loadModel` (`MODEL_*`, `NON_FINITE_VALUE`).
 * @example
 * ```ts
 * import { useBackend } from 'reliquary/model'
 * import { createGpuRolloutEvaluator, loadGpuModel } from 'reliquary/gpu'
 * await useBackend('webgpu')
 * const gm = await loadGpuModel('./Qwen3-4B', { precision: 'f16', maxMemoryBytes: 80e9 })
 * const evaluator = createGpuRolloutEvaluator(gm)
 * ```
 */
export async function loadGpuModel(
  dir: string,
  options: LoadGpuModelOptions = {},
): Promise<GpuModel> {
  const precision = options.precision ?? 'f32'
  if (precision !== 'f32' && precision !== 'f16')
    throw invalidArgument('options.precision', '"f32" or "f16"', precision)
  if (tf.getBackend() !== 'webgpu')
    throw new ReliquaryError('INVALID_ARGUMENT', 'The gpu kernels need the webgpu backend.', {
      hints: ["Call useBackend('webgpu') first."],
    })
  const maxBinding = options.maxBindingBytes ?? gpuCapabilities()?.maxBindingBytes ?? 134217728
  if (!(maxBinding >= 1024))
    throw invalidArgument('options.maxBindingBytes', 'at least 1024', maxBinding)
  const config = await loadModelConfig(dir)
  const limit = memoryLimit(options)
  const need = estimateGpuModelBytes(config, { precision, batchTokens: options.batchTokens })
  if (limit !== undefined && need.total > limit)
    throw new ReliquaryError(
      'GPU_MEMORY_INSUFFICIENT',
      `The model needs about ${gib(need.total)} GiB of GPU memory (${gib(need.weights)} GiB of ${precision} weights, ${gib(need.activations)} GiB of activations); the limit is ${gib(limit)} GiB.`,
      {
        hints: [
          precision === 'f32'
            ? 'Load with precision "f16" to halve the weights.'
            : 'Use a GPU with more memory.',
          'Lower batchTokens (and maxBatchTokens when evaluating) to shrink the activations.',
        ],
        meta: { needBytes: need.total, limitBytes: limit },
      },
    )
  // The staged tensor-core GEMM falls back to the plain one where the driver rejects it.
  if (precision === 'f16') await probeStagedGemm()
  const u: Upload = { precision, maxBinding, owned: [] }
  const byName = new Map<string, GpuWeight | tf.Tensor1D>()
  const ckpt = await openCheckpoint(dir)
  try {
    for (const spec of expectedWeights(config)) {
      const values = await readValues(ckpt, spec, precision)
      if (spec.shape.length === 1) {
        const t = tf.tensor1d(values as Float32Array, 'float32')
        u.owned.push(t)
        byName.set(spec.name, t)
      } else if (spec.name === 'model.embed_tokens.weight' && !config.tieWordEmbeddings)
        byName.set(spec.name, rowsWeight(u, values, spec.shape[0]!, spec.shape[1]!))
      else byName.set(spec.name, matrix(u, values, spec.shape[0]!, spec.shape[1]!))
    }
  } catch (e) {
    tf.dispose(u.owned)
    throw e
  } finally {
    await ckpt.close()
  }
  return assemble(config, byName, precision, u.owned)
}

const gib = (n: number) => (n / 2 ** 30).toFixed(2)

function assemble(
  config: ModelConfig,
  byName: Map<string, GpuWeight | tf.Tensor1D>,
  precision: GpuPrecision,
  owned: tf.Tensor[],
): GpuModel {
  const w = (n: string) => byName.get(n) as GpuWeight
  const v = (n: string) => byName.get(n) as tf.Tensor1D
  const lin = (n: string, bias: boolean) => ({
    w: w(`${n}.weight`),
    b: bias ? v(`${n}.bias`) : undefined,
  })
  const layers: GpuLayer[] = []
  for (let l = 0; l < config.numLayers; l++) {
    const p = `model.layers.${l}.`
    layers.push({
      inputNorm: v(`${p}input_layernorm.weight`),
      postAttentionNorm: v(`${p}post_attention_layernorm.weight`),
      q: lin(`${p}self_attn.q_proj`, config.qkvBias),
      k: lin(`${p}self_attn.k_proj`, config.qkvBias),
      v: lin(`${p}self_attn.v_proj`, config.qkvBias),
      o: lin(`${p}self_attn.o_proj`, config.oBias),
      qNorm: config.qkNorm ? v(`${p}self_attn.q_norm.weight`) : undefined,
      kNorm: config.qkNorm ? v(`${p}self_attn.k_norm.weight`) : undefined,
      gate: lin(`${p}mlp.gate_proj`, config.mlpBias),
      up: lin(`${p}mlp.up_proj`, config.mlpBias),
      down: lin(`${p}mlp.down_proj`, config.mlpBias),
    })
  }
  const tied = config.tieWordEmbeddings
  const lmHead = w(tied ? 'model.embed_tokens.weight' : 'lm_head.weight')
  let disposed = false
  const assertTokens = (tokens: readonly number[], param = 'tokens'): void => {
    if (disposed) throw new ReliquaryError('INVALID_ARGUMENT', 'This model has been disposed.')
    if (!Array.isArray(tokens) || tokens.length === 0)
      throw invalidArgument(param, 'a non-empty array of token ids', tokens)
    for (const [i, t] of tokens.entries())
      if (!Number.isInteger(t) || t < 0 || t >= config.vocabSize)
        throw invalidArgument(
          `${param}[${i}]`,
          `an integer token id in [0, ${config.vocabSize})`,
          t,
        )
  }
  return createGpuModel({
    config,
    rope: createRopeTables(config),
    weights: {
      embedRows: embedding(w('model.embed_tokens.weight'), tied),
      lmHead,
      finalNorm: v('model.norm.weight'),
      layers,
    },
    precision,
    assertTokens,
    dispose: () => {
      if (disposed) return
      disposed = true
      tf.dispose(owned)
    },
  })
}
