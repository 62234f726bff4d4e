import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as z from 'zod'
import { ReliquaryError } from '../errors/base.js'

/** Decoder families the TensorFlow.js decoder implements. */
export type ModelFamily = 'qwen3' | 'qwen2' | 'llama'

/** `architectures[0]` accepted for each `model_type`. */
export const SUPPORTED_ARCHITECTURES: Readonly<Record<ModelFamily, readonly string[]>> =
  /*#__PURE__*/ Object.freeze({
    qwen3: ['Qwen3ForCausalLM', 'Qwen3Model'],
    qwen2: ['Qwen2ForCausalLM', 'Qwen2Model'],
    llama: ['LlamaForCausalLM', 'LlamaModel'],
  })

/** Rotary-embedding frequency schedule. */
export type RopeScaling =
  | { readonly type: 'default' }
  | { readonly type: 'linear'; readonly factor: number }
  | {
      readonly type: 'llama3'
      readonly factor: number
      readonly lowFreqFactor: number
      readonly highFreqFactor: number
      readonly originalMaxPositionEmbeddings: number
    }

/** A decoder config normalised from a Hugging Face `config.json` (+ `generation_config.json`). */
export type ModelConfig = {
  /** Decoder family (from `model_type`). */
  readonly family: ModelFamily
  /** `architectures[0]`, or the family's causal-LM class when absent. */
  readonly architecture: string
  readonly vocabSize: number
  readonly hiddenSize: number
  readonly intermediateSize: number
  readonly numLayers: number
  readonly numHeads: number
  /** Key/value heads (GQA); equals `numHeads` for plain multi-head attention. */
  readonly numKvHeads: number
  readonly headDim: number
  readonly rmsNormEps: number
  /** RoPE base, from top-level `rope_theta` or `rope_parameters.rope_theta`. */
  readonly ropeTheta: number
  readonly ropeScaling: RopeScaling
  readonly maxPositionEmbeddings: number
  /** True when `lm_head` shares the token-embedding matrix. */
  readonly tieWordEmbeddings: boolean
  /** Per-head RMSNorm on q and k before RoPE (Qwen3). */
  readonly qkNorm: boolean
  /** Bias on q/k/v projections (always for Qwen2; `attention_bias` for Llama/Qwen3). */
  readonly qkvBias: boolean
  /** Bias on the attention output projection (`attention_bias` for Llama/Qwen3). */
  readonly oBias: boolean
  /** Bias on the MLP projections (Llama `mlp_bias`). */
  readonly mlpBias: boolean
  /**
   * End-of-sequence ids: `generation_config.json`'s `eos_token_id` when present (the set the
   * validator uses, docs/protocol.md §2.1), else `config.json`'s. Possibly empty.
   */
  readonly eosTokenIds: readonly number[]
  readonly bosTokenId: number | undefined
  readonly padTokenId: number | undefined
  /** The parsed `config.json`, unchanged. */
  readonly raw: Readonly<Record<string, unknown>>
}

/**
 * Upper bounds on config sizes, checked before any weight is read or any table is built. Each is
 * well above every released checkpoint (Llama 3.1 405B: 126 layers, hidden 16384, intermediate
 * 53248, 128 heads; Gemma vocabularies: 262144), so only a corrupt or hostile `config.json` hits
 * them.
 */
export const MODEL_CONFIG_LIMITS = /*#__PURE__*/ Object.freeze({
  maxLayers: 1024,
  maxHiddenSize: 65_536,
  maxIntermediateSize: 1_048_576,
  maxVocabSize: 4_194_304,
  maxHeads: 1024,
  maxHeadDim: 4096,
  maxPositionEmbeddings: 1 << 24,
} as const)

const posInt = z.number().int().positive()
const bounded = (max: number) => posInt.max(max)
const tokenIds = z
  .union([z.number().int().nonnegative(), z.array(z.number().int().nonnegative())])
  .nullish()

const RopeParams = z.looseObject({
  rope_type: z.string().optional(),
  type: z.string().optional(),
  rope_theta: z.number().positive().optional(),
  factor: z.number().positive().optional(),
  low_freq_factor: z.number().positive().optional(),
  high_freq_factor: z.number().positive().optional(),
  original_max_position_embeddings: posInt.optional(),
})

