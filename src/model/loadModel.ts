import * as tf from '@tensorflow/tfjs-core'
import { ReliquaryError, invalidArgument } from '../errors/base.js'
import { float32ToBf16Bits } from './_safetensorsFormat.js'
import { createRopeTables, type RopeTables } from './_rope.js'
/** @internal The RoPE tables of a config (for runtimes outside this folder). */
export { createRopeTables } from './_rope.js'
import {
  decoderStep,
  lmLogits,
  type AttentionImpl,
  type DecoderWeights,
  type LayerWeights,
  type Linear,
} from './_decoder.js'
import { openCheckpoint, type CheckpointReader } from './openCheckpoint.js'
import { loadModelConfig, type ModelConfig } from './parseModelConfig.js'

/** Options of {@link loadModel}. */
export type LoadModelOptions = {
  /**
   * Weight precision. `"float32"` keeps the checkpoint's values (bf16/f16 widen exactly).
   * `"bfloat16"` rounds every weight to bf16 on load, as `torch_dtype=torch.bfloat16` would store
   * an fp32 checkpoint; activations are still computed in float32 (TensorFlow.js has no bf16
   * kernels), so this is not a bit-exact bf16 forward.
   * @default "float32"
   */
  dtype?: 'float32' | 'bfloat16' | undefined
  /** Mark the weight variables trainable (seen by optimizers' default var list). @default true */
  trainable?: boolean | undefined
  /**
   * Attention evaluation. `"auto"` picks `"per-head"` (2-D products, XNNPACK fast path) on the
   * wasm backend and `"batched"` (one rank-3 product per layer) elsewhere, at each call.
   * @default "auto"
   */
  attention?: AttentionImpl | 'auto' | undefined
}

export type { AttentionImpl } from './_decoder.js'

/** Options of {@link CausalLM.hiddenStates}. */
export type HiddenStatesOptions = {
  /**
   * Attention evaluation for this call (pin one per batch so every sequence, and a reference
   * model, run the same kernels). @default `resolveAttention()`
   */
  attention?: AttentionImpl | undefined
}

/** Result of {@link CausalLM.forward}; both tensors are new and owned by the caller. */
export type ForwardResult = {
  /** Last hidden state after the final RMSNorm, `[T, hiddenSize]` (docs/protocol.md §1.5). */
  hidden: tf.Tensor2D
  /** `lm_head` logits, `[T, vocabSize]`; row t scores token t + 1. */
  logits: tf.Tensor2D
}

/** How one checkpoint tensor maps onto a model variable. */
export type WeightSpec = {
  /** Checkpoint (Hugging Face) tensor name. */
  readonly name: string
  /** Shape in the checkpoint. */
  readonly shape: readonly number[]
  /** True when the variable holds the transpose (`[in, out]` kernel layout) of the checkpoint tensor. */
  readonly transposed: boolean
}

