import * as tf from '@tensorflow/tfjs-core'
import { ReliquaryError, invalidArgument } from '../errors/base.js'
import { decoderStep, lmLogits, type LayerKv } from './_decoder.js'
import { createRng } from '../_utils/rng.js'
import { logSoftmaxAt, sampleToken } from './_sampling.js'
import type { CausalLM } from './loadModel.js'

/** Options of {@link generate}. */
export type GenerateOptions = {
  /** Most tokens to generate (the EOS token counts). */
  maxNewTokens: number
  /** Softmax temperature; 0 means greedy argmax (lowest id wins ties). @default 1 */
  temperature?: number | undefined
  /** Nucleus sampling mass in (0, 1]; 1 disables. @default 1 */
  topP?: number | undefined
  /** Keep only the k highest-scoring tokens (ties with the k-th kept); 0 disables. @default 0 */
  topK?: number | undefined
  /** PRNG seed (a safe integer); the same seed, model and backend give the same tokens. @default random */
  seed?: number | undefined
  /** Stop after the first of these ids, keeping it. @default model.config.eosTokenIds */
  eosTokenIds?: readonly number[] | undefined
  /** Aborts between steps; the partial result is discarded and `signal.reason` is thrown. */
  signal?: AbortSignal | undefined
  /**
   * Called with the completion so far after each new token; `true` ends generation there
   * (`finishReason` `"stop"`). The tokens produced up to that point are exactly those a run without
   * it produces, so an evaluation whose result depends only on a prefix can stop early. Not for
   * rollouts that go to a validator: the protocol's termination check wants EOS or the cap.
   */
  stopWhen?: ((completion: readonly number[]) => boolean) | undefined
}

/** Result of {@link generate}. */
export type GenerateResult = {
  /** Prompt followed by the completion. */
  tokens: number[]
  /** The generated ids only (ending with the EOS id when `finishReason` is `"eos"`). */
  completion: number[]
  /**
   * `log softmax(logits)[token]` of each completion token under the raw (temperature 1,
   * unfiltered) next-token distribution, in float64 from the float32 logits: the
   * completion-only `token_logprobs` layout (docs/protocol.md §1.9).
   */
  logprobs: number[]
  /** `"eos"` when an EOS id was produced, `"length"` when `maxNewTokens` ran out, `"stop"` when `stopWhen` ended it. */
  finishReason: 'eos' | 'length' | 'stop'
  /** The seed actually used. */
  seed: number
}

function checkOptions(o: GenerateOptions): { temperature: number; topP: number; topK: number } {
  if (!Number.isSafeInteger(o.maxNewTokens) || o.maxNewTokens < 1)
    throw invalidArgument('maxNewTokens', 'a positive integer', o.maxNewTokens)
  const temperature = o.temperature ?? 1
  const topP = o.topP ?? 1
  const topK = o.topK ?? 0
  if (!Number.isFinite(temperature) || temperature < 0)
    throw invalidArgument('temperature', 'a finite number ≥ 0', temperature)
  if (!(topP > 0 && topP <= 1)) throw invalidArgument('topP', 'a number in (0, 1]', topP)
  if (!Number.isSafeInteger(topK) || topK < 0) throw invalidArgument('topK', 'an integer ≥ 0', topK)
  if (o.seed !== undefined && !Number.isSafeInteger(o.seed))
    throw invalidArgument('seed', 'a safe integer', o.seed)
  if (o.stopWhen !== undefined && typeof o.stopWhen !== 'function')
    throw invalidArgument('stopWhen', 'a function', o.stopWhen)
  return { temperature, topP, topK }
}

/**
 * Autoregressive generation with a key/value cache: one forward pass over the prompt, then one
 * single-token step per new token attending to the cached keys/values. Sampling applies
 * temperature, then top-k, then top-p (transformers' order), and draws from a seeded PRNG.
 * Generation stops at the first EOS id, which is kept, or after `maxNewTokens`.
 *
 * Each step reads one logits row with `await data()`, so GPU backends are not blocked. The
 * cache is freed on return, on error and on abort.
 *
 * Cached decoding adds float32 rounding differences against a full {@link CausalLM.forward}
 * (typically ~1e-6 relative); proofs should recompute hidden states and log-probs with one full
 * forward over the finished sequence, as the validator does.
 *
 * @param model - A model from {@link loadModel}.
 * @param prompt - Prompt token ids (at least one).
 * @param options - {@link GenerateOptions}
 * @returns The tokens, completion, raw log-probs and finish reason.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for bad options or token ids.
 *
 * @example
 * ```ts
 * import { generate, loadModel, loadTokenizer } from 'reliquary/model'
 * const model = await loadModel('./Qwen3-0.6B')
 * const tok = await loadTokenizer('./Qwen3-0.6B')
 * const out = await generate(model, tok.encode('2 + 2 ='), { maxNewTokens: 32, temperature: 0.9, seed: 7 })
 * console.log(tok.decode(out.completion), out.finishReason)
 * ```
 */
export async function generate(
  model: CausalLM,
  prompt: readonly number[],
  options: GenerateOptions,
): Promise<GenerateResult> {
  const params = checkOptions(options)
  model.assertTokens(prompt, 'prompt')
  const eos = new Set(options.eosTokenIds ?? model.config.eosTokenIds)
  for (const id of eos)
    if (!Number.isInteger(id)) throw invalidArgument('eosTokenIds', 'integer token ids', id)
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 32)
  const rng = createRng(seed)
  const { weights, rope } = model._internal
  const d = model.config.hiddenSize
  const tokens = [...prompt]
  const completion: number[] = []
  const logprobs: number[] = []
  let past: LayerKv[] | undefined
  let pending: number[] = [...prompt]
  let finishReason: GenerateResult['finishReason'] = 'length'
  try {
    while (completion.length < options.maxNewTokens) {
      if (options.signal?.aborted)
        throw options.signal.reason ?? new ReliquaryError('INVALID_ARGUMENT', 'Generation aborted.')
      const start = tokens.length - pending.length
      const step = tf.tidy(() => {
        const { hidden, kv } = decoderStep({
          cfg: model.config,
          weights,
          rope,
          tokens: pending,
          start,
          past,
          returnKv: true,
          attention: model.resolveAttention(),
        })
        const last = tf.slice(hidden, [pending.length - 1, 0], [1, d])
        return { logits: lmLogits(weights, last), kv }
      })
      if (past) tf.dispose(past.flatMap((l) => [l.k, l.v]))
      past = step.kv
      let row: Float32Array
      try {
        row = (await step.logits.data()) as Float32Array
      } finally {
        step.logits.dispose()
      }
      const next = sampleToken(row, params, rng)
      tokens.push(next)
      completion.push(next)
      logprobs.push(logSoftmaxAt(row, next))
      pending = [next]
      if (eos.has(next)) {
        finishReason = 'eos'
        break
      }
      if (options.stopWhen?.(completion) && completion.length < options.maxNewTokens) {
        finishReason = 'stop'
        break
      }
    }
  } finally {
    if (past) tf.dispose(past.flatMap((l) => [l.k, l.v]))
  }
  return { tokens, completion, logprobs, finishReason, seed }
}