const ConfigSchema = z.looseObject({
  model_type: z.string(),
  architectures: z.array(z.string()).nullish(),
  vocab_size: bounded(MODEL_CONFIG_LIMITS.maxVocabSize),
  hidden_size: bounded(MODEL_CONFIG_LIMITS.maxHiddenSize),
  intermediate_size: bounded(MODEL_CONFIG_LIMITS.maxIntermediateSize),
  num_hidden_layers: bounded(MODEL_CONFIG_LIMITS.maxLayers),
  num_attention_heads: bounded(MODEL_CONFIG_LIMITS.maxHeads),
  num_key_value_heads: bounded(MODEL_CONFIG_LIMITS.maxHeads).nullish(),
  head_dim: bounded(MODEL_CONFIG_LIMITS.maxHeadDim).nullish(),
  rms_norm_eps: z.number().positive().optional(),
  rope_theta: z.number().positive().nullish(),
  rope_parameters: RopeParams.nullish(),
  rope_scaling: RopeParams.nullish(),
  max_position_embeddings: bounded(MODEL_CONFIG_LIMITS.maxPositionEmbeddings).optional(),
  tie_word_embeddings: z.boolean().optional(),
  attention_bias: z.boolean().optional(),
  mlp_bias: z.boolean().optional(),
  hidden_act: z.string().optional(),
  use_sliding_window: z.boolean().optional(),
  eos_token_id: tokenIds,
  bos_token_id: z.number().int().nonnegative().nullish(),
  pad_token_id: z.number().int().nonnegative().nullish(),
})

const GenerationConfigSchema = z.looseObject({ eos_token_id: tokenIds })

function invalid(msg: string, meta: Record<string, unknown> = {}, cause?: unknown): ReliquaryError {
  return new ReliquaryError('MODEL_CONFIG_INVALID', msg, { meta, cause })
}

function unsupported(
  msg: string,
  meta: Record<string, unknown>,
  hints: string[] = [],
): ReliquaryError {
  return new ReliquaryError('MODEL_ARCHITECTURE_UNSUPPORTED', msg, {
    hints: [
      ...hints,
      'Supported: Qwen3ForCausalLM, Qwen2ForCausalLM, LlamaForCausalLM (dense, full attention, default/linear/llama3 RoPE).',
    ],
    meta,
  })
}

function asList(v: number | number[] | null | undefined): number[] {
  return v == null ? [] : Array.isArray(v) ? [...new Set(v)] : [v]
}

function issues(e: z.ZodError): string {
  return e.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')
}

/**
 * Parses a Hugging Face `config.json` for a Qwen3, Qwen2 or Llama decoder into a normalised
 * {@link ModelConfig}, filling Hugging Face's defaults (Qwen3 `head_dim` 128, otherwise
 * `hidden_size / num_attention_heads`; `num_key_value_heads` = heads; `rope_theta` 10000;
 * `rms_norm_eps` 1e-6; untied embeddings). `rope_theta` is read at top level or from
 * transformers-5 `rope_parameters`.
 *
 * @param config - The parsed `config.json`.
 * @param generationConfig - The parsed `generation_config.json`, if any (its `eos_token_id` wins).
 * @returns The normalised config.
 * @throws {ReliquaryError} `MODEL_CONFIG_INVALID` when a field is missing, mistyped, above
 *   {@link MODEL_CONFIG_LIMITS}, or the head geometry is inconsistent; `MODEL_ARCHITECTURE_UNSUPPORTED` for another `model_type`,
 *   a MoE/multimodal class, a non-SiLU activation, sliding-window attention or an unsupported
 *   RoPE type.
 *
 * @example
 * ```ts
 * import { parseModelConfig } from 'reliquary/model'
 * const cfg = parseModelConfig({ model_type: 'qwen3', vocab_size: 151936, hidden_size: 2560, intermediate_size: 9728,
 *   num_hidden_layers: 36, num_attention_heads: 32, num_key_value_heads: 8, rope_theta: 1000000, tie_word_embeddings: true })
 * cfg.headDim // 128
 * ```
 */
