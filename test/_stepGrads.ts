// One GRPO step whose gradients are read instead of applied: the step's optimizer is replaced by
// one that copies the (clipped) gradients it is handed, so two ways of taking the same step can be
// compared gradient by gradient rather than through AdamW's sign-like first update.
import * as tf from '@tensorflow/tfjs-core'
import {
  type AdamW,
  type GrpoBatch,
  type GrpoOptions,
  type GrpoRollout,
  type GrpoStepReturnType,
  type GrpoStepState,
  grpoStep,
} from '../src/grpo/index.js'
import type { CausalLM } from '../src/model/index.js'

/**
 * One group of three short rollouts of different lengths (padding), rewards with variance; π_old
 * is any plausible log-prob (the step's arithmetic, not honesty, is what the parity tests check).
 */
export function tinyStepBatch(): GrpoBatch {
  const rollout = (n: number, reward: number): GrpoRollout => ({
    tokens: Array.from({ length: n }, (_, j) => (j * 37 + n * 11) % 400),
    promptLength: 5,
    reward,
    tokenLogprobs: Array.from({ length: n - 5 }, (_, j) => -5 - 0.1 * j),
  })
  return [{ rollouts: [rollout(14, 1), rollout(11, 0), rollout(16, 0.5)] }]
}

/** The step's result and every gradient it would have applied, by parameter name. */
export async function stepGrads(
  model: CausalLM,
  reference: CausalLM | null,
  batch: GrpoBatch,
  options: GrpoOptions,
  extra: Pick<GrpoStepState, 'rolloutsPerPass' | 'checkpointLayers'>,
): Promise<{ step: GrpoStepReturnType; grads: Map<string, Float32Array> }> {
  const kept = new Map<string, tf.Tensor>()
  const variables = new Map([...model.weights].filter(([, v]) => v.trainable))
  const optimizer = {
    variables,
    apply(g: ReadonlyMap<string, tf.Tensor>) {
      for (const [n, t] of g) kept.set(n, tf.clone(t))
    },
  } as unknown as AdamW
  const state: GrpoStepState = {
    optimizer,
    referenceModel: reference,
    options,
    completedSteps: 0,
    ...extra,
  }
  const grads = new Map<string, Float32Array>()
  try {
    const step = await grpoStep(model, batch, state)
    for (const [n, t] of kept) grads.set(n, (await t.data()) as Float32Array)
    return { step, grads }
  } finally {
    tf.dispose([...kept.values()])
  }
}