/** A decoder-only language model on TensorFlow.js (Qwen3, Qwen2 or Llama). */
export type CausalLM = {
  /** The normalised config. */
  readonly config: ModelConfig
  /**
   * Weight variables by checkpoint name. Linear weights are stored transposed, `[in, out]`; see
   * `weightSpecs`. With tied embeddings `model.embed_tokens.weight` is the `[hidden, vocab]`
   * kernel shared by the embedding lookup and `lm_head`.
   */
  readonly weights: ReadonlyMap<string, tf.Variable>
  /** Checkpoint name, checkpoint shape and layout of every variable, in checkpoint order. */
  readonly weightSpecs: readonly WeightSpec[]
  /**
   * Full causal forward pass over one unpadded sequence (batch 1, no attention mask), the
   * `model(input_ids)` of docs/protocol.md §1.5. Synchronous; runs on the current backend.
   * @param tokens - Token ids, each an integer in `[0, vocabSize)`; at least one.
   * @returns New `hidden` and `logits` tensors the caller must dispose.
   * @throws {ReliquaryError} `INVALID_ARGUMENT` for an empty list or an out-of-range id.
   */
  forward(tokens: readonly number[]): ForwardResult
  /**
   * Final-norm hidden states `[T, hiddenSize]` of the full causal forward over one unpadded
   * sequence (the `hidden` of {@link CausalLM.forward}, without the `lm_head` product).
   * Differentiable with respect to the weight variables: call it inside `tf.variableGrads` /
   * `tf.grad` to train, or inside `tf.tidy`. Pair with {@link CausalLM.computeLogits} on the rows
   * you need, which is cheaper than `forward` when only some positions are scored.
   * @param tokens - Token ids, each an integer in `[0, vocabSize)`; at least one.
   * @param options - {@link HiddenStatesOptions}
   * @returns A new `[T, hiddenSize]` tensor the caller owns.
   * @throws {ReliquaryError} `INVALID_ARGUMENT` for an empty list, an out-of-range id, a bad
   *   `attention` or a disposed model.
   */
  hiddenStates(tokens: readonly number[], options?: HiddenStatesOptions): tf.Tensor2D
  /**
   * `lm_head` logits `[R, vocabSize]` of hidden rows `[R, hiddenSize]` (any rows of
   * {@link CausalLM.hiddenStates}); row r scores the token after row r's position.
   * Differentiable, like `hiddenStates`.
   * @param hidden - Final-norm hidden rows; not disposed.
   * @returns A new tensor the caller owns.
   */
  computeLogits(hidden: tf.Tensor2D): tf.Tensor2D
  /**
   * Throws unless `tokens` is a non-empty array of integer ids in `[0, vocabSize)` and the model
   * is not disposed: the check every forward runs, for callers that validate a batch up front.
   * @param tokens - The ids to check.
   * @param param - The name used in the error message. @default "tokens"
   * @throws {ReliquaryError} `INVALID_ARGUMENT`.
   */
  assertTokens(tokens: readonly number[], param?: string): void
  /**
   * The attention evaluation the forward uses now: the `attention` load option, with `"auto"`
   * resolved against the current backend (`"per-head"` on wasm, `"batched"` elsewhere).
   */
  resolveAttention(): AttentionImpl
  /** Frees every weight variable. Idempotent. */
  dispose(): void
  /** Same as `dispose()`, for `using`. */
  [Symbol.dispose](): void
  /** @internal Decoder internals for KV-cache generation and cloning inside reliquary/model. */
  readonly _internal: ModelInternals
}

/** @internal */
export type ModelInternals = {
  readonly weights: DecoderWeights
  readonly rope: RopeTables
  /** The `attention` load option as given (`"auto"` unresolved). */
  readonly attentionOption: AttentionImpl | 'auto'
}

let modelCounter = 0

/** The checkpoint tensors a config needs, in a stable order. @internal */
export function expectedWeights(cfg: ModelConfig): WeightSpec[] {
  const d = cfg.hiddenSize
  const qd = cfg.numHeads * cfg.headDim
  const kvd = cfg.numKvHeads * cfg.headDim
  const I = cfg.intermediateSize
  const out: WeightSpec[] = [
    {
      name: 'model.embed_tokens.weight',
      shape: [cfg.vocabSize, d],
      transposed: cfg.tieWordEmbeddings,
    },
  ]
  const lin = (name: string, o: number, i: number, bias: boolean): void => {
    out.push({ name: `${name}.weight`, shape: [o, i], transposed: true })
    if (bias) out.push({ name: `${name}.bias`, shape: [o], transposed: false })
  }
  for (let l = 0; l < cfg.numLayers; l++) {
    const p = `model.layers.${l}.`
    out.push({ name: `${p}input_layernorm.weight`, shape: [d], transposed: false })
    lin(`${p}self_attn.q_proj`, qd, d, cfg.qkvBias)
    lin(`${p}self_attn.k_proj`, kvd, d, cfg.qkvBias)
    lin(`${p}self_attn.v_proj`, kvd, d, cfg.qkvBias)
    lin(`${p}self_attn.o_proj`, d, qd, cfg.oBias)
    if (cfg.qkNorm) {
      out.push({ name: `${p}self_attn.q_norm.weight`, shape: [cfg.headDim], transposed: false })
      out.push({ name: `${p}self_attn.k_norm.weight`, shape: [cfg.headDim], transposed: false })
    }
    out.push({ name: `${p}post_attention_layernorm.weight`, shape: [d], transposed: false })
    lin(`${p}mlp.gate_proj`, I, d, cfg.mlpBias)
    lin(`${p}mlp.up_proj`, I, d, cfg.mlpBias)
    lin(`${p}mlp.down_proj`, d, I, cfg.mlpBias)
  }
  out.push({ name: 'model.norm.weight', shape: [d], transposed: false })
  if (!cfg.tieWordEmbeddings)
    out.push({ name: 'lm_head.weight', shape: [cfg.vocabSize, d], transposed: true })
  return out
}

