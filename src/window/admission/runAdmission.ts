import type * as z from 'zod'
import type { ProtocolProfile } from '../../protocol/profiles.js'
import { parseWire, submitRequestSchema } from '../../protocol/schemas.js'
import {
  E1_HANDLER_CHECKS,
  E1_WORKER_CHECKS,
  E3_HANDLER_CHECKS,
  E3_WORKER_CHECKS,
} from './admissionChecks.js'
import type { HandlerContext, WorkerContext } from './admissionContext.js'
import { requestRound } from './_checkHelpers.js'
import { checkRegistered } from './handlerChecks.js'
import { checkHotkeyRepeat, findHotkeyRepeat } from './checkHotkeyRepeat.js'
import type {
  AdmissionAccept,
  AdmissionCheck,
  AdmissionCheckId,
  AdmissionReject,
  AdmissionRequest,
  AdmissionStage,
  AdmissionVerdict,
  CheckFailure,
} from './admissionTypes.js'
import type { ValidSubmission } from '../seal/validSubmission.js'
import { describeError } from '../../_utils/describeError.js'

const schemaCache = new WeakMap<ProtocolProfile, z.ZodType>()

function requestSchema(profile: ProtocolProfile): z.ZodType {
  let s = schemaCache.get(profile)
  if (!s) {
    s = submitRequestSchema(profile)
    schemaCache.set(profile, s)
  }
  return s
}

function stamp(f: CheckFailure, stage: AdmissionStage, check: AdmissionCheckId): AdmissionReject {
  return Object.freeze({
    accepted: false,
    reason: f.reason,
    stage,
    check,
    detail: f.detail,
    refusal: f.refusal ?? null,
    recordVerdict: f.recordVerdict ?? true,
  })
}

/** A thrown error as a verdict detail, at most 500 characters (it may quote a hostile body). */
const describe = (e: unknown): string => describeError(e, 500)

/** Result of {@link parseSubmission}. */
export type ParseSubmissionReturnType =
  | { ok: true; request: AdmissionRequest }
  | { ok: false; reject: AdmissionReject }

/**
 * The parse step of admission: the profile's strict `/submit` schema (unknown fields, a wrong
 * rollout count, non-finite rewards and oversized bodies all fail). Never throws: at the handler a
 * failure refuses the request (`reason: 'bad_schema'`, `refusal: 'malformed'`, as the reference's
 * pydantic layer answers), at the worker it is a `bad_schema` verdict.
 *
 * - Spec: docs/protocol.md §3.1, §4.3 step 0.
 *
 * @param body - A JSON string, UTF-8 bytes, or an already-parsed value.
 * @param options - `profile` (request layout); `stage` decides the failure form. `maxBytes` bounds text bodies.
 * @returns `{ ok: true, request }` or `{ ok: false, reject }`.
 * @example
 * ```ts
 * import { parseSubmission } from 'reliquary/window'
 * const r = parseSubmission('{"nope":1}', { stage: 'handler' })
 * r.ok || r.reject.refusal // 'malformed'
 * ```
 */
export function parseSubmission(
  body: unknown,
  options: { profile: ProtocolProfile; stage: AdmissionStage; maxBytes?: number | undefined },
): ParseSubmissionReturnType {
  try {
    const request = parseWire(requestSchema(options.profile), body, 'submit request', {
      maxBytes: options.maxBytes,
    }) as AdmissionRequest
    return { ok: true, request }
  } catch (e) {
    return {
      ok: false,
      reject: stamp(
        {
          reason: 'bad_schema',
          detail: describe(e),
          refusal: options.stage === 'handler' ? 'malformed' : undefined,
        },
        options.stage,
        'parse',
      ),
    }
  }
}

/**
 * Runs checks in order; the first failure wins. A check that throws unexpectedly (a validator-side
 * fault, never a property of the submission) becomes a `worker_dropped` reject from check
 * `internal` (refused as `internal` at the handler). Synchronous checks run without yielding.
 *
 * @param checks - Ordered checks.
 * @param ctx - Their context.
 * @param stage - Stamped on the reject.
 * @returns The first reject, or `null` when every check passed.
 */
