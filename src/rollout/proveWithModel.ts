import type { Hotkey } from '../crypto/sr25519.js'
import { ReliquaryError } from '../errors/base.js'
import { DEFAULT_PROFILE, type ProtocolProfile } from '../protocol/profiles.js'
import type { Commit } from '../protocol/schemas.js'
import type { CausalLM } from '../model/loadModel.js'
import { evaluateRollout } from './evaluateRollout.js'
import { proveRollout } from './proveRollout.js'

/** Parameters of {@link proveWithModel}. */
export type ProveWithModelParameters = {
  model: CausalLM
  /** Prompt and completion tokens (e.g. `generate(...).tokens`). */
  tokens: readonly number[]
  promptLength: number
  /** The window randomness from `/state`. */
  randomness: string
  hotkey: Hotkey
  /** `commit.model.name`. @default the model config's `_name_or_path`, else "model" */
  modelName?: string | undefined
  profile?: ProtocolProfile | undefined
}

/**
 * Miner side: runs the full forward pass a validator will run over the finished rollout, then
 * builds and signs the commit object from its hidden states (one sketch per position) and its
 * completion-only fp32 log-probabilities. Proving from the full forward, not from the
 * incremental KV-cache pass, keeps the miner's numbers on the validator's path.
 */
export async function proveWithModel(p: ProveWithModelParameters): Promise<Commit> {
  const profile = p.profile ?? DEFAULT_PROFILE
  const T = p.tokens.length
  if (p.promptLength < 0 || p.promptLength >= T)
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      `promptLength ${p.promptLength} leaves no completion in ${T} tokens.`,
    )
  const ev = await evaluateRollout(p.model, p.tokens, {
    hiddenRows: Array.from({ length: T }, (_, i) => i),
    temperature: profile.sampling.temperature,
  })
  const tokenLogprobs = Array.from(ev.scores.logprobs.subarray(p.promptLength))
  const raw = p.model.config.raw._name_or_path
  return proveRollout({
    tokens: p.tokens,
    promptLength: p.promptLength,
    hidden: ev.hidden,
    tokenLogprobs,
    randomness: p.randomness,
    hotkey: p.hotkey,
    modelName: p.modelName ?? (typeof raw === 'string' && raw ? raw : 'model'),
    profile,
  })
}
