import { isReliquaryError, ReliquaryError } from '../errors/base.js'
import { verifyCommitSignature } from '../crypto/commitSignature.js'
import { challengeIndices } from '../grail/challenge.js'
import type { HiddenInput } from '../grail/hidden.js'
import { verifySketchAsync, type VerifySketchReturnType } from '../grail/verifySketch.js'
import { DEFAULT_PROFILE, type ProtocolProfile, type RejectReason } from '../protocol/profiles.js'
import { parseCommit, type Commit } from '../protocol/schemas.js'
import {
  checkDistribution,
  checkLogprobs,
  checkTermination,
  type DistributionResult,
  type LogprobResult,
  type TerminationResult,
} from './checks.js'
import type { RolloutScores } from './scores.js'

/**
 * What `verifyRollout` needs from the validator's model: its limits, its EOS set, and one forward
 * pass per rollout returning the last-layer hidden rows at the requested positions and the
 * {@link RolloutScores} computed from the same pass's logits. The model runtime
 * (`reliquary/model`) provides one; any other runtime (ONNX, a remote worker) can too.
 */
export type RolloutEvaluator = {
  readonly vocabSize: number
  /** `max_position_embeddings` (the profile's fallback applies when undefined). */
  readonly maxPositions?: number | undefined
  readonly eosTokenIds: readonly number[]
  evaluate(
    tokens: readonly number[],
    options: { hiddenRows: readonly number[]; temperature: number },
  ): Promise<{ hidden: HiddenInput; scores: RolloutScores }>
  /**
   * Optional: many rollouts in as few forwards as the runtime can (results in request order, each
   * equal to what `evaluate` returns for that rollout). `verifyRollouts` uses it when present and
   * falls back to one `evaluate` per rollout otherwise.
   */
  evaluateBatch?(
    requests: readonly { tokens: readonly number[]; hiddenRows: readonly number[] }[],
    options: { temperature: number },
  ): Promise<{ hidden: HiddenInput; scores: RolloutScores }[]>
}

/** Parameters of {@link verifyRollout}. */
export type VerifyRolloutParameters = {
  /** The rollout's `commit` object as received (validated here: bad_schema). */
  commit: unknown
  /** The submitting miner's hotkey (SS58). */
  minerHotkey: string
  /** The validator's window randomness. */
  randomness: string
  /** Canonical prompt tokens of the problem (raw text encoding, no chat template, in E1-E3). */
  promptTokens: readonly number[]
  model: RolloutEvaluator
  profile?: ProtocolProfile | undefined
}

/** Verdict of {@link verifyRollout}. */
export type VerifyRolloutReturnType = {
  ok: boolean
  /** The first failing check's reject reason, or null. */
  reason: RejectReason | null
  /** Human-readable detail of the failure. */
  detail: string | null
  /** The parsed commit (when the schema passed). */
  commit: Commit | null
  grail: VerifySketchReturnType | null
  termination: TerminationResult | null
  logprob: LogprobResult | null
  distribution: DistributionResult | null
}

const empty = { commit: null, grail: null, termination: null, logprob: null, distribution: null }

/**
 * Runs the per-rollout checks of an E3 validator, in the reference order (docs/protocol.md §4.3
 * step 10): schema, token bounds and length, prompt binding, commit signature, randomness binding,
 * GRAIL proof, termination, logprob, distribution. Cheap checks come first; the model runs once,
 * only when they pass, and its logits feed every behavioural check.
 *
 * A rollout failing termination returns `reason: "bad_termination"` without running the logprob
 * and distribution checks: the group pipeline tolerates one such rollout per group
 * (`profile.checks.maxTruncatedPerGroup`), and the tolerated one skips those checks, as in the
 * reference.
 *
 * Never throws for bad input: every failure is a verdict.
 *
 * @example
 * ```ts
 * const v = await verifyRollout({ commit, minerHotkey, randomness, promptTokens, model })
 * if (!v.ok) console.log(v.reason, v.detail)
 * ```
 */
export async function verifyRollout(p: VerifyRolloutParameters): Promise<VerifyRolloutReturnType> {
  const pre = await precheck(p)
  if ('verdict' in pre) return pre.verdict
  const ev = await p.model.evaluate(pre.commit.tokens, {
    hiddenRows: pre.challenged,
    temperature: pre.profile.sampling.temperature,
  })
  return postcheck(p, pre, ev)
}

/** The cheap checks' outcome: a verdict, or what the model and the later checks need. */
type Precheck =
  | { verdict: VerifyRolloutReturnType }
  | { commit: Commit; profile: ProtocolProfile; challenged: number[] }

type Evaluation = { hidden: HiddenInput; scores: RolloutScores }

const reject = (
  reason: RejectReason,
  detail: string,
  rest: Partial<VerifyRolloutReturnType> = {},
): VerifyRolloutReturnType => ({ ...empty, ...rest, ok: false, reason, detail })

