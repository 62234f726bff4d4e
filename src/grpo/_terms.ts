/**
 * Per-rollout tensor math of the GRPO loss (docs/protocol.md §7; `_rollout_loss` in
 * reliquary/validator/training.py at 59b4718). Every function here must run inside a tidy or
 * gradient scope owned by the caller.
 * @internal
 */
import * as tf from '@tensorflow/tfjs-core'
import type { AttentionImpl, CausalLM } from '../model/loadModel.js'
import { hiddenStatesBatch } from '../model/hiddenStatesBatch.js'
import type { BatchPlan, PlannedRollout } from './_plan.js'
import { gpuPickedLogprobs } from '../gpu/pickedLogprobs.js'
import { fusedLogprobs, pickedLogprobs } from './_pickedLogprobs.js'
import type { ResolvedGrpoOptions } from './types.js'

/**
 * log π(tokens[t] | tokens[<t]) for the completion tokens `t = promptLength … T−1`: the logits
 * rows `promptLength − 1 … T − 2` of a full causal forward over `tokens`, fp32 log-softmax,
 * picked at the next token. Differentiable with respect to the model's variables.
 */
export function completionLogprobs(
  model: CausalLM,
  attention: AttentionImpl,
  tokens: readonly number[],
  promptLength: number,
): tf.Tensor1D {
  const hidden = model.hiddenStates(tokens, { attention })
  const n = tokens.length - promptLength
  // log_softmax is row-wise, so slicing the hidden rows first gives the same rows as the
  // reference's log_softmax(logits[:-1])[prompt_length − 1:] for a fraction of the lm_head work.
  const rows = tf.slice(hidden, [promptLength - 1, 0], [n, hidden.shape[1]])
  const logp = tf.logSoftmax(model.computeLogits(rows))
  const targets = tf.tensor1d(Int32Array.from(tokens.slice(promptLength)), 'int32')
  // One-hot product instead of a gather: tf.gather's gradient needs UnsortedSegmentSum, which
  // the wasm backend lacks. Exact: every other term of the row sum is ±0. The one-hot is built as
  // int32 and cast: the wasm OneHot kernel writes integer bits into a float32 output (tfjs 4.22).
  const onehot = tf.cast(tf.oneHot(targets, model.config.vocabSize), 'float32')
  return tf.sum(tf.mul(logp, onehot), 1)
}

/** The rows of one rollout that {@link completionLogprobsBatch} scores. */
export type ScoredRollout = { readonly tokens: readonly number[]; readonly promptLength: number }

/**
 * {@link completionLogprobs} of several rollouts from one padded forward
 * (`hiddenStatesBatch`) and one `lm_head` product over all their completion rows: one 1-D
 * tensor per rollout, each equal to that rollout's `completionLogprobs` up to float32 rounding.
 * Differentiable; the gradient of a sum of per-rollout terms is the sum of their gradients.
 * With `checkpointLayers` the tape keeps each layer's input and each chunk's hidden rows only:
 * the layers, logits and log-softmax are evaluated again in the backward pass. On the webgpu
 * backend each chunk's log-softmax and pick (and their gradient) are single src/gpu kernels
 * (`gpuPickedLogprobs`).
 */
export function completionLogprobsBatch(
  model: CausalLM,
  rollouts: readonly ScoredRollout[],
  checkpointLayers = false,
): tf.Tensor1D[] {
  const hidden = hiddenStatesBatch(
    model,
    rollouts.map((r) => r.tokens),
    { checkpointLayers },
  )
  const T = Math.max(...rollouts.map((r) => r.tokens.length))
  const d = hidden.shape[1]
  const sizes = rollouts.map((r) => r.tokens.length - r.promptLength)
  const rows = tf.concat(
    rollouts.map((r, b) => tf.slice(hidden, [b * T + r.promptLength - 1, 0], [sizes[b]!, d])),
  )
  const targets = Int32Array.from(rollouts.flatMap((r) => r.tokens.slice(r.promptLength)))
  // Logits, log-softmax and one-hot rows in chunks of at most LOGITS_CHUNK_BYTES each: a
  // [rows, vocab] tensor over the GPU's binding limit (2 GiB) would not be bound at all.
  const V = model.config.vocabSize
  const step = Math.max(1, Math.floor(LOGITS_CHUNK_BYTES / (4 * V)))
  const picked: tf.Tensor1D[] = []
  for (let r0 = 0; r0 < targets.length; r0 += step) {
    const n = Math.min(step, targets.length - r0)
    const part = n === targets.length ? rows : tf.slice(rows, [r0, 0], [n, d])
    const ids = tf.tensor1d(targets.subarray(r0, r0 + n), 'int32')
    if (checkpointLayers) {
      // The chunk's logits and log-softmax are evaluated again in the backward pass too.
      picked.push(pickedLogprobs(model, part, ids))
      continue
    }
    if (fusedLogprobs()) {
      // webgpu: one GEMM and one reduction kernel; the tape keeps the chunk's logits only.
      picked.push(gpuPickedLogprobs(part, model._internal.weights.lmHead, ids))
      continue
    }
    const logp = tf.logSoftmax(model.computeLogits(part))
    const onehot = tf.cast(tf.oneHot(ids, V), 'float32')
    picked.push(tf.sum(tf.mul(logp, onehot), 1))
  }
  const all = picked.length === 1 ? picked[0]! : tf.concat(picked)
  // One piece: no split (TF.js's SplitV gradient fails for a single output, tfjs 4.22).
  return sizes.length === 1 ? [all as tf.Tensor1D] : (tf.split(all, sizes) as tf.Tensor1D[])
}

