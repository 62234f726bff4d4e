import { verifyEnvelope } from '../../crypto/envelope.js'
import { drandRoundAt } from '../../drand/round.js'
import type { RejectReason } from '../../protocol/profiles.js'
import { WIRE_LIMITS } from '../../protocol/schemas.js'
import { groupSigma, isInZone } from '../../reward/groups.js'
import type {
  AdmissionCheck,
  AdmissionConfig,
  AdmissionRequest,
  CheckFailure,
} from './admissionTypes.js'
import { rolloutHash } from '../seal/hashDedup.js'
import type { QuotaLedger } from './quotaLedger.js'
import type { WindowBatcher } from '../seal/windowBatcher.js'
import type { WindowPhase } from '../windowStateMachine.js'

/** What every check can read: the validator config, the parsed request, the batcher (if any). */
export type AdmissionContext = {
  readonly config: AdmissionConfig
  readonly request: AdmissionRequest
  readonly batcher: WindowBatcher | null
}

/** Context of the HTTP-handler checks. */
export type HandlerContext = AdmissionContext & {
  /** When the request reached the validator (unix seconds), stamped before body parsing. */
  readonly arrivalSeconds: number
  /** The validator's window phase. */
  readonly phase: WindowPhase
  /** Per-window quota and bad-envelope counters. */
  readonly ledger: QuotaLedger
}

/** Values the worker checks compute for the accept step (filled in order). */
export type WorkerScratch = {
  rolloutHashes: string[]
  completionTexts: string[]
  sigma: number
  sketchDiffMax: number | null
  lpDevMax: number | null
  distQ10Min: number | null
}

/** Context of the queue-worker checks. */
export type WorkerContext = AdmissionContext & {
  /** The batcher the submission was queued for. */
  readonly batcher: WindowBatcher
  /** The batcher active now (a different one means the window rolled over: `worker_dropped`). */
  readonly activeBatcher: WindowBatcher | null
  readonly arrivalSeconds: number | undefined
  /** When the worker processes the item (unix seconds), if known. */
  readonly nowSeconds: number | undefined
  readonly scratch: WorkerScratch
}

const fail = (
  reason: RejectReason,
  detail: string,
  extra: Omit<CheckFailure, 'reason' | 'detail'> = {},
): CheckFailure => ({ reason, detail, ...extra })

/** The round a request is ordered by: E3 `drand_round`, E1 `signed_round`. @internal */
export function requestRound(r: AdmissionRequest): number {
  return 'drand_round' in r ? r.drand_round : r.signed_round
}

function own(o: unknown, key: string): unknown {
  return typeof o === 'object' && o !== null && !Array.isArray(o) && Object.hasOwn(o, key)
    ? (o as Record<string, unknown>)[key]
    : undefined
}

const NO_BATCHER = fail('window_not_active', 'no_active_window', { httpStatus: 503 })

// ------------------------------------------------------------------------------------------------
// HTTP-handler checks (E3 order, PROTOCOL.md §4.3 handler steps 1-12)
// ------------------------------------------------------------------------------------------------

/**
 * E3 step 1: the envelope signature over (hotkey, window, prompt, merkle root, checkpoint, drand
 * round, the validator's randomness, nonce). Failing answers `Connection: close`, does not consume
 * quota, and is written to `/verdicts` at most `window.maxBadEnvelopeVerdicts` times per hotkey per
 * window. Skipped when `window.envelopeSignature` is off.
 */
export const checkEnvelope: AdmissionCheck<HandlerContext> = {
  id: 'envelope',
  run: async (ctx) => {
    const { profile } = ctx.config
    if (!profile.window.envelopeSignature) return null
    const r = ctx.request
    const ok =
      'drand_round' in r &&
      (await verifyEnvelope(
        {
          minerHotkey: r.miner_hotkey,
          windowStart: r.window_start,
          promptIdx: r.prompt_idx,
          merkleRoot: r.merkle_root,
          checkpointHash: r.checkpoint_hash,
          drandRound: r.drand_round,
          randomness: ctx.batcher?.randomness ?? '',
          nonce: r.nonce,
        },
        r.envelope_signature,
      ))
    if (ok) return null
    const recordVerdict = ctx.ledger.noteBadEnvelope(
      r.miner_hotkey,
      profile.window.maxBadEnvelopeVerdicts,
    )
    return fail(
      'bad_envelope_signature',
      'envelope signature does not verify against miner_hotkey and the window randomness',
      { closeConnection: true, recordVerdict },
    )
  },
}

