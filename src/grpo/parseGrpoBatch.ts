import { invalidArgument } from '../errors/base.js'
import type { GrpoBatch, GrpoGroup, GrpoRollout } from './types.js'

type Loose = Record<string, unknown>

const isObj = (x: unknown): x is Loose => typeof x === 'object' && x !== null && !Array.isArray(x)

function pick(r: Loose, camel: string, snake: string): unknown {
  if (r[camel] !== undefined) return r[camel]
  if (r[snake] !== undefined) return r[snake]
  // E1–E3 submissions keep these under commit.rollout (training.py reads them from there).
  const commit = r.commit
  const inner = isObj(commit) ? commit.rollout : undefined
  return isObj(inner) ? inner[snake] : undefined
}

/**
 * Converts groups in JSON form into a {@link GrpoBatch}. Accepts the SDK's camelCase fields, the
 * reference vectors' snake_case fields (`prompt_length`, `token_logprobs`, `prompt_idx`), and
 * E1–E3 submissions whose `prompt_length` and `token_logprobs` sit under `commit.rollout`.
 * Only the shape is checked here; token ids and lengths are checked against the model by
 * {@link grpoLoss} and {@link grpoStep}.
 *
 * @param groups - An array of `{ rollouts: [...] }` groups.
 * @returns A new batch (arrays are copied).
 * @throws {ReliquaryError} `INVALID_ARGUMENT` naming the first malformed field.
 *
 * @example
 * ```ts
 * import { parseGrpoBatch } from 'reliquary/grpo'
 * const batch = parseGrpoBatch([{ prompt_idx: 0, rollouts: [{ tokens: [1, 2, 3], reward: 1, prompt_length: 2, token_logprobs: [-0.5] }] }])
 * batch[0].rollouts[0].promptLength // 2
 * ```
 */
export function parseGrpoBatch(groups: unknown): GrpoBatch {
  if (!Array.isArray(groups)) throw invalidArgument('groups', 'an array of groups', groups)
  return groups.map((g, gi): GrpoGroup => {
    if (!isObj(g) || !Array.isArray(g.rollouts))
      throw invalidArgument(`groups[${gi}]`, 'an object with a "rollouts" array', g)
    const rollouts = (g.rollouts as unknown[]).map((r, ri): GrpoRollout => {
      const where = `groups[${gi}].rollouts[${ri}]`
      if (!isObj(r)) throw invalidArgument(where, 'a rollout object', r)
      const tokens = r.tokens
      const reward = r.reward
      const promptLength = pick(r, 'promptLength', 'prompt_length')
      const tokenLogprobs = pick(r, 'tokenLogprobs', 'token_logprobs')
      if (!Array.isArray(tokens) || !tokens.every((t) => typeof t === 'number'))
        throw invalidArgument(`${where}.tokens`, 'an array of token ids', tokens)
      if (typeof reward !== 'number') throw invalidArgument(`${where}.reward`, 'a number', reward)
      if (typeof promptLength !== 'number')
        throw invalidArgument(`${where}.prompt_length`, 'a number', promptLength)
      if (!Array.isArray(tokenLogprobs) || !tokenLogprobs.every((t) => typeof t === 'number'))
        throw invalidArgument(`${where}.token_logprobs`, 'an array of numbers', tokenLogprobs)
      return {
        tokens: [...(tokens as number[])],
        reward,
        promptLength,
        tokenLogprobs: [...(tokenLogprobs as number[])],
      }
    })
    const idx = g.promptIdx ?? g.prompt_idx
    return typeof idx === 'number' ? { rollouts, promptIdx: idx } : { rollouts }
  })
}
