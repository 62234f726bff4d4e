import { ReliquaryError } from '../errors/base.js'
import type { ProtocolProfile } from '../protocol/profiles.js'
import type {
  RolloutVerdict,
  RolloutVerifierParameters,
  RolloutsVerifier,
  UpcomingRollouts,
} from '../window/admission/admissionTypes.js'
import { sameWeights, type WeightsVersion } from './weightsVersion.js'

/** Parameters of {@link createLookaheadVerifier}. */
export type LookaheadVerifierParameters = {
  /**
   * Judges many rollouts in one call, verdicts in input order, each equal to what it returns for
   * that rollout alone (`verifyRollouts` over a batching evaluator, or the model worker's batch).
   */
  readonly verify: (
    rollouts: readonly RolloutVerifierParameters[],
  ) => Promise<readonly RolloutVerdict[]>
  /** Most tokens (summed over rollouts) per call: the submission judged plus the queued ones taken along. */
  readonly maxBatchTokens: number
  /** Most queued submissions taken along per call. @default 16 */
  readonly maxSubmissions?: number | undefined
  /** The verify model's weights now: an early verdict is kept only for the weights it was made with. */
  readonly weights: () => WeightsVersion
}

type Early = {
  readonly minerHotkey: string
  readonly randomness: string
  readonly promptTokens: readonly number[]
  readonly profile: ProtocolProfile
  readonly version: WeightsVersion
  readonly verdict: RolloutVerdict
}

const tokenCount = (r: RolloutVerifierParameters): number => {
  const t = (r.commit as { tokens?: unknown } | null)?.tokens
  return Array.isArray(t) ? t.length : 0
}
const sameTokens = (a: readonly number[], b: readonly number[]): boolean =>
  a === b || (a.length === b.length && a.every((x, i) => x === b[i]))

/**
 * A {@link RolloutsVerifier} that packs several queued submissions into one batched verification:
 * when the admission worker asks for a submission's verdicts, the rollouts of the submissions
 * queued after it (`upcoming`) are judged in the same call while the tokens stay within
 * `maxBatchTokens` (on the gpu kernels: one packed forward for all of them), and their verdicts are
 * kept until their turn. A kept verdict is used only for the same commit object with the same
 * hotkey, randomness, prompt tokens, profile and verify-model weights (the verdict is a function of
 * exactly these), and is used once; anything else is judged again. Verdicts therefore equal
 * judging each submission on its turn; the queue's order and the other admission checks do not
 * change. The cost: the forward of a queued submission that a later check (cooldown, dedup, a
 * window roll-over) rejects before its rollouts are checked is spent for nothing, at most
 * `maxBatchTokens` per call.
 *
 * @param p - {@link LookaheadVerifierParameters}
 * @returns The batch verifier for the admission pipeline (`verifyRollouts`).
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a bad `maxBatchTokens` or `maxSubmissions`.
 */
export function createLookaheadVerifier(p: LookaheadVerifierParameters): RolloutsVerifier {
  const maxSubmissions = p.maxSubmissions ?? 16
  for (const [name, v] of [
    ['maxBatchTokens', p.maxBatchTokens],
    ['maxSubmissions', maxSubmissions],
  ] as const)
    if (!Number.isSafeInteger(v) || v < 0)
      throw new ReliquaryError('INVALID_ARGUMENT', `"${name}" must be a non-negative integer.`)
  // Keyed by the commit object the queue holds: freed with it.
  const early = new WeakMap<object, Early>()
  const take = (r: RolloutVerifierParameters, version: WeightsVersion): RolloutVerdict | null => {
    if (typeof r.commit !== 'object' || r.commit === null) return null
    const e = early.get(r.commit)
    if (!e) return null
    early.delete(r.commit)
    const same =
      e.minerHotkey === r.minerHotkey &&
      e.randomness === r.randomness &&
      e.profile === r.profile &&
      sameTokens(e.promptTokens, r.promptTokens) &&
      sameWeights(e.version, version)
    return same ? e.verdict : null
  }
  const along = (params: readonly RolloutVerifierParameters[], upcoming?: UpcomingRollouts) => {
    const out: RolloutVerifierParameters[] = []
    let tokens = params.reduce((n, r) => n + tokenCount(r), 0)
    // Built one by one (a queued body may be decoded on first read): none once the batch is full.
    if (!upcoming || tokens >= p.maxBatchTokens) return out
    for (const next of upcoming(maxSubmissions)) {
      if (next.every((r) => typeof r.commit === 'object' && r.commit && early.has(r.commit)))
        continue
      const n = next.reduce((k, r) => k + tokenCount(r), 0)
      if (tokens + n > p.maxBatchTokens) break
      out.push(...next)
      tokens += n
      if (tokens >= p.maxBatchTokens) break
    }
    return out
  }
  return async (params, upcoming) => {
    const version = p.weights()
    const kept = params.map((r) => take(r, version))
    if (kept.every((v) => v !== null)) return kept as RolloutVerdict[]
    const extra = along(params, upcoming)
    const all = await p.verify([...params, ...extra])
    if (all.length !== params.length + extra.length)
      throw new ReliquaryError(
        'INVALID_ARGUMENT',
        `The batch verifier returned ${all.length} verdicts for ${params.length + extra.length} rollouts.`,
      )
    if (sameWeights(version, p.weights()))
      for (const [j, r] of extra.entries())
        if (typeof r.commit === 'object' && r.commit !== null)
          early.set(r.commit, { ...r, version, verdict: all[params.length + j]! })
    return all.slice(0, params.length)
  }
}
