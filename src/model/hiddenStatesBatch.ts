import * as tf from '@tensorflow/tfjs-core'
import { invalidArgument } from '../errors/base.js'
import type { CausalLM } from './loadModel.js'
import { decoderBatch } from './_decoderBatch.js'

/** Options of {@link hiddenStatesBatch}. */
export type HiddenStatesBatchOptions = {
  /**
   * Under a gradient tape, keep only each layer's input and evaluate the layer again in the
   * backward pass (gradient checkpointing): the tape then holds one `[B·T, hiddenSize]` tensor
   * per layer instead of every intermediate, for one more forward of each layer. Same values and
   * gradients. No effect outside a gradient tape. @default false
   */
  checkpointLayers?: boolean | undefined
}

/**
 * Final-norm hidden states of several sequences in one causal forward: the sequences are
 * right-padded to the longest length T and evaluated as one `[B·T, hiddenSize]` batch (one
 * product per weight over every row, attention batched over sequences and heads). Row `b·T + t`
 * is sequence b's position t and equals row t of `model.hiddenStates(sequences[b])` up to float32
 * rounding; rows past a sequence's end are padding, to be ignored. Differentiable with respect
 * to the weight variables, like {@link CausalLM.hiddenStates}: the gradient through a padded
 * batch is the sum of the sequences' gradients.
 *
 * @param model - A model from `loadModel`.
 * @param sequences - Token ids, one non-empty array per sequence, each id in `[0, vocabSize)`.
 * @param options - {@link HiddenStatesBatchOptions}
 * @returns A new `[B·T, hiddenSize]` tensor the caller owns.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for an empty batch, an empty sequence, an
 *   out-of-range id or a disposed model.
 *
 * @example
 * ```ts
 * import * as tf from '@tensorflow/tfjs-core'
 * import { hiddenStatesBatch, loadModel } from 'reliquary/model'
 * const model = await loadModel('./qwen3-tiny')
 * const h = tf.tidy(() => hiddenStatesBatch(model, [[1, 2, 3], [4, 5]])) // [6, d]
 * ```
 */
export function hiddenStatesBatch(
  model: CausalLM,
  sequences: readonly (readonly number[])[],
  options: HiddenStatesBatchOptions = {},
): tf.Tensor2D {
  if (!Array.isArray(sequences) || sequences.length === 0)
    throw invalidArgument('sequences', 'a non-empty array of token sequences', sequences)
  for (const [i, s] of sequences.entries()) model.assertTokens(s, `sequences[${i}]`)
  const { weights, rope } = model._internal
  return tf.tidy(() =>
    decoderBatch({
      cfg: model.config,
      weights,
      rope,
      sequences,
      checkpoint: options.checkpointLayers,
    }),
  )
}