/** Largest `[rows, vocab]` float32 tensor {@link completionLogprobsBatch} makes (1 GiB). */
const LOGITS_CHUNK_BYTES = 2 ** 30

/** Scalar terms of one rollout. */
export type RolloutTensors = {
  /** `−mean_t obj_t` (the reference's `ppo_loss`). */
  ppoMean: tf.Scalar
  /** `mean_t k3_t` (the reference's `kl`); zero when β = 0. */
  klMean: tf.Scalar
  /** `−Σ_t obj_t`. */
  ppoSum: tf.Scalar
  /** `Σ_t k3_t`. */
  klSum: tf.Scalar
  /** Number of tokens whose surrogate gradient is clipped. */
  clipped: tf.Scalar
}

/**
 * The PPO clipped surrogate (optionally clip-higher and dual clip) and the Schulman k3 KL of one
 * rollout, from its completion log-probs. `refLp` null means no KL term (β = 0).
 */
export function rolloutTerms(
  newLp: tf.Tensor1D,
  oldLp: tf.Tensor1D,
  refLp: tf.Tensor1D | null,
  advantage: number,
  o: ResolvedGrpoOptions,
): RolloutTensors {
  const adv = tf.scalar(advantage)
  const ratio = tf.exp(tf.sub(newLp, oldLp))
  const surr1 = tf.mul(ratio, adv)
  const surr2 = tf.mul(tf.clipByValue(ratio, 1 - o.clipEpsilonLow, 1 + o.clipEpsilonHigh), adv)
  let obj: tf.Tensor = tf.minimum(surr1, surr2)
  let clippedMask: tf.Tensor = tf.less(surr2, surr1)
  if (o.dualClip !== null && advantage < 0) {
    // Dual clip (Ye et al. 2020): for A < 0 the objective is floored at c·A.
    const floor = tf.scalar(o.dualClip * advantage)
    clippedMask = tf.logicalOr(clippedMask, tf.less(obj, floor))
    obj = tf.maximum(obj, floor)
  }
  const ppoMean = tf.neg(tf.mean(obj)) as tf.Scalar
  const ppoSum = tf.neg(tf.sum(obj)) as tf.Scalar
  let klMean: tf.Scalar
  let klSum: tf.Scalar
  if (refLp) {
    // k3 = exp(ref − new) − 1 − (ref − new), ≥ 0, evaluated in the reference's order.
    const klLogRatio = tf.sub(refLp, newLp)
    const k3 = tf.sub(tf.sub(tf.exp(klLogRatio), tf.scalar(1)), klLogRatio)
    klMean = tf.mean(k3) as tf.Scalar
    klSum = tf.sum(k3) as tf.Scalar
  } else {
    klMean = tf.scalar(0)
    klSum = tf.scalar(0)
  }
  return {
    ppoMean,
    klMean,
    ppoSum,
    klSum,
    clipped: tf.sum(tf.cast(clippedMask, 'float32')) as tf.Scalar,
  }
}

/**
 * One rollout's contribution to the batch loss: `(ppo + β·kl) / n_total_rollouts` (rollout
 * normalisation, the reference) or `(Σ ppo_t + β·Σ kl_t) / N_tokens` (token normalisation).
 */
export function rolloutLoss(
  t: RolloutTensors,
  o: ResolvedGrpoOptions,
  rolloutsTotal: number,
  tokensUsed: number,
): tf.Scalar {
  const [ppo, kl, denom] =
    o.normalization === 'rollout'
      ? [t.ppoMean, t.klMean, rolloutsTotal]
      : [t.ppoSum, t.klSum, tokensUsed]
  return tf.div(tf.add(ppo, tf.mul(kl, tf.scalar(o.klBeta))), tf.scalar(denom)) as tf.Scalar
}

/** How one pass evaluates its rollouts' log-probs. */
export type PassEval = {
  readonly attention: AttentionImpl
  /** Recompute each layer in the backward pass (always the padded-batch path). */
  readonly checkpointLayers: boolean
}

/**
 * Completion log-probs of the rollouts of one pass under `model`: one rollout on the
 * single-sequence path ({@link completionLogprobs}), several (or any with layer checkpointing) in
 * one padded batch ({@link completionLogprobsBatch}).
 */
export function passLogprobs(
  model: CausalLM,
  used: readonly PlannedRollout[],
  e: PassEval,
): tf.Tensor1D[] {
  const one = used[0]!
  return used.length === 1 && !e.checkpointLayers
    ? [completionLogprobs(model, e.attention, one.tokens, one.promptLength)]
    : completionLogprobsBatch(model, used, e.checkpointLayers)
}

/** One contributing rollout's terms and its loss ({@link rolloutLoss}). */
export type RolloutScalars = RolloutTensors & { loss: tf.Scalar }

/**
 * {@link RolloutScalars} of every rollout of a pass from its new log-probs and the reference's
 * (`null`: no KL term), with π_old from each rollout's miner log-probs.
 */
export function passTerms(
  newLps: readonly tf.Tensor1D[],
  refLps: readonly tf.Tensor1D[] | null,
  used: readonly PlannedRollout[],
  o: ResolvedGrpoOptions,
  plan: BatchPlan,
): RolloutScalars[] {
  return used.map((r, i) => {
    const old = tf.tensor1d(r.oldLogprobs, 'float32')
    const t = rolloutTerms(newLps[i]!, old, refLps?.[i] ?? null, r.advantage, o)
    return { ...t, loss: rolloutLoss(t, o, plan.rolloutsTotal, plan.tokensUsed) }
  })
}
