// Repeats (issue class "a hotkey's identical repeats"): one hotkey sends the same honest group
// `copies` times on one prompt, beside one honest group of another hotkey, through the real
// admission pipeline (worker stage; per-rollout proofs are not the point here, so the verifier
// accepts every rollout). Counts the copies accepted and the repeater's share of the prompt.
import { rolloutsMerkleRoot } from '../src/crypto/merkle.js'
import type { ProtocolProfile } from '../src/protocol/profiles.js'
import type { Problem, RewardEnvironment } from '../src/reward/environment.js'
import { AdmissionPipeline } from '../src/window/admission/admissionPipeline.js'
import { Cooldown } from '../src/window/seal/cooldown.js'
import { HashDedup } from '../src/window/seal/hashDedup.js'
import { selectBatchAndDistribute } from '../src/window/seal/selectBatchAndDistribute.js'
import { WindowBatcher } from '../src/window/seal/windowBatcher.js'

const WINDOW = 500
const ROUND = 5_000_000
const YES = 1
const RANDOMNESS = 'b8ae25a3d8be558258bd42c986a27580c1754c29f418fd135045adcb3721cf0b'

const environment: RewardEnvironment = Object.freeze({
  id: 'toy',
  size: 64,
  getProblem: (i: number): Problem => ({ prompt: `p${i}`, groundTruth: 'Y', id: `p${i}` }),
  computeReward: (_p: Problem, text: string) => (text.includes('Y') ? 1 : 0),
})
const decode = (t: readonly number[]) => t.map((x) => (x === YES ? 'Y' : '.')).join('')
const promptTokens = (i: number) => [100 + i, 7, 8, 9]

function body(hotkey: string, promptIdx: number, salt: number): Record<string, unknown> {
  const rollouts = Array.from({ length: 8 }, (_, i) => {
    const completion = Array.from({ length: 38 }, (_, j) => 10 + ((salt * 131 + i * 17 + j) % 400))
    completion.push(i % 2 === 0 ? YES : 3, 2)
    const tokens = [...promptTokens(promptIdx), ...completion]
    const commit = {
      tokens,
      commitments: tokens.map((t) => ({ sketch: t })),
      proof_version: 'v5',
      model: { name: 'toy', layer_index: -1 },
      signature: 'ab'.repeat(64),
      beacon: { randomness: RANDOMNESS },
      rollout: {
        prompt_length: 4,
        completion_length: completion.length,
        success: true,
        total_reward: 0,
        advantage: 0,
        token_logprobs: completion.map(() => -0.1),
      },
    }
    return { tokens, reward: i % 2 === 0 ? 1 : 0, commit }
  })
  return {
    miner_hotkey: hotkey,
    prompt_idx: promptIdx,
    window_start: WINDOW,
    merkle_root: rolloutsMerkleRoot(rollouts as never),
    rollouts,
    checkpoint_hash: '',
    drand_round: ROUND,
    nonce: `n${salt}`,
    envelope_signature: '',
  }
}

/** Result of {@link measureRepeats}. */
export type RepeatsResult = { tried: number; accepted: number; shareRatio: number }

/**
 * `trials` windows; in each, hotkey A sends one group `copies` times on one prompt and hotkey B
 * one group of its own. `tried` counts A's repeats (copies − 1 per trial), `accepted` those
 * admitted; `shareRatio` is A's emission over B's in the last trial.
 */
export async function measureRepeats(
  profile: ProtocolProfile,
  o: { trials: number; copies: number },
): Promise<RepeatsResult> {
  const A = '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY'
  const B = '5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty'
  let tried = 0
  let accepted = 0
  let shareRatio = Number.NaN
  for (let t = 0; t < o.trials; t++) {
    const pipeline = new AdmissionPipeline({
      profile,
      environment,
      decode,
      promptTokens,
      verifyRollout: () => ({ ok: true, reason: null }),
    })
    const batcher = new WindowBatcher({
      windowStart: WINDOW,
      randomness: RANDOMNESS,
      checkpointHash: '',
      cooldown: new Cooldown({ profile }),
      hashDedup: new HashDedup({ profile }),
      profile,
    })
    pipeline.setActiveBatcher(batcher)
    pipeline.setPhase('open')
    const at = { arrivalSeconds: 0, nowSeconds: 0 }
    const prompt = t % 64
    const copy = body(A, prompt, t)
    for (let c = 0; c < o.copies; c++) {
      const v = await pipeline.admitDirect(copy, at)
      if (c > 0) {
        tried++
        if (v.accepted) accepted++
      }
    }
    await pipeline.admitDirect(body(B, prompt, t + 1000), at)
    const { rewardsByHotkey } = selectBatchAndDistribute(batcher.validSubmissions(), {
      currentWindow: WINDOW,
      profile,
    })
    shareRatio = (rewardsByHotkey.get(A) ?? 0) / (rewardsByHotkey.get(B) ?? Number.NaN)
  }
  return { tried, accepted, shareRatio }
}