export async function runChecks<C>(
  checks: readonly AdmissionCheck<C>[],
  ctx: C,
  stage: AdmissionStage,
): Promise<AdmissionReject | null> {
  for (const c of checks) {
    let out: CheckFailure | null
    try {
      const r = c.run(ctx)
      out =
        r !== null && typeof (r as Promise<unknown>).then === 'function'
          ? await r
          : (r as CheckFailure | null)
    } catch (e) {
      return stamp(
        {
          reason: 'worker_dropped',
          detail: `check ${c.id} failed: ${describe(e)}`,
          refusal: stage === 'handler' ? 'internal' : undefined,
        },
        stage,
        'internal',
      )
    }
    if (out) return stamp(out, stage, c.id)
  }
  return null
}

/**
 * The checks of a profile: E3 (`window.ordering = 'drand_round'`) or legacy E1 (`'signed_round'`),
 * plus `hotkey_repeat` when the profile's `hardening.dedupeRepeats` option is on (§4.5).
 *
 * @param profile - The protocol profile.
 * @returns `{ handler, worker }`, each in the reference order.
 */
export function admissionChecksFor(profile: ProtocolProfile): {
  handler: readonly AdmissionCheck<HandlerContext>[]
  worker: readonly AdmissionCheck<WorkerContext>[]
} {
  const lists =
    profile.window.ordering === 'drand_round'
      ? { handler: E3_HANDLER_CHECKS, worker: E3_WORKER_CHECKS }
      : { handler: E1_HANDLER_CHECKS, worker: E1_WORKER_CHECKS }
  if (!profile.hardening.dedupeRepeats) return lists
  // Hardening option (§4.5): after the hash step in E3, after tokens_match in E1.
  const after = lists.worker.findIndex((c) => c.id === 'hash_duplicate')
  const at = (after >= 0 ? after : lists.worker.findIndex((c) => c.id === 'tokens_match')) + 1
  return {
    handler: lists.handler,
    worker: [...lists.worker.slice(0, at), checkHotkeyRepeat, ...lists.worker.slice(at)],
  }
}

/** The handler list with the registration check after the envelope (first in E1) when a registry is configured. */
function withRegistration(
  list: readonly AdmissionCheck<HandlerContext>[],
  ctx: HandlerContext,
): readonly AdmissionCheck<HandlerContext>[] {
  if (ctx.config.isRegistered === undefined) return list
  const at = list.findIndex((c) => c.id === 'envelope') + 1
  return [...list.slice(0, at), checkRegistered, ...list.slice(at)]
}

/**
 * Runs the handler stage on a parsed request. When every check passes the answer is
 * `{accepted: true, reason: 'submitted'}` (E3: queued, the real verdict comes from the worker) or a
 * provisional `accepted` (E1). The caller enqueues it. Never throws.
 *
 * - Spec: docs/protocol.md §4.3 (E3 handler), §4.1 (E1 handler).
 *
 * @param ctx - {@link HandlerContext}
 * @param checks - @default admissionChecksFor(ctx.config.profile).handler
 * @returns An {@link AdmissionVerdict}.
 */
export async function runHandlerStage(
  ctx: HandlerContext,
  checks?: readonly AdmissionCheck<HandlerContext>[],
): Promise<AdmissionVerdict> {
  const reject = await runChecks(
    checks ?? withRegistration(admissionChecksFor(ctx.config.profile).handler, ctx),
    ctx,
    'handler',
  )
  if (reject) return reject
  const e3 = ctx.config.profile.window.ordering === 'drand_round'
  return Object.freeze({
    accepted: true,
    reason: e3 ? 'submitted' : 'accepted',
    stage: 'handler',
    check: 'enqueue',
    detail: e3
      ? 'queued for verification; the verdict is reported through /verdicts'
      : 'queued (provisional verdict)',
    refusal: null,
    recordVerdict: false,
    submission: undefined,
  } satisfies AdmissionAccept)
}

