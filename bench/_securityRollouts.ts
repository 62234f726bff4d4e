// Rollout material for bench/security.ts: the validator's fp32 forward of a sequence (hidden
// states and the scores the behavioural checks read), a bf16 miner's view of it, and a judge that
// runs the sketch check alone or the sketch, logprob and distribution checks together, under
// every profile variant at once.
import { createHash } from 'node:crypto'
import * as tf from '@tensorflow/tfjs-core'
import { sketchChallengeCount } from '../src/grail/challenge.js'
import { computeSketch } from '../src/grail/computeSketch.js'
import { sketchDrift } from '../src/grail/tolerance.js'
import { verifySketch, type VerifySketchReturnType } from '../src/grail/verifySketch.js'
import type { CausalLM } from '../src/model/loadModel.js'
import { e3, type ProtocolProfile } from '../src/protocol/profiles.js'
import { checkDistribution, checkLogprobs } from '../src/rollout/checks.js'
import { rolloutScoresFromLogits, type RolloutScores } from '../src/rollout/scores.js'

/** One sequence as the validator sees it (its own fp32 forward). */
export type Seq = {
  tokens: number[]
  promptLength: number
  hidden: Float32Array
  scores: RolloutScores
}

/** What a miner sends for one sequence: a sketch per token and a log-prob per token (full layout). */
export type Claim = { hidden: Float32Array; logprobs: ArrayLike<number> }

export const randomnessOf = (label: string): string =>
  createHash('sha256').update(label).digest('hex')

/** Round-to-nearest-even to bf16, kept in fp32. */
export function roundToBf16(x: Float32Array): Float32Array {
  const u = new Uint32Array(x.buffer.slice(0))
  for (let i = 0; i < u.length; i++) {
    const v = u[i] as number
    u[i] = ((v + 0x7fff + ((v >>> 16) & 1)) >>> 16) << 16
  }
  return new Float32Array(u.buffer)
}

function scoresOf(model: CausalLM, logits: ArrayLike<number>, tokens: number[]): RolloutScores {
  return rolloutScoresFromLogits(logits, model.config.vocabSize, tokens, {
    temperature: e3.sampling.temperature,
    eosTokenIds: [],
  })
}

/** The model's forward over `tokens`: hidden rows and the check scores. */
export function forwardOf(model: CausalLM, tokens: number[], promptLength: number): Seq {
  const { hidden, logits } = model.forward(tokens)
  const h = new Float32Array(hidden.dataSync() as Float32Array)
  const scores = scoresOf(model, logits.dataSync() as Float32Array, tokens)
  hidden.dispose()
  logits.dispose()
  return { tokens, promptLength, hidden: h, scores }
}

/** A bf16 miner's claim: hidden states rounded to bf16, log-probs from `lm_head` over them. */
export function bf16Claim(model: CausalLM, s: Seq): Claim {
  const hb = roundToBf16(s.hidden)
  const d = model.config.hiddenSize
  const logits = tf.tidy(() =>
    model.computeLogits(tf.tensor2d(hb, [s.tokens.length, d])).dataSync(),
  ) as Float32Array
  return { hidden: hb, logprobs: scoresOf(model, logits, s.tokens).logprobs }
}

/** An honest fp32 miner's claim (its forward is the validator's). */
export const fp32Claim = (s: Seq): Claim => ({ hidden: s.hidden, logprobs: s.scores.logprobs })

/** Sketches of a claim under `randomness`. */
export function sketchesOf(claim: Claim, hiddenSize: number, randomness: string): number[] {
  return computeSketch({ data: claim.hidden, hiddenSize }, randomness, { profile: e3 })
}

/** The validator's sketch verdict on `commitments` under `profile`. */
export function sketchVerdict(
  s: Seq,
  commitments: number[],
  randomness: string,
  hiddenSize: number,
  profile: ProtocolProfile,
): VerifySketchReturnType {
  return verifySketch({
    tokens: s.tokens,
    commitments,
    randomness,
    hidden: { data: s.hidden, hiddenSize },
    profile,
  })
}

/**
 * Adds 1 to `sketchAcc[v]` for each variant whose sketch check accepts, and to `fullAcc[v]` for
 * each whose sketch, logprob and distribution checks all accept (termination is left out: the
 * sampled sequences have no EOS). Either list may be null.
 */
export function judge(
  s: Seq,
  commitments: number[],
  logprobs: ArrayLike<number>,
  randomness: string,
  hiddenSize: number,
  variants: readonly ProtocolProfile[],
  acc: { sketch?: number[] | undefined; full?: number[] | undefined },
): void {
  const shape = {
    tokens: s.tokens,
    promptLength: s.promptLength,
    completionLength: s.tokens.length - s.promptLength,
  }
  // One verification per challenge count; each variant's tolerance base is then compared with
  // the proof's drift (a proof passes base B exactly when its drift is at most B,
  // docs/protocol.md §4.5).
  const drifts = new Map<number, number>()
  const driftFor = (profile: ProtocolProfile): number => {
    const k = sketchChallengeCount(profile)
    let drift = drifts.get(k)
    if (drift === undefined) {
      const v = sketchVerdict(s, commitments, randomness, hiddenSize, profile)
      drift = v.checked >= v.required ? sketchDrift(v.positions, { profile }) : Infinity
      drifts.set(k, drift)
    }
    return drift
  }
  let lpDev: number | undefined
  let dist: boolean | undefined
  for (let v = 0; v < variants.length; v++) {
    const profile = variants[v]!
    if (!(driftFor(profile) <= profile.grail.toleranceBase)) continue
    if (acc.sketch) acc.sketch[v]!++
    if (!acc.full) continue
    lpDev ??= checkLogprobs(
      { ...shape, tokenLogprobs: Array.from(logprobs) },
      s.scores,
      randomness,
      { profile: e3 },
    ).medianDev
    if (!(lpDev <= profile.checks.logprobIsEps)) continue
    dist ??= checkDistribution(shape, s.scores, { profile: e3 }).ok !== false
    if (!dist) continue
    acc.full[v]!++
  }
}

/** A copy of the model with every weight perturbed by ε times its tensor's standard deviation. */
export function perturb(m: CausalLM, eps: number, seed0: number): void {
  let seed = seed0
  for (const v of m.weights.values()) {
    tf.tidy(() => {
      const { variance } = tf.moments(v)
      const sd = Math.sqrt(variance.dataSync()[0] as number)
      v.assign(tf.add(v, tf.randomNormal(v.shape, 0, eps * sd, 'float32', seed++)))
    })
  }
}
