import type { ProtocolProfile, RejectReason } from '../../protocol/profiles.js'
import type { WindowBatcher } from '../seal/windowBatcher.js'
import { drandRoundAt } from '../../drand/round.js'
import { WIRE_LIMITS } from '../../protocol/schemas.js'
import { groupSigma, isInZone } from '../../reward/groups.js'
import { rolloutHash } from '../seal/hashDedup.js'
import type { WorkerContext } from './admissionContext.js'
import type {
  AdmissionCheck,
  AdmissionConfig,
  AdmissionRequest,
  RolloutVerdict,
  RolloutVerifierParameters,
} from './admissionTypes.js'
import { fail, own, requestRound } from './_checkHelpers.js'

// ------------------------------------------------------------------------------------------------
// Worker checks (E3 order, docs/protocol.md §4.3 worker steps)
// ------------------------------------------------------------------------------------------------

/** Worker pre-check: the window the item was queued for must still be the active one (`worker_dropped`). */
export const checkBatcherActive: AdmissionCheck<WorkerContext> = {
  id: 'batcher_active',
  run: (ctx) =>
    ctx.activeBatcher === ctx.batcher
      ? null
      : fail('worker_dropped', `window ${ctx.batcher.windowStart} is no longer active`),
}

function commitTokens(commit: unknown): number[] | string {
  const t = own(commit, 'tokens')
  if (!Array.isArray(t)) return 'commit.tokens is not an array'
  if (t.length > WIRE_LIMITS.maxTokensPerRollout)
    return `commit.tokens has ${t.length} entries (limit ${WIRE_LIMITS.maxTokensPerRollout})`
  for (let i = 0; i < t.length; i++) {
    const x = t[i]
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x > 0xffffffff)
      return `commit.tokens[${i}] is not a token id`
  }
  return t as number[]
}

/**
 * Worker step 7: each rollout's hash (SHA-256 over the BE32 ids of `commit.tokens`, as the
 * reference computes it) must be unique within the group and unknown to the cross-window dedup.
 * A commit whose `tokens` cannot be hashed is `bad_schema` (the reference raises there).
 */
export const checkHashDuplicate: AdmissionCheck<WorkerContext> = {
  id: 'hash_duplicate',
  run: (ctx) => {
    const seen = new Set<string>()
    const hashes: string[] = []
    for (let i = 0; i < ctx.request.rollouts.length; i++) {
      const tokens = commitTokens(ctx.request.rollouts[i]!.commit)
      if (typeof tokens === 'string') return fail('bad_schema', `rollout ${i}: ${tokens}`)
      const h = rolloutHash(tokens)
      if (seen.has(h))
        return fail('hash_duplicate', `rollout ${i} repeats an earlier rollout of the group`)
      if (ctx.batcher.hashDedup.has(h))
        return fail('hash_duplicate', `rollout ${i} repeats a rollout of an earlier winning prompt`)
      seen.add(h)
      hashes.push(h)
    }
    ctx.scratch.rolloutHashes = hashes
    return null
  },
}

function promptLengthOf(commit: unknown): number | string {
  const rollout = own(commit, 'rollout')
  if (rollout === undefined) return 0
  if (typeof rollout !== 'object' || rollout === null || Array.isArray(rollout))
    return 'commit.rollout is not an object'
  const pl = own(rollout, 'prompt_length')
  if (pl === undefined) return 0
  if (typeof pl !== 'number' || !Number.isSafeInteger(pl) || pl < 0)
    return 'commit.rollout.prompt_length is not a non-negative integer'
  return pl
}

/**
 * Worker step 8: recompute each reward with the environment on
 * `decode(rollout.tokens[prompt_length:])`, the OUTER tokens, as E1–E3 do, and require
 * `|actual − claimed| ≤ checks.rewardTolerance`. A decode or reward exception is a mismatch.
 */
