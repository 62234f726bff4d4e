import { createHash } from 'node:crypto'
import { generate } from '../model/generate.js'
import type { MinerContext } from './minerContext.js'
import type { GeneratedGroup } from './types.js'

/**
 * Step 3a of a miner's window: generates M = `profile.group.rolloutsPerGroup` rollouts of
 * prompt `promptIdx` with the protocol sampling (temperature, top-p, top-k; at most
 * `maxNewTokensCap − prompt length` new tokens; stops at EOS) and rewards each decoded
 * completion with `environment.computeReward`. The prompt is encoded without special tokens, as
 * the validator does to bind `tokens[:prompt_length]` (§2.4). A rollout identical to an earlier
 * one of its group is resampled with a fresh seed up to `duplicateResamples` times; if it still
 * repeats the group comes back with `duplicate: true`.
 *
 * - Spec: docs/protocol.md §2.4, §4.3 worker step 7 (`hash_duplicate`).
 * @internal
 * @returns The group, or null when the prompt leaves no room for a completion.
 */
export async function generateGroup(
  ctx: MinerContext,
  promptIdx: number,
  windowN: number,
  signal: AbortSignal | undefined,
): Promise<GeneratedGroup | null> {
  const { config, state } = ctx
  const { profile, environment: env } = config
  const m = state.model!
  const tok = state.tokenizer!
  const problem = env.getProblem(promptIdx)
  const promptTokens = tok.encode(problem.prompt, { addSpecialTokens: false })
  const maxNewTokens = profile.sampling.maxNewTokensCap - promptTokens.length
  if (promptTokens.length === 0 || maxNewTokens < 1) return null
  const group = state.groupCounter++
  const tokens: number[][] = []
  const rewards: number[] = []
  const seen = new Set<string>()
  for (let i = 0; i < profile.group.rolloutsPerGroup; i++) {
    for (let attempt = 0; ; attempt++) {
      const g = await generate(m, promptTokens, {
        maxNewTokens,
        temperature: profile.sampling.temperature,
        topP: profile.sampling.topP,
        topK: profile.sampling.topK,
        seed: rolloutSeed(config.seed, windowN, promptIdx, group, i, attempt),
        eosTokenIds: m.config.eosTokenIds,
        ...(signal ? { signal } : {}),
      })
      // The validator hashes the full token list; the prompt is shared, so the completion decides.
      const key = g.completion.join(',')
      if (!seen.has(key)) {
        seen.add(key)
        tokens.push(g.tokens)
        rewards.push(env.computeReward(problem, tok.decode(g.completion)))
        break
      }
      if (attempt >= config.duplicateResamples)
        return { promptTokens, tokens, rewards, duplicate: true }
    }
  }
  return { promptTokens, tokens, rewards, duplicate: false }
}

/**
 * A safe-integer sampling seed for one rollout, from the miner seed and the rollout's
 * coordinates.
 * @internal
 */
export function rolloutSeed(
  seed: number,
  windowN: number,
  promptIdx: number,
  group: number,
  rollout: number,
  attempt: number,
): number {
  const h = createHash('sha256')
    .update(`reliquary-miner-seed|${seed}|${windowN}|${promptIdx}|${group}|${rollout}|${attempt}`)
    .digest()
  return h.readUIntBE(0, 6)
}