/**
 * Runs the worker stage on a queued request: every check in order (cheap ones first, the model
 * last), then records the submission as valid in the batcher (which may set the E3 seal trigger).
 * Rejects after the window/seal pre-checks are counted in the batcher's reject diagnostics. Never
 * throws.
 *
 * - Spec: docs/protocol.md §4.3 (E3 worker), §4.1 (E1 worker).
 *
 * @param ctx - {@link WorkerContext} (a fresh `scratch`).
 * @param checks - @default admissionChecksFor(ctx.config.profile).worker
 * @returns An {@link AdmissionVerdict} carrying the {@link ValidSubmission} on accept.
 */
export async function runWorkerStage(
  ctx: WorkerContext,
  checks?: readonly AdmissionCheck<WorkerContext>[],
): Promise<AdmissionVerdict<ValidSubmission>> {
  const reject = await runChecks(
    checks ?? admissionChecksFor(ctx.config.profile).worker,
    ctx,
    'worker',
  )
  const r = ctx.request
  if (reject) {
    if (
      reject.check !== 'batcher_active' &&
      reject.check !== 'sealed' &&
      reject.check !== 'internal'
    ) {
      ctx.batcher.recordReject({
        hotkey: r.miner_hotkey,
        promptIdx: r.prompt_idx,
        reason: reject.reason,
        sketchDiffMax: ctx.scratch.sketchDiffMax,
        lpDevMax: ctx.scratch.lpDevMax,
        distQ10Min: ctx.scratch.distQ10Min,
      })
    }
    return reject
  }
  // The rollout verifier is asynchronous: the window may have been sealed meanwhile.
  if (ctx.batcher.isSealed || ctx.activeBatcher !== ctx.batcher) {
    const filled = ctx.batcher.isSealed && ctx.config.profile.rejectReasons.includes('batch_filled')
    return stamp(
      {
        reason: filled ? 'batch_filled' : 'worker_dropped',
        detail: `window ${ctx.batcher.windowStart} closed during verification`,
      },
      'worker',
      'accept',
    )
  }
  const repeat = findHotkeyRepeat(ctx)
  if (repeat) return stamp(repeat, 'worker', 'hotkey_repeat')
  const e3 = 'drand_round' in r
  const s = ctx.scratch
  const submission: ValidSubmission = Object.freeze({
    hotkey: r.miner_hotkey,
    promptIdx: r.prompt_idx,
    merkleRoot: r.merkle_root,
    ...(e3 ? { drandRound: requestRound(r) } : { signedRound: requestRound(r) }),
    sigma: s.sigma,
    rollouts: r.rollouts,
    completionTexts: s.completionTexts,
    rolloutHashes: s.rolloutHashes,
    claimedCheckpointHash: r.checkpoint_hash,
    arrivalSeconds: ctx.arrivalSeconds,
    acceptedAtSeconds: ctx.nowSeconds,
    sketchDiffMax: s.sketchDiffMax,
    lpDevMax: s.lpDevMax,
    distQ10Min: s.distQ10Min,
  })
  try {
    ctx.batcher.recordValid(submission, { nowSeconds: ctx.nowSeconds })
  } catch (e) {
    return stamp(
      { reason: 'worker_dropped', detail: `could not record: ${describe(e)}` },
      'worker',
      'internal',
    )
  }
  return Object.freeze({
    accepted: true,
    reason: 'accepted',
    stage: 'worker',
    check: 'accept',
    detail: 'valid submission recorded',
    refusal: null,
    recordVerdict: true,
    submission,
  } satisfies AdmissionAccept<ValidSubmission>)
}

/** A fresh {@link WorkerScratch} for {@link runWorkerStage}. */
export function newWorkerScratch(): WorkerContext['scratch'] {
  return {
    rolloutHashes: [],
    completionTexts: [],
    sigma: 0,
    sketchDiffMax: null,
    lpDevMax: null,
    distQ10Min: null,
  }
}