export const checkReward: AdmissionCheck<WorkerContext> = {
  id: 'reward',
  run: (ctx) => {
    const { environment, decode, profile } = ctx.config
    const problem = environment.getProblem(ctx.request.prompt_idx)
    const texts: string[] = []
    for (let i = 0; i < ctx.request.rollouts.length; i++) {
      const r = ctx.request.rollouts[i]!
      const pl = promptLengthOf(r.commit)
      if (typeof pl === 'string') return fail('bad_schema', `rollout ${i}: ${pl}`)
      let text: string
      let actual: number
      try {
        text = decode(r.tokens.slice(pl))
        actual = environment.computeReward(problem, text)
      } catch {
        return fail('reward_mismatch', `rollout ${i}: the reward could not be recomputed`)
      }
      if (
        typeof text !== 'string' ||
        typeof actual !== 'number' ||
        !(Math.abs(actual - r.reward) <= profile.checks.rewardTolerance)
      ) {
        return fail(
          'reward_mismatch',
          `rollout ${i}: claimed reward ${r.reward}, recomputed ${String(actual)}`,
        )
      }
      texts.push(text)
    }
    ctx.scratch.completionTexts = texts
    return null
  },
}

/** Worker step 9: σ of the claimed rewards must be in the zone (bootstrap threshold per window). */
export const checkZone: AdmissionCheck<WorkerContext> = {
  id: 'zone',
  run: (ctx) => {
    const sigma = groupSigma(ctx.request.rollouts.map((r) => r.reward))
    ctx.scratch.sigma = sigma
    return isInZone(sigma, { bootstrap: ctx.batcher.bootstrap, profile: ctx.config.profile })
      ? null
      : fail(
          'out_of_zone',
          `σ = ${sigma} is below the ${ctx.batcher.bootstrap ? 'bootstrap ' : ''}zone threshold`,
        )
  },
}

/**
 * The per-rollout verifier's parameters for every rollout of a request (worker step 10).
 * @param request - The parsed request.
 * @param batcher - The window it was queued for (its randomness).
 * @param canonical - The canonical prompt tokens of `request.prompt_idx`.
 * @param profile - The validator's profile.
 */
export function rolloutParameters(
  request: AdmissionRequest,
  batcher: WindowBatcher,
  canonical: readonly number[],
  profile: ProtocolProfile,
): RolloutVerifierParameters[] {
  return request.rollouts.map((r) => ({
    commit: r.commit,
    minerHotkey: request.miner_hotkey,
    randomness: batcher.randomness,
    promptTokens: canonical,
    profile,
  }))
}

/**
 * The {@link rolloutParameters} of up to `max` queued submissions, from `queue[from]` on, that
 * were queued for `active` (others will be dropped), one per step of the iteration, skipping any
 * whose canonical prompt tokens or rollouts cannot be read (a request whose rollouts a parsing
 * thread left encoded decodes them on first read, so a consumer that stops early decodes no more;
 * one that cannot be read fails in its own worker stage).
 * @param config - The pipeline's config.
 * @param queue - The pipeline's queue (freed slots may be undefined).
 * @param from - The first slot to read.
 * @param active - The active window's batcher.
 * @param max - Most submissions to return.
 */
export function* queuedRollouts(
  config: AdmissionConfig,
  queue: readonly ({ request: AdmissionRequest; batcher: WindowBatcher } | undefined)[],
  from: number,
  active: WindowBatcher | null,
  max: number,
): Generator<RolloutVerifierParameters[], void, undefined> {
  let given = 0
  for (let i = from; i < queue.length && given < max; i++) {
    const item = queue[i]
    if (!item || item.batcher !== active) continue
    let params: RolloutVerifierParameters[]
    try {
      const canonical = config.promptTokens(item.request.prompt_idx)
      params = rolloutParameters(item.request, item.batcher, canonical, config.profile)
    } catch {
      // Its own worker stage fails it in turn; a look ahead never fails the item being judged.
      continue
    }
    given++
    yield params
  }
}

/**
 * Worker step 10: the per-rollout checks, rollout by rollout, through the injected verifier
 * (schema, tokens, prompt binding, signature, randomness, GRAIL, termination, logprob,
 * distribution). Up to `checks.maxTruncatedPerGroup` rollouts failing termination are tolerated
 * (they skip logprob and distribution); the next one is `bad_termination`. A verifier that throws
 * gives `worker_dropped` (the validator could not judge the submission). With a batch verifier
 * (`config.verifyRollouts`) every rollout is judged in one call and the verdicts are read in the
 * same order, so the outcome is the same.
 */
