// Signed /submit bodies whose rollouts carry schema-valid but unproven commits (sketch = token, a
// fixed signature), for validator runs judged by `schemaOnlyVerifier` (test/_admission.ts), where
// state, dedup and restarts are under test and the model's work is not: test/_crashValidator.ts
// and test/resume-dedup.test.ts.
import { signEnvelope } from '../src/crypto/envelope.js'
import { rolloutsMerkleRoot } from '../src/crypto/merkle.js'
import type { Hotkey } from '../src/crypto/sr25519.js'
import type { ModelTokenizer } from '../src/model/loadTokenizer.js'
import type { RewardEnvironment } from '../src/reward/environment.js'

/** One rollout: its tokens (prompt and completion) and its reward. */
export type PlainRollout = { tokens: number[]; reward: number }

/**
 * Two rollouts of prompt `promptIdx`, rewards 1 then 0: completions of `length` tokens drawn by
 * `token`, the first of each reward among at most `tries` draws. Throws when either is missing.
 */
export function rewardPair(o: {
  environment: RewardEnvironment
  tokenizer: ModelTokenizer
  promptIdx: number
  length: number
  tries: number
  token: () => number
}): PlainRollout[] {
  const problem = o.environment.getProblem(o.promptIdx)
  const prompt = o.tokenizer.encode(problem.prompt)
  const found = new Map<number, number[]>()
  for (let i = 0; i < o.tries && found.size < 2; i++) {
    const completion = Array.from({ length: o.length }, o.token)
    const reward = o.environment.computeReward(problem, o.tokenizer.decode(completion))
    if ((reward === 0 || reward === 1) && !found.has(reward))
      found.set(reward, [...prompt, ...completion])
  }
  if (found.size < 2) throw new Error(`no group with rewards 1 and 0 for prompt ${o.promptIdx}`)
  return [1, 0].map((reward) => ({ tokens: found.get(reward)!, reward }))
}

/** A signed E3 /submit body (JSON) of `rollouts`, each with a schema-only commit. */
export function schemaOnlyBody(o: {
  hotkey: Hotkey
  windowN: number
  promptIdx: number
  /** Prompt tokens at the start of each rollout. */
  promptLength: number
  rollouts: readonly PlainRollout[]
  round: number
  randomness: string
  checkpoint: string
  nonce: string
}): string {
  const rollouts = o.rollouts.map((r) => ({
    tokens: r.tokens,
    reward: r.reward,
    commit: {
      tokens: r.tokens,
      commitments: r.tokens.map((t) => ({ sketch: t })),
      proof_version: 'v5',
      model: { name: 'tiny', layer_index: -1 },
      signature: 'ab'.repeat(64),
      beacon: { randomness: o.randomness },
      rollout: {
        prompt_length: o.promptLength,
        completion_length: r.tokens.length - o.promptLength,
        success: true,
        total_reward: 0,
        advantage: 0,
        token_logprobs: r.tokens.slice(o.promptLength).map(() => -0.1),
      },
    },
  }))
  const merkleRoot = rolloutsMerkleRoot(rollouts as never)
  const envelope_signature = signEnvelope(o.hotkey, {
    minerHotkey: o.hotkey.address,
    windowStart: o.windowN,
    promptIdx: o.promptIdx,
    merkleRoot,
    checkpointHash: o.checkpoint,
    drandRound: o.round,
    randomness: o.randomness,
    nonce: o.nonce,
  })
  return JSON.stringify({
    miner_hotkey: o.hotkey.address,
    prompt_idx: o.promptIdx,
    window_start: o.windowN,
    merkle_root: merkleRoot,
    rollouts,
    checkpoint_hash: o.checkpoint,
    drand_round: o.round,
    nonce: o.nonce,
    envelope_signature,
  })
}
