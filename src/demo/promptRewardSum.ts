import { generate } from '../model/generate.js'
import type { CausalLM } from '../model/loadModel.js'
import type { ModelTokenizer } from '../model/loadTokenizer.js'
import type { ProtocolProfile } from '../protocol/profiles.js'
import type { RewardEnvironment } from '../reward/environment.js'
import { isTargetRewardDecided, parseTargetRule } from './environment.js'

/**
 * Sum of the rewards of `rollouts` samples of `model` on prompt `idx` under the profile's sampling,
 * with sampling seeds that depend only on (`seed`, `idx`, sample): every model evaluated on a
 * prompt sees the same random numbers, so policy and base differ only by their weights.
 * @internal
 */
export async function promptRewardSum(
  model: CausalLM,
  tokenizer: ModelTokenizer,
  profile: ProtocolProfile,
  env: RewardEnvironment,
  idx: number,
  rollouts: number,
  seed: number,
): Promise<number> {
  const problem = env.getProblem(idx)
  const ids = tokenizer.encode(problem.prompt)
  const { sampling } = profile
  const maxNewTokens = Math.max(1, sampling.maxNewTokensCap - ids.length)
  // The reward depends on a prefix only: stop sampling once it is decided (same tokens, same reward).
  const rule = parseTargetRule(problem.groundTruth)
  const stopWhen = (completion: readonly number[]): boolean =>
    isTargetRewardDecided(rule, tokenizer.decode(completion))
  let sum = 0
  for (let j = 0; j < rollouts; j++) {
    const g = await generate(model, ids, {
      maxNewTokens,
      temperature: sampling.temperature,
      topP: sampling.topP,
      topK: sampling.topK,
      seed: seed * 1_000_003 + idx * 101 + j,
      stopWhen,
    })
    sum += env.computeReward(problem, tokenizer.decode(g.completion))
  }
  return sum
}