/** Cache-blocked transpose of a row-major `[rows, cols]` matrix. @internal */
export function transpose2d(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(src.length)
  const B = 64
  for (let r0 = 0; r0 < rows; r0 += B) {
    const r1 = Math.min(r0 + B, rows)
    for (let c0 = 0; c0 < cols; c0 += B) {
      const c1 = Math.min(c0 + B, cols)
      for (let r = r0; r < r1; r++) {
        const base = r * cols
        for (let c = c0; c < c1; c++) out[c * rows + r] = src[base + c] as number
      }
    }
  }
  return out
}

function roundToBf16(x: Float32Array): Float32Array {
  const bits = float32ToBf16Bits(x)
  const out = new Float32Array(x.length)
  const u32 = new Uint32Array(out.buffer)
  for (let i = 0; i < bits.length; i++) u32[i] = (bits[i] as number) << 16
  return out
}

async function readWeight(
  ckpt: CheckpointReader,
  spec: WeightSpec,
  dtype: 'float32' | 'bfloat16',
): Promise<{ data: Float32Array; shape: number[] }> {
  const info = ckpt.info(spec.name)
  if (!info) {
    throw new ReliquaryError(
      'MODEL_WEIGHT_MISSING',
      `Checkpoint at ${ckpt.dir} lacks "${spec.name}".`,
      {
        hints: [
          'Check that config.json belongs to these weights (tie_word_embeddings, attention_bias, layer count).',
        ],
        meta: { dir: ckpt.dir, tensor: spec.name },
      },
    )
  }
  if (info.shape.length !== spec.shape.length || info.shape.some((s, i) => s !== spec.shape[i])) {
    throw new ReliquaryError(
      'MODEL_SHAPE_MISMATCH',
      `"${spec.name}" has shape [${info.shape.join(', ')}] but config.json implies [${spec.shape.join(', ')}].`,
      {
        hints: [
          'config.json and the weights come from different models, or the checkpoint is corrupt.',
        ],
        meta: {
          tensor: spec.name,
          file: info.file,
          shape: [...info.shape],
          expected: [...spec.shape],
        },
      },
    )
  }
  let { data } = await ckpt.readFloat32(spec.name)
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new ReliquaryError(
        'NON_FINITE_VALUE',
        `"${spec.name}" holds a non-finite value (${data[i]}) at flat index ${i}.`,
        {
          hints: [
            'The checkpoint is corrupt or diverged in training; a NaN weight poisons every forward.',
          ],
          meta: { tensor: spec.name, file: info.file, index: i },
        },
      )
    }
  }
  if (dtype === 'bfloat16' && info.dtype !== 'BF16') data = roundToBf16(data)
  if (spec.transposed) {
    const [r, c] = spec.shape as [number, number]
    return { data: transpose2d(data, r, c), shape: [c, r] }
  }
  return { data, shape: [...spec.shape] }
}

