import { ReliquaryError } from '../errors/base.js'

/**
 * What the behavioural checks read from the validator's forward pass, per position. Computing
 * these next to the logits (on the backend) and reading back O(T) numbers, instead of the
 * `[T, vocab]` logits, is what the reference does too (`verify_commitment_proofs` precomputes
 * sparse values on the GPU).
 *
 * Position t (1 ≤ t < T) holds values of the distribution at logits row t−1, i.e. of the token
 * `tokens[t]` given `tokens[<t]`. Entry 0 is NaN (no prediction for the first token).
 */
export type RolloutScores = {
  /** fp32 log-softmax log-probability of `tokens[t]` (no temperature). */
  readonly logprobs: Float64Array
  /** softmax probability of `tokens[t]` at the protocol temperature. */
  readonly temperedProbs: Float64Array
  /** Σ over the EOS set of softmax(logits[T−2]) (no temperature); NaN when T < 2. */
  readonly eosProbability: number
}

/** Options of {@link rolloutScoresFromLogits}. */
export type RolloutScoresOptions = {
  /** Temperature of the distribution check (profile.sampling.temperature). */
  temperature: number
  /** EOS token ids (generation_config eos list, else the tokenizer's). */
  eosTokenIds: readonly number[]
}

/**
 * Computes {@link RolloutScores} from a row-major `[T, vocab]` logits array in plain JS (float64
 * accumulation over fp32 logits). The model runtime computes the same on the TensorFlow.js
 * backend; this form is the reference for it and serves small vocabularies and tests.
 *
 * @throws {ReliquaryError} `GRAIL_SHAPE_MISMATCH` if the logits do not hold T rows.
 */
export function rolloutScoresFromLogits(
  logits: ArrayLike<number>,
  vocab: number,
  tokens: ArrayLike<number>,
  o: RolloutScoresOptions,
): RolloutScores {
  const T = tokens.length
  if (!Number.isInteger(vocab) || vocab <= 0 || logits.length !== T * vocab) {
    throw new ReliquaryError(
      'GRAIL_SHAPE_MISMATCH',
      `Logits of length ${logits.length} do not form [${T}, ${vocab}].`,
    )
  }
  const logprobs = new Float64Array(T).fill(Number.NaN)
  const tempered = new Float64Array(T).fill(Number.NaN)
  const invT = 1 / o.temperature
  for (let t = 1; t < T; t++) {
    const off = (t - 1) * vocab
    let max = -Infinity
    for (let v = 0; v < vocab; v++) if (logits[off + v]! > max) max = logits[off + v]!
    let s = 0
    let sT = 0
    for (let v = 0; v < vocab; v++) {
      const x = logits[off + v]! - max
      s += Math.exp(x)
      sT += Math.exp(x * invT)
    }
    const tok = tokens[t]!
    const x = logits[off + tok]! - max
    logprobs[t] = x - Math.log(s)
    tempered[t] = Math.exp(x * invT) / sT
  }
  let eos = Number.NaN
  if (T >= 2) {
    const off = (T - 2) * vocab
    let max = -Infinity
    for (let v = 0; v < vocab; v++) if (logits[off + v]! > max) max = logits[off + v]!
    let s = 0
    for (let v = 0; v < vocab; v++) s += Math.exp(logits[off + v]! - max)
    eos = 0
    for (const e of new Set(o.eosTokenIds))
      if (e >= 0 && e < vocab) eos += Math.exp(logits[off + e]! - max) / s
  }
  return { logprobs, temperedProbs: tempered, eosProbability: eos }
}
