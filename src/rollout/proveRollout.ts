import { ReliquaryError } from '../errors/base.js'
import { signCommit } from '../crypto/commitSignature.js'
import type { Hotkey } from '../crypto/sr25519.js'
import { computeSketchAsync } from '../grail/computeSketch.js'
import type { HiddenInput } from '../grail/hidden.js'
import { DEFAULT_PROFILE, type ProtocolProfile } from '../protocol/profiles.js'
import type { Commit } from '../protocol/schemas.js'

/** Parameters of {@link proveRollout}. */
export type ProveRolloutParameters = {
  /** Prompt and completion tokens. */
  tokens: readonly number[]
  promptLength: number
  /** Last-layer hidden states of the whole sequence, `[T, d]` (one row per token). */
  hidden: HiddenInput
  /** Completion-only fp32 log-probabilities: entry j is log p(tokens[P+j] | tokens[<P+j]). */
  tokenLogprobs: readonly number[]
  /** The window randomness from `/state` (copied verbatim). */
  randomness: string
  /** `commit.model.name` (signed, never compared by validators). */
  modelName: string
  /** The miner hotkey that signs the commit binding. */
  hotkey: Hotkey
  profile?: ProtocolProfile | undefined
}

/**
 * Builds the complete, signed `commit` object of a rollout (docs/protocol.md §1.9): one GRAIL
 * sketch per
 * position from the miner's own hidden states, the completion-only `token_logprobs`, the proof
 * version and layer of the profile, the beacon randomness, and the sr25519 signature over the
 * commit binding. `success`, `total_reward` and `advantage` are sent as the reference miner sends
 * them (`true`, `0.0`, `0.0`): validators ignore them.
 *
 * @throws {ReliquaryError} `INVALID_ARGUMENT` if lengths disagree; `GRAIL_SHAPE_MISMATCH`,
 *   `NON_FINITE_VALUE` from the sketch.
 */
export async function proveRollout(p: ProveRolloutParameters): Promise<Commit> {
  const profile = p.profile ?? DEFAULT_PROFILE
  const T = p.tokens.length
  const C = T - p.promptLength
  if (!Number.isInteger(p.promptLength) || p.promptLength < 0 || C < 1) {
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      `promptLength ${String(p.promptLength)} leaves no completion in ${T} tokens.`,
    )
  }
  if (p.tokenLogprobs.length !== C || p.tokenLogprobs.some((x) => !Number.isFinite(x))) {
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      `tokenLogprobs must hold ${C} finite completion log-probabilities, received ${p.tokenLogprobs.length}.`,
    )
  }
  const sketches = await computeSketchAsync(p.hidden, p.randomness, { profile })
  if (sketches.length !== T)
    throw new ReliquaryError(
      'GRAIL_SHAPE_MISMATCH',
      `Hidden states have ${sketches.length} rows for ${T} tokens.`,
    )
  const unsigned = {
    tokens: [...p.tokens],
    commitments: sketches.map((sketch) => ({ sketch })),
    proof_version: profile.proofVersion,
    model: { name: p.modelName, layer_index: profile.grail.layerIndex },
    beacon: { randomness: p.randomness },
  }
  return {
    ...unsigned,
    signature: signCommit(p.hotkey, unsigned),
    rollout: {
      prompt_length: p.promptLength,
      completion_length: C,
      success: true,
      total_reward: 0.0,
      advantage: 0.0,
      token_logprobs: [...p.tokenLogprobs],
    },
  }
}