/**
 * Loads a Hugging Face decoder checkpoint (Qwen3, Qwen2 or Llama; `config.json` plus
 * `model.safetensors` or sharded safetensors) into TensorFlow.js variables on the **current**
 * backend. The library never switches backends: call `tf.setBackend(...)` first.
 *
 * The forward pass computes everything in float32: RMSNorm, RoPE (tables computed on the CPU as
 * transformers computes them), causal GQA attention, SwiGLU MLP. Qwen3 adds per-head q/k
 * RMSNorm; Qwen2 adds q/k/v biases.
 *
 * @param dir - Checkpoint directory.
 * @param options - {@link LoadModelOptions}
 * @returns The model; call `dispose()` to free its variables.
 * @throws {ReliquaryError} `MODEL_FILE_MISSING`, `MODEL_CONFIG_INVALID` (including a size above
 *   `MODEL_CONFIG_LIMITS`), `MODEL_ARCHITECTURE_UNSUPPORTED`, `MODEL_WEIGHT_MISSING`,
 *   `MODEL_SHAPE_MISMATCH`, `NON_FINITE_VALUE` (a NaN or infinite weight),
 *   `MODEL_SAFETENSORS_*` (truncated file, bad header, unsupported dtype, missing shard).
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core'
 * import { loadModel } from 'reliquary/model'
 * await tf.setBackend('cpu')
 * const model = await loadModel('./qwen3-tiny')
 * const { hidden, logits } = model.forward([1, 2, 3])
 * console.log(hidden.shape, logits.shape)
 * hidden.dispose(); logits.dispose(); model.dispose()
 * ```
 */
export async function loadModel(dir: string, options: LoadModelOptions = {}): Promise<CausalLM> {
  const dtype = options.dtype ?? 'float32'
  if (dtype !== 'float32' && dtype !== 'bfloat16')
    throw invalidArgument('options.dtype', '"float32" or "bfloat16"', dtype)
  const attentionOpt = options.attention ?? 'auto'
  if (!['auto', 'batched', 'per-head'].includes(attentionOpt))
    throw invalidArgument('options.attention', '"auto", "batched" or "per-head"', attentionOpt)
  const trainable = options.trainable ?? true
  const config = await loadModelConfig(dir)
  const specs = expectedWeights(config)
  const prefix = `reliquary.model${++modelCounter}`
  const vars = new Map<string, tf.Variable>()
  const ckpt = await openCheckpoint(dir)
  try {
    for (const spec of specs) {
      const { data, shape } = await readWeight(ckpt, spec, dtype)
      const t = tf.tensor(data, shape, 'float32')
      vars.set(spec.name, tf.variable(t, trainable, `${prefix}/${spec.name}`))
      t.dispose()
    }
  } catch (e) {
    for (const v of vars.values()) v.dispose()
    throw e
  } finally {
    await ckpt.close()
  }
  return createCausalLM(config, vars, specs, attentionOpt)
}