export function parseModelConfig(config: unknown, generationConfig?: unknown): ModelConfig {
  const modelType = (config as { model_type?: unknown } | null)?.model_type
  if (
    typeof config === 'object' &&
    config !== null &&
    typeof modelType === 'string' &&
    !(modelType in SUPPORTED_ARCHITECTURES)
  ) {
    throw unsupported(`model_type "${modelType}" is not supported.`, { modelType })
  }
  const parsed = ConfigSchema.safeParse(config)
  if (!parsed.success)
    throw invalid(
      `config.json fails its schema: ${issues(parsed.error)}`,
      { issues: parsed.error.issues },
      parsed.error,
    )
  const c = parsed.data
  const family = c.model_type as ModelFamily
  const architecture = c.architectures?.[0] ?? SUPPORTED_ARCHITECTURES[family][0]!
  if (
    (c.architectures?.length ?? 0) > 1 ||
    !SUPPORTED_ARCHITECTURES[family].includes(architecture)
  ) {
    throw unsupported(
      `Architecture ${c.architectures?.join(', ')} (model_type "${family}") is not supported.`,
      { modelType: family, architectures: c.architectures },
    )
  }
  if (c.hidden_act !== undefined && c.hidden_act !== 'silu') {
    throw unsupported(`hidden_act "${c.hidden_act}" is not supported (SwiGLU with SiLU only).`, {
      hiddenAct: c.hidden_act,
    })
  }
  if (c.use_sliding_window === true)
    throw unsupported('Sliding-window attention (use_sliding_window: true) is not supported.', {
      useSlidingWindow: true,
    })

  const numHeads = c.num_attention_heads
  const numKvHeads = c.num_key_value_heads ?? numHeads
  const headDim =
    c.head_dim ?? (family === 'qwen3' && !('head_dim' in c) ? 128 : c.hidden_size / numHeads)
  if (!Number.isInteger(headDim) || headDim % 2 !== 0 || headDim > MODEL_CONFIG_LIMITS.maxHeadDim) {
    throw invalid(
      `head_dim ${headDim} must be an even integer of at most ${MODEL_CONFIG_LIMITS.maxHeadDim} (hidden_size ${c.hidden_size} / ${numHeads} heads).`,
      { headDim },
    )
  }
  if (numHeads % numKvHeads !== 0)
    throw invalid(
      `num_attention_heads ${numHeads} is not a multiple of num_key_value_heads ${numKvHeads}.`,
      { numHeads, numKvHeads },
    )

  const rope = { ...(c.rope_scaling ?? {}), ...(c.rope_parameters ?? {}) }
  const ropeTheta = c.rope_theta ?? rope.rope_theta ?? 10000
  const ropeType = rope.rope_type ?? rope.type ?? 'default'
  let ropeScaling: RopeScaling
  if (ropeType === 'default') ropeScaling = { type: 'default' }
  else if (ropeType === 'linear' && rope.factor !== undefined)
    ropeScaling = { type: 'linear', factor: rope.factor }
  else if (
    ropeType === 'llama3' &&
    rope.factor !== undefined &&
    rope.original_max_position_embeddings !== undefined
  ) {
    ropeScaling = {
      type: 'llama3',
      factor: rope.factor,
      lowFreqFactor: rope.low_freq_factor ?? 1,
      highFreqFactor: rope.high_freq_factor ?? 4,
      originalMaxPositionEmbeddings: rope.original_max_position_embeddings,
    }
  } else
    throw unsupported(`RoPE type "${ropeType}" is not supported (or lacks its parameters).`, {
      ropeType,
    })

  let eosTokenIds = asList(c.eos_token_id)
  if (generationConfig !== undefined && generationConfig !== null) {
    const g = GenerationConfigSchema.safeParse(generationConfig)
    if (!g.success)
      throw invalid(
        `generation_config.json fails its schema: ${issues(g.error)}`,
        { issues: g.error.issues },
        g.error,
      )
    if (g.data.eos_token_id != null) eosTokenIds = asList(g.data.eos_token_id)
  }
  const bias = c.attention_bias ?? false
  return Object.freeze({
    family,
    architecture,
    vocabSize: c.vocab_size,
    hiddenSize: c.hidden_size,
    intermediateSize: c.intermediate_size,
    numLayers: c.num_hidden_layers,
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: c.rms_norm_eps ?? 1e-6,
    ropeTheta,
    ropeScaling: Object.freeze(ropeScaling),
    maxPositionEmbeddings: c.max_position_embeddings ?? (family === 'llama' ? 2048 : 32768),
    tieWordEmbeddings: c.tie_word_embeddings ?? false,
    qkNorm: family === 'qwen3',
    // Qwen2Attention hard-codes bias=True on q/k/v and bias=False on o_proj.
    qkvBias: family === 'qwen2' ? true : bias,
    oBias: family === 'qwen2' ? false : bias,
    mlpBias: family === 'llama' ? (c.mlp_bias ?? false) : false,
    eosTokenIds: Object.freeze(eosTokenIds),
    bosTokenId: c.bos_token_id ?? undefined,
    padTokenId: c.pad_token_id ?? undefined,
    raw: Object.freeze({ ...(config as Record<string, unknown>) }),
  })
}

async function readJson(path: string): Promise<unknown> {
  const text = await readFile(path, 'utf8')
  try {
    return JSON.parse(text)
  } catch (e) {
    throw invalid(`${path} is not valid JSON.`, { path }, e)
  }
}

/**
 * Reads and parses `config.json` (and `generation_config.json` when present) from a checkpoint
 * directory. See {@link parseModelConfig}.
 *
 * @param dir - The checkpoint directory.
 * @returns The normalised config.
 * @throws {ReliquaryError} `MODEL_FILE_MISSING` without `config.json`; otherwise as
 *   {@link parseModelConfig}.
 *
 * @example
 * ```ts
 * import { loadModelConfig } from 'reliquary/model'
 * const cfg = await loadModelConfig('./Qwen3-4B')
 * ```
 */
export async function loadModelConfig(dir: string): Promise<ModelConfig> {
  const cfgPath = join(dir, 'config.json')
  if (!existsSync(cfgPath))
    throw new ReliquaryError('MODEL_FILE_MISSING', `No config.json in ${dir}.`, { meta: { dir } })
  const genPath = join(dir, 'generation_config.json')
  const gen = existsSync(genPath) ? await readJson(genPath) : undefined
  return parseModelConfig(await readJson(cfgPath), gen)
}