/** E3 step 2: per-hotkey quota per window; consumed by every request that gets this far. */
export const checkRateLimit: AdmissionCheck<HandlerContext> = {
  id: 'rate_limit',
  run: (ctx) => {
    const max = ctx.config.profile.window.maxSubmissionsPerHotkey
    return ctx.ledger.consume(ctx.request.miner_hotkey, max)
      ? null
      : fail('rate_limited', `hotkey already used its ${max} submissions this window`)
  },
}

/** E3 step 3: the validator must be in the `open` phase (`window_not_active`, HTTP 200). */
export const checkWindowState: AdmissionCheck<HandlerContext> = {
  id: 'window_state',
  run: (ctx) =>
    ctx.phase === 'open' ? null : fail('window_not_active', `validator state is ${ctx.phase}`),
}

/** E3 step 4: a batcher must be active (the reference answers HTTP 503 `no_active_window`). */
export const checkActiveWindow: AdmissionCheck<HandlerContext> = {
  id: 'active_window',
  run: (ctx) => (ctx.batcher ? null : NO_BATCHER),
}

function windowMatch(httpStatus: 200 | 409): AdmissionCheck<AdmissionContext> {
  return {
    id: 'window_match',
    run: (ctx) => {
      const b = ctx.batcher
      if (!b) return NO_BATCHER
      return ctx.request.window_start === b.windowStart
        ? null
        : fail(
            'window_mismatch',
            `window_start ${ctx.request.window_start} is not the active window ${b.windowStart}`,
            { httpStatus },
          )
    },
  }
}

/** E3 step 5 (handler): `window_start` must be the active window; the reference answers HTTP 409. */
export const checkWindowMatchHttp: AdmissionCheck<AdmissionContext> = /*#__PURE__*/ windowMatch(409)
/** Worker step 2: `window_start` must be the batcher's window (`window_mismatch` verdict). */
export const checkWindowMatch: AdmissionCheck<AdmissionContext> = /*#__PURE__*/ windowMatch(200)

/** E3 step 6 / worker pre-check: the window already sealed (`batch_filled`). */
export const checkSealed: AdmissionCheck<AdmissionContext> = {
  id: 'sealed',
  run: (ctx) => {
    const b = ctx.batcher
    if (!b) return NO_BATCHER
    return b.isClosed ? fail('batch_filled', `window ${b.windowStart} is sealed`) : null
  },
}

/** E3 step 7 / worker step 3: `checkpoint_hash` must equal the current revision (gate off while it is `""`). */
export const checkCheckpoint: AdmissionCheck<AdmissionContext> = {
  id: 'checkpoint',
  run: (ctx) => {
    const b = ctx.batcher
    if (!b) return NO_BATCHER
    if (b.checkpointHash === '' || ctx.request.checkpoint_hash === b.checkpointHash) return null
    return fail('wrong_checkpoint', 'checkpoint_hash is not the current checkpoint revision')
  },
}

/**
 * E3 step 8: the drand gate on the arrival time. With `cur = 1 + (t_arrival − genesis) // period`,
 * `drand_round > cur` is `future_round` and `drand_round < cur − window.drandBackwardTolerance` is
 * `stale_round`. Decided only here, never in the worker.
 */
export const checkDrandRound: AdmissionCheck<HandlerContext> = {
  id: 'drand_round',
  run: (ctx) => {
    const { drand, profile } = ctx.config
    const round = requestRound(ctx.request)
    const cur = drandRoundAt(ctx.arrivalSeconds, {
      genesisTime: drand.genesisTime,
      periodSeconds: drand.periodSeconds,
    })
    if (round > cur)
      return fail('future_round', `drand_round ${round} is after the arrival round ${cur}`)
    const tol = profile.window.drandBackwardTolerance
    if (round < cur - tol)
      return fail(
        'stale_round',
        `drand_round ${round} is older than the arrival round ${cur} minus tolerance ${tol}`,
      )
    return null
  },
}

/** E3 step 9 / worker step 1: once the seal trigger round R is known, rounds after R get `batch_filled`. */
export const checkSealTrigger: AdmissionCheck<AdmissionContext> = {
  id: 'seal_trigger',
  run: (ctx) => {
    const b = ctx.batcher
    if (!b) return NO_BATCHER
    const trigger = b.sealTriggerRound
    const round = requestRound(ctx.request)
    return trigger !== null && round > trigger
      ? fail('batch_filled', `drand_round ${round} is after the seal trigger round ${trigger}`)
      : null
  },
}

/** E3 step 10 / worker step 4: `prompt_idx` must index the environment. */
export const checkPromptIdx: AdmissionCheck<AdmissionContext> = {
  id: 'prompt_idx',
  run: (ctx) => {
    const size = ctx.config.environment.size
    return ctx.request.prompt_idx < size
      ? null
      : fail('bad_prompt_idx', `prompt_idx ${ctx.request.prompt_idx} ≥ environment size ${size}`)
  },
}