/** Schema, token bounds, prompt binding, signature, randomness; then the challenged rows. */
async function precheck(p: VerifyRolloutParameters): Promise<Precheck> {
  const profile = p.profile ?? DEFAULT_PROFILE
  const fail = (...a: Parameters<typeof reject>) => ({ verdict: reject(...a) })
  let commit: Commit
  try {
    commit = parseCommit(p.commit, { profile })
  } catch (e) {
    return fail(
      'bad_schema',
      isReliquaryError(e) ? (e.details ?? e.shortMessage) : 'invalid commit',
    )
  }
  const tokens = commit.tokens
  const maxPositions = p.model.maxPositions ?? profile.checks.maxPositionsFallback
  if (tokens.length > maxPositions)
    return fail(
      'bad_tokens',
      `${tokens.length} tokens exceed the model's ${maxPositions} positions`,
      { commit },
    )
  const badTok = tokens.findIndex((t) => t >= p.model.vocabSize)
  if (badTok >= 0)
    return fail(
      'bad_tokens',
      `token ${tokens[badTok]} at ${badTok} is outside the vocabulary (${p.model.vocabSize})`,
      { commit },
    )
  const P = commit.rollout.prompt_length
  if (
    P !== p.promptTokens.length ||
    P > tokens.length ||
    p.promptTokens.some((t, i) => tokens[i] !== t)
  ) {
    return fail(
      'prompt_mismatch',
      'tokens[:prompt_length] differ from the canonical prompt tokens',
      { commit },
    )
  }
  if (!(await verifyCommitSignature(commit, p.minerHotkey, { profile })))
    return fail('bad_signature', 'commit signature does not verify against the miner hotkey', {
      commit,
    })
  // E3 binds the miner's beacon to the window randomness by exact string; E1 had no such check.
  if (
    profile.rejectReasons.includes('wrong_randomness') &&
    commit.beacon.randomness !== p.randomness
  )
    return fail('wrong_randomness', 'beacon.randomness differs from the window randomness', {
      commit,
    })

  const challenged = challengeIndices({ tokens, randomness: p.randomness, profile })
  return { commit, profile, challenged }
}

/** GRAIL, termination, logprob and distribution on one forward's outputs. */
async function postcheck(
  p: VerifyRolloutParameters,
  pre: { commit: Commit; profile: ProtocolProfile },
  { hidden, scores }: Evaluation,
): Promise<VerifyRolloutReturnType> {
  const { commit, profile } = pre
  const tokens = commit.tokens
  const P = commit.rollout.prompt_length
  const fail = reject
  const grail = await verifySketchAsync({
    tokens,
    commitments: commit.commitments,
    randomness: p.randomness,
    hidden,
    hiddenRows: 'challenges',
    profile,
  })
  if (!grail.valid)
    return fail(
      'grail_fail',
      `${grail.passed}/${grail.checked} challenged positions within tolerance`,
      { commit, grail },
    )
  const shape = { tokens, promptLength: P, completionLength: commit.rollout.completion_length }
  const termination = checkTermination(shape, scores, p.model.eosTokenIds, { profile })
  if (!termination.ok)
    return fail('bad_termination', `no EOS termination (p_stop=${termination.eosProbability})`, {
      commit,
      grail,
      termination,
    })
  const logprob = checkLogprobs(
    { ...shape, tokenLogprobs: commit.rollout.token_logprobs },
    scores,
    p.randomness,
    { profile },
  )
  if (!logprob.ok)
    return fail(
      'logprob_mismatch',
      `median deviation ${logprob.medianDev} > ${profile.checks.logprobIsEps}`,
      { commit, grail, termination, logprob },
    )
  const distribution = checkDistribution(shape, scores, { profile })
  if (distribution.ok === false)
    return fail(
      'distribution_suspicious',
      `median ${distribution.metrics?.median}, q10 ${distribution.metrics?.q10}`,
      { commit, grail, termination, logprob, distribution },
    )
  return { ok: true, reason: null, detail: null, commit, grail, termination, logprob, distribution }
}

/** Parameters of {@link verifyRollouts}: one entry per rollout, all judged by one model. */
export type VerifyRolloutsParameters = {
  /** Each rollout's inputs, as for {@link verifyRollout} without `model` and `profile`. */
  rollouts: readonly Omit<VerifyRolloutParameters, 'model' | 'profile'>[]
  model: RolloutEvaluator
  profile?: ProtocolProfile | undefined
}

/**
 * {@link verifyRollout} for many rollouts with the model's forwards batched: the cheap checks
 * run per rollout, every rollout that passes them goes to one `model.evaluateBatch` call (or to
 * `model.evaluate` one by one when the evaluator has no batch method), then each rollout's GRAIL
 * and behavioural checks run on its own outputs. Verdicts come back in input order and each
 * equals what `verifyRollout` returns for that rollout (the evaluator's batch results equal its
 * per-rollout ones). Unlike a sequential caller that stops at the first rejection, every rollout
 * that passes the cheap checks is evaluated.
 *
 * Never throws for bad input; an evaluator error propagates (the caller could not judge).
 *
 * @example
 * ```ts
 * const verdicts = await verifyRollouts({ rollouts: group.map((r) => ({ commit: r.commit, minerHotkey, randomness, promptTokens })), model })
 * ```
 */
export async function verifyRollouts(
  p: VerifyRolloutsParameters,
): Promise<VerifyRolloutReturnType[]> {
  const each = p.rollouts.map((r) => ({ ...r, model: p.model, profile: p.profile }))
  const pres = await Promise.all(each.map(precheck))
  const live: { i: number; pre: Exclude<Precheck, { verdict: unknown }> }[] = []
  for (const [i, pre] of pres.entries()) if (!('verdict' in pre)) live.push({ i, pre })
  const temperature = (p.profile ?? DEFAULT_PROFILE).sampling.temperature
  const requests = live.map(({ pre }) => ({
    tokens: pre.commit.tokens,
    hiddenRows: pre.challenged,
  }))
  let evs: Evaluation[] = []
  if (p.model.evaluateBatch && requests.length > 0)
    evs = await p.model.evaluateBatch(requests, { temperature })
  else for (const r of requests) evs.push(await p.model.evaluate(r.tokens, { ...r, temperature }))
  if (evs.length !== requests.length)
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      `evaluateBatch returned ${evs.length} results for ${requests.length} rollouts.`,
    )
  const out = pres.map((pre) => ('verdict' in pre ? pre.verdict : null))
  for (const [j, { i, pre }] of live.entries()) out[i] = await postcheck(each[i]!, pre, evs[j]!)
  return out as VerifyRolloutReturnType[]
}
