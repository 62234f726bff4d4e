import * as tf from '@tensorflow/tfjs-core'
import { ReliquaryError } from '../errors/base.js'
import type { CausalLM } from '../model/loadModel.js'
import type { RolloutScores } from './scores.js'

/** Hidden rows and scores of one validator forward pass. */
export type RolloutEvaluation = {
  /** `[K, d]` hidden rows at the requested positions, in request order. */
  hidden: { data: Float32Array; hiddenSize: number }
  scores: RolloutScores
}

/**
 * Runs one forward pass and reduces it on the backend to what the checks read: the hidden rows at
 * `hiddenRows`, and per position the fp32 log-softmax log-probability of the next token, its
 * probability at `temperature`, and the EOS-set probability at the second-to-last row. Reads back
 * O(K·d + T) numbers instead of the `[T, vocab]` logits (the reference does the same on its GPU).
 * Every intermediate tensor is freed.
 */
export async function evaluateRollout(
  model: CausalLM,
  tokens: readonly number[],
  o: {
    hiddenRows: readonly number[]
    temperature: number
    eosTokenIds?: readonly number[] | undefined
  },
): Promise<RolloutEvaluation> {
  const T = tokens.length
  const d = model.config.hiddenSize
  const V = model.config.vocabSize
  if (!(o.temperature > 0))
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      `"temperature" must be positive, received ${String(o.temperature)}.`,
    )
  for (const r of o.hiddenRows) {
    if (!Number.isInteger(r) || r < 0 || r >= T)
      throw new ReliquaryError(
        'GRAIL_SHAPE_MISMATCH',
        `Hidden row ${String(r)} is outside the ${T}-token sequence.`,
      )
  }
  const eos = [...new Set(o.eosTokenIds ?? model.config.eosTokenIds)].filter((e) => e >= 0 && e < V)
  const { hidden, logits } = model.forward(tokens)
  let outs: tf.Tensor[] = []
  try {
    outs = tf.tidy(() => {
      const rows = tf.gather(
        hidden,
        tf.tensor1d(o.hiddenRows.length ? [...o.hiddenRows] : [0], 'int32'),
      )
      if (T < 2) return [rows]
      const prev = tf.slice(logits, [0, 0], [T - 1, V])
      const idx = tf.tensor2d(
        Array.from({ length: T - 1 }, (_, i) => [i, tokens[i + 1]!]),
        [T - 1, 2],
        'int32',
      )
      const chosen = tf.gatherND(prev, idx) as tf.Tensor1D
      const lse = tf.logSumExp(prev, 1)
      const logp = tf.sub(chosen, lse)
      const scaled = tf.div(prev, o.temperature)
      const pT = tf.exp(tf.sub(tf.div(chosen, o.temperature), tf.logSumExp(scaled, 1)))
      const last = tf.slice(logits, [T - 2, 0], [1, V])
      const pLast = tf.softmax(last)
      const pEos = eos.length
        ? tf.sum(tf.gather(pLast, tf.tensor1d(eos, 'int32'), 1))
        : tf.scalar(0)
      return [rows, logp, pT, pEos]
    })
  } finally {
    hidden.dispose()
    logits.dispose()
  }
  try {
    const data = await Promise.all(outs.map((t) => t.data()))
    const logprobs = new Float64Array(T).fill(Number.NaN)
    const temperedProbs = new Float64Array(T).fill(Number.NaN)
    if (T >= 2) {
      const lp = data[1]!
      const pt = data[2]!
      for (let t = 1; t < T; t++) {
        logprobs[t] = lp[t - 1]!
        temperedProbs[t] = pt[t - 1]!
      }
    }
    const rowsData = data[0] as Float32Array
    return {
      hidden: { data: o.hiddenRows.length ? rowsData : new Float32Array(0), hiddenSize: d },
      scores: { logprobs, temperedProbs, eosProbability: T >= 2 ? data[3]![0]! : Number.NaN },
    }
  } finally {
    for (const t of outs) t.dispose()
  }
}