/** E3 step 11 / worker step 5: the prompt must not be in cooldown. */
export const checkCooldown: AdmissionCheck<AdmissionContext> = {
  id: 'cooldown',
  run: (ctx) => {
    const b = ctx.batcher
    if (!b) return NO_BATCHER
    return b.isInCooldown(ctx.request.prompt_idx)
      ? fail('prompt_in_cooldown', `prompt ${ctx.request.prompt_idx} is in cooldown`)
      : null
  },
}

/** E3 step 12 / worker step 6: at most `window.maxSubmissionsPerPrompt` valid submissions per prompt (0 = no cap). */
export const checkPromptFull: AdmissionCheck<AdmissionContext> = {
  id: 'prompt_full',
  run: (ctx) => {
    const b = ctx.batcher
    if (!b) return NO_BATCHER
    const max = ctx.config.profile.window.maxSubmissionsPerPrompt
    const n = b.promptSubmissionCount(ctx.request.prompt_idx)
    return max > 0 && n >= max
      ? fail('prompt_full', `prompt ${ctx.request.prompt_idx} already has ${n} valid submissions`)
      : null
  },
}

// ------------------------------------------------------------------------------------------------
// Worker checks (E3 order, PROTOCOL.md §4.3 worker steps)
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
 * Worker step 10: the per-rollout checks, rollout by rollout, through the injected verifier
 * (schema, tokens, prompt binding, signature, randomness, GRAIL, termination, logprob,
 * distribution). Up to `checks.maxTruncatedPerGroup` rollouts failing termination are tolerated
 * (they skip logprob and distribution); the next one is `bad_termination`. A verifier that throws
 * gives `worker_dropped` (the validator could not judge the submission).
 */
export const checkRollouts: AdmissionCheck<WorkerContext> = {
  id: 'rollouts',
  run: async (ctx) => {
    const { profile, verifyRollout, promptTokens } = ctx.config
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
    let truncated = 0
    for (let i = 0; i < ctx.request.rollouts.length; i++) {
      let v
      try {
        v = await verifyRollout({
          commit: ctx.request.rollouts[i]!.commit,
          minerHotkey: ctx.request.miner_hotkey,
          randomness: ctx.batcher.randomness,
          promptTokens: canonical,
          profile,
        })
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
// E1 (legacy) worker checks, PROTOCOL.md §4.1
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

// ------------------------------------------------------------------------------------------------
// Ordered lists
// ------------------------------------------------------------------------------------------------

/** The E3 `/submit` handler checks, in the reference order (PROTOCOL.md §4.3 handler steps 1–12). */
export const E3_HANDLER_CHECKS: readonly AdmissionCheck<HandlerContext>[] =
  /*#__PURE__*/ Object.freeze([
    checkEnvelope,
    checkRateLimit,
    checkWindowState,
    checkActiveWindow,
    checkWindowMatchHttp,
    checkSealed,
    checkCheckpoint,
    checkDrandRound,
    checkSealTrigger,
    checkPromptIdx,
    checkCooldown,
    checkPromptFull,
  ])

/**
 * The E3 worker checks, in the reference order: the server worker's window and seal checks, then
 * `_accept_locked` steps 1–10 (PROTOCOL.md §4.3). Everything before `rollouts` is cheap; the model
 * runs only inside the rollout verifier.
 */
export const E3_WORKER_CHECKS: readonly AdmissionCheck<WorkerContext>[] =
  /*#__PURE__*/ Object.freeze([
    checkBatcherActive,
    checkSealed,
    checkSealTrigger,
    checkWindowMatch,
    checkCheckpoint,
    checkPromptIdx,
    checkCooldown,
    checkPromptFull,
    checkHashDuplicate,
    checkReward,
    checkZone,
    checkRollouts,
  ])

/** The E1 `/submit` handler checks (PROTOCOL.md §4.1): state, active window (503), window (409); then a provisional `accepted`. */
export const E1_HANDLER_CHECKS: readonly AdmissionCheck<HandlerContext>[] =
  /*#__PURE__*/ Object.freeze([checkWindowState, checkActiveWindow, checkWindowMatchHttp])

/** The E1 worker checks (`_accept_locked` at 59b4718, PROTOCOL.md §4.1 steps 1–9). */
export const E1_WORKER_CHECKS: readonly AdmissionCheck<WorkerContext>[] =
  /*#__PURE__*/ Object.freeze([
    checkBatcherActive,
    checkWindowMatch,
    checkCheckpoint,
    checkPromptIdx,
    checkSignedRound,
    checkCooldown,
    checkSuperseded,
    checkReward,
    checkZone,
    checkRollouts,
  ])