export const checkRollouts: AdmissionCheck<WorkerContext> = {
  id: 'rollouts',
  run: async (ctx) => {
    const { profile, verifyRollout, verifyRollouts, promptTokens } = ctx.config
    const s = ctx.scratch
    let canonical: readonly number[]
    try {
      canonical = promptTokens(ctx.request.prompt_idx)
    } catch (e) {
      return fail(
        'worker_dropped',
        `canonical prompt tokens unavailable: ${e instanceof Error ? e.message : String(e)}`,
      )
    }
    const params = rolloutParameters(ctx.request, ctx.batcher, canonical, profile)
    let all: readonly RolloutVerdict[] | undefined
    if (verifyRollouts)
      try {
        all = await verifyRollouts(params, ctx.upcoming)
        if (!Array.isArray(all) || all.length !== params.length)
          return fail('worker_dropped', 'batch verifier returned a wrong number of verdicts')
      } catch (e) {
        return fail(
          'worker_dropped',
          `verifier error: ${e instanceof Error ? e.message : String(e)}`,
        )
      }
    let truncated = 0
    for (let i = 0; i < ctx.request.rollouts.length; i++) {
      let v: RolloutVerdict
      try {
        v = all ? all[i]! : await verifyRollout(params[i]!)
      } catch (e) {
        return fail(
          'worker_dropped',
          `rollout ${i}: verifier error: ${e instanceof Error ? e.message : String(e)}`,
        )
      }
      if (typeof v !== 'object' || v === null)
        return fail('worker_dropped', `rollout ${i}: verifier returned no verdict`)
      const sd = v.grail?.sketchDiffMax
      if (typeof sd === 'number' && Number.isFinite(sd))
        s.sketchDiffMax = Math.max(s.sketchDiffMax ?? 0, sd)
      const lp = v.logprob?.medianDev
      if (typeof lp === 'number' && Number.isFinite(lp))
        s.lpDevMax = s.lpDevMax === null ? lp : Math.max(s.lpDevMax, lp)
      const q10 = v.distribution?.metrics?.q10
      if (typeof q10 === 'number' && Number.isFinite(q10))
        s.distQ10Min = s.distQ10Min === null ? q10 : Math.min(s.distQ10Min, q10)
      if (v.ok === true) continue
      const reason: RejectReason =
        v.reason !== null && profile.rejectReasons.includes(v.reason) ? v.reason : 'grail_fail'
      const detail = `rollout ${i}: ${typeof v.detail === 'string' ? v.detail : reason}`
      if (reason === 'bad_termination' && ++truncated <= profile.checks.maxTruncatedPerGroup)
        continue
      return fail(reason, detail)
    }
    return null
  },
}

// ------------------------------------------------------------------------------------------------
// E1 (legacy) worker checks, docs/protocol.md §4.1
// ------------------------------------------------------------------------------------------------

/**
 * E1 worker step 4: the miner-claimed `signed_round` may not be ahead of the live drand round and
 * at most `window.staleRoundLagMax` rounds behind it (`stale_round`). The live round is taken at the
 * worker's `nowSeconds` (falling back to the arrival time).
 */
export const checkSignedRound: AdmissionCheck<WorkerContext> = {
  id: 'signed_round',
  run: (ctx) => {
    const t = ctx.nowSeconds ?? ctx.arrivalSeconds
    if (t === undefined) return null
    const { drand, profile } = ctx.config
    const cur = drandRoundAt(t, {
      genesisTime: drand.genesisTime,
      periodSeconds: drand.periodSeconds,
    })
    const round = requestRound(ctx.request)
    if (round > cur || cur - round > profile.window.staleRoundLagMax)
      return fail(
        'stale_round',
        `signed_round ${round} vs live round ${cur} (lag limit ${profile.window.staleRoundLagMax})`,
      )
    return null
  },
}

/** E1 worker step 6: an incumbent valid submission on this prompt with `signed_round ≤` this one's wins (`superseded`). */
export const checkSuperseded: AdmissionCheck<WorkerContext> = {
  id: 'superseded',
  run: (ctx) => {
    const round = requestRound(ctx.request)
    for (const s of ctx.batcher.validSubmissions()) {
      if (
        s.promptIdx === ctx.request.prompt_idx &&
        (s.signedRound ?? Number.POSITIVE_INFINITY) <= round
      ) {
        return fail(
          'superseded',
          `prompt ${ctx.request.prompt_idx} already has a valid submission with signed_round ${s.signedRound}`,
        )
      }
    }
    return null
  },
}