/** The decoder's view of variables named as in the checkpoint. */
function decoderWeights(config: ModelConfig, vars: Map<string, tf.Variable>): DecoderWeights {
  const get = (name: string): tf.Tensor1D => vars.get(name) as unknown as tf.Tensor1D
  const get2 = (name: string): tf.Tensor2D => vars.get(name) as unknown as tf.Tensor2D
  const lin = (name: string, bias: boolean): Linear =>
    bias ? { w: get2(`${name}.weight`), b: get(`${name}.bias`) } : { w: get2(`${name}.weight`) }
  const layers: LayerWeights[] = []
  for (let l = 0; l < config.numLayers; l++) {
    const p = `model.layers.${l}.`
    layers.push({
      inputNorm: get(`${p}input_layernorm.weight`),
      postAttentionNorm: get(`${p}post_attention_layernorm.weight`),
      q: lin(`${p}self_attn.q_proj`, config.qkvBias),
      k: lin(`${p}self_attn.k_proj`, config.qkvBias),
      v: lin(`${p}self_attn.v_proj`, config.qkvBias),
      o: lin(`${p}self_attn.o_proj`, config.oBias),
      qNorm: config.qkNorm ? get(`${p}self_attn.q_norm.weight`) : undefined,
      kNorm: config.qkNorm ? get(`${p}self_attn.k_norm.weight`) : undefined,
      gate: lin(`${p}mlp.gate_proj`, config.mlpBias),
      up: lin(`${p}mlp.up_proj`, config.mlpBias),
      down: lin(`${p}mlp.down_proj`, config.mlpBias),
    })
  }
  return config.tieWordEmbeddings
    ? {
        embed: undefined,
        lmHead: get2('model.embed_tokens.weight'),
        finalNorm: get('model.norm.weight'),
        layers,
      }
    : {
        embed: get2('model.embed_tokens.weight'),
        lmHead: get2('lm_head.weight'),
        finalNorm: get('model.norm.weight'),
        layers,
      }
}

/** Assembles a {@link CausalLM} from variables named as in the checkpoint. @internal */
export function createCausalLM(
  config: ModelConfig,
  vars: Map<string, tf.Variable>,
  specs: readonly WeightSpec[],
  attentionOpt: AttentionImpl | 'auto',
): CausalLM {
  const weights = decoderWeights(config, vars)
  const rope = createRopeTables(config)
  let disposed = false
  const attention = (): AttentionImpl =>
    attentionOpt !== 'auto' ? attentionOpt : tf.getBackend() === 'wasm' ? 'per-head' : 'batched'
  const checkTokens = (tokens: readonly number[], param = 'tokens'): void => {
    if (disposed) throw new ReliquaryError('INVALID_ARGUMENT', 'This model has been disposed.')
    if (!Array.isArray(tokens) || tokens.length === 0)
      throw invalidArgument(param, 'a non-empty array of token ids', tokens)
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i]
      if (!Number.isInteger(t) || (t as number) < 0 || (t as number) >= config.vocabSize) {
        throw invalidArgument(
          `${param}[${i}]`,
          `an integer token id in [0, ${config.vocabSize})`,
          t,
        )
      }
    }
  }
  const dispose = (): void => {
    if (disposed) return
    disposed = true
    for (const v of vars.values()) v.dispose()
  }
  const decode = (tokens: readonly number[], impl: AttentionImpl): tf.Tensor2D =>
    tf.tidy(
      () =>
        decoderStep({
          cfg: config,
          weights,
          rope,
          tokens,
          start: 0,
          returnKv: false,
          attention: impl,
        }).hidden,
    )
  const hiddenStates = (
    tokens: readonly number[],
    options: HiddenStatesOptions = {},
  ): tf.Tensor2D => {
    checkTokens(tokens, 'tokens')
    const impl = options.attention ?? attention()
    if (impl !== 'batched' && impl !== 'per-head')
      throw invalidArgument('options.attention', '"batched" or "per-head"', impl)
    return decode(tokens, impl)
  }
  const computeLogits = (hidden: tf.Tensor2D): tf.Tensor2D => lmLogits(weights, hidden)
  return Object.freeze({
    config,
    weights: vars as ReadonlyMap<string, tf.Variable>,
    weightSpecs: Object.freeze([...specs]),
    forward(tokens: readonly number[]): ForwardResult {
      checkTokens(tokens, 'tokens')
      return tf.tidy(() => {
        const hidden = decode(tokens, attention())
        return { hidden, logits: computeLogits(hidden) }
      })
    },
    hiddenStates,
    computeLogits,
    assertTokens: checkTokens,
    resolveAttention: attention,
    dispose,
    [Symbol.dispose]: dispose,
    _internal: Object.freeze({ weights, rope, attentionOption: attentionOpt }),
  })
}
