import type { ModelTokenizer } from '../model/loadTokenizer.js'
import type { RewardEnvironment } from '../reward/environment.js'

/**
 * Canonical prompt tokens of a prompt index, cached (E1–E3: raw text encoding, no chat template).
 * @internal
 */
export function promptTokensOf(
  tokenizer: ModelTokenizer,
  env: RewardEnvironment,
): (idx: number) => readonly number[] {
  const cache = new Map<number, readonly number[]>()
  return (idx) => {
    let t = cache.get(idx)
    if (!t) {
      t = Object.freeze(tokenizer.encode(env.getProblem(idx).prompt))
      if (cache.size < 100_000) cache.set(idx, t)
    }
    return t
  }
}
