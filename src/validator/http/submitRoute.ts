import type { IncomingMessage } from 'node:http'
import type * as z from 'zod'
import type { AdmissionPipeline } from '../../window/admission/admissionPipeline.js'
import type { AdmissionReject } from '../../window/admission/admissionTypes.js'
import { prepareSubmit, type PreparedSubmit } from './_prepareSubmit.js'
import { fastApiDetail } from './_fastapiDetail.js'
import type { SubmissionEvent } from './createValidatorServer.js'
import type { PendingSubmissions } from './_pendingSubmissions.js'
import { detail, own, type Reply } from './_reply.js'
import { readBoundedBody, type BodyBounds } from './readBoundedBody.js'
import type { SubmissionWorker } from './submissionWorker.js'
import type { SubmitPool } from './submitPool.js'
import { toSubmitHttpResponse } from './toSubmitHttpResponse.js'

/** What the `/submit` route works with. */
export type SubmitRouteContext = {
  readonly pipeline: AdmissionPipeline
  /** The profile's strict request schema (re-run on a refused body for FastAPI's 422 items). */
  readonly requestSchema: z.ZodType
  /** Body size, global byte budget and read deadline. */
  readonly body: BodyBounds
  readonly maxQueueDepth: number
  /** Most requests whose body is still being read at once; beyond it, 503 `queue_full`. */
  readonly maxUploads: number
  readonly pending: PendingSubmissions
  readonly worker: SubmissionWorker
  /** `/submit` answers by HTTP status. */
  readonly submitResponses: Record<string, number>
  /** Reports one outcome (never throws). */
  readonly report: (e: SubmissionEvent) => void
  /** Parsing threads for the handler's CPU work, or `null` to do it on the event loop. */
  readonly pool: SubmitPool | null
  /** With a pool: bodies of at most this many bytes are decoded on the loop (cheap). */
  readonly inlineBytes: number
  /** With a pool: hands the parsed bodies to the pipeline in the order their bodies completed. */
  readonly order: ArrivalOrder
}

/**
 * Turns in the order bodies completed: `next()` is taken when a body completes; a parsed body
 * waits for `ready` (every earlier turn released) before the pipeline sees it, and `release`
 * lets the later ones go. Refused bodies release at once (they change no state).
 */
export class ArrivalOrder {
  #tail: Promise<void> = Promise.resolve()

  /** The next turn. */
  next(): { ready: Promise<void>; release: () => void } {
    const ready = this.#tail
    let release!: () => void
    const mine = new Promise<void>((r) => {
      release = r
    })
    this.#tail = ready.then(() => mine)
    return { ready, release }
  }
}

type Outcome = { reply: Reply; event: Omit<SubmissionEvent, 'status'> }

const refused = (
  reply: Reply,
  reason: string,
  who: { hotkey: string | null; windowStart: number | null } = { hotkey: null, windowStart: null },
): Outcome => ({
  reply,
  event: { stage: 'handler', ...who, accepted: false, reason, verdict: null },
})

const TOO_LARGE = (): Outcome =>
  refused(detail(413, 'payload_too_large', { Connection: 'close' }), 'payload_too_large')

/**
 * The pipeline's handler stage on a parsed body, answered as the reference does. `envelope`:
 * the body is a request the pool parsed, with its envelope answer (`undefined`: a raw body).
 */
async function admitBody(
  ctx: SubmitRouteContext,
  body: unknown,
  arrivalSeconds: number,
  envelope?: { randomness: string; ok: boolean } | null,
) {
  const hk = own(body, 'miner_hotkey')
  const ws = own(body, 'window_start')
  const hotkey = typeof hk === 'string' ? hk : null
  const windowStart = Number.isSafeInteger(ws) ? (ws as number) : null
  const verdict = await ctx.pipeline.submit(
    body,
    envelope === undefined ? { arrivalSeconds } : { arrivalSeconds, envelope },
  )
  if (verdict.accepted && verdict.stage === 'handler') {
    // Queued: the worker's verdict for it comes back in queue order.
    ctx.worker.enqueued({ hotkey: hotkey ?? '', windowStart: windowStart ?? -1 })
  }
  const event = {
    stage: 'handler' as const,
    hotkey,
    windowStart,
    accepted: verdict.accepted,
    reason: verdict.reason,
    verdict,
  }
  if (verdict.refusal === 'malformed') {
    const r = ctx.requestSchema.safeParse(body)
    const items = r.success
      ? [{ type: 'value_error', loc: ['body'], msg: verdict.detail }]
      : fastApiDetail(r.error.issues)
    return { reply: detail(422, items), event: { ...event, accepted: false } }
  }
  const http = toSubmitHttpResponse(verdict)
  return { reply: { status: http.status, body: http.body, headers: http.headers }, event }
}

const BUSY = (reason: string): Outcome =>
  refused(detail(503, 'queue_full', { Connection: 'close' }), reason)

/** Reads the body within its bounds; the request counts as reading meanwhile. */
async function readBody(ctx: SubmitRouteContext, req: IncomingMessage): Promise<Buffer | Outcome> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > ctx.body.maxBodyBytes) return TOO_LARGE()
  if (ctx.pending.reading >= ctx.maxUploads) return BUSY('uploads_full')
  ctx.pending.noteReading(1)
  let got: Awaited<ReturnType<typeof readBoundedBody>>
  try {
    got = await readBoundedBody(req, ctx.body, ctx.pending)
  } finally {
    ctx.pending.noteReading(-1)
  }
  if (got === 'too_large') return TOO_LARGE()
  if (got === 'budget') return BUSY('buffer_full')
  if (got === 'timeout')
    return refused(detail(408, 'request_timeout', { Connection: 'close' }), 'body_timeout')
  return got
}

const JSON_INVALID = (): Outcome =>
  refused(
    detail(422, [{ type: 'json_invalid', loc: ['body', 0], msg: 'JSON decode error' }]),
    'bad_schema',
  )

/** A body the pool could not prepare (its thread failed): 500, as an internal fault answers. */
function poolFault(e: unknown): Outcome {
  const verdict: AdmissionReject = Object.freeze({
    accepted: false,
    reason: 'worker_dropped',
    stage: 'handler',
    check: 'internal',
    detail: String((e as { shortMessage?: unknown })?.shortMessage ?? e),
    refusal: 'internal',
    recordVerdict: false,
  })
  const who = { hotkey: null, windowStart: null }
  return {
    reply: detail(500, verdict.detail),
    event: { stage: 'handler', ...who, accepted: false, reason: verdict.reason, verdict },
  }
}

/** A body the pool refused (not JSON, or failing the schema): the in-loop path's answer. */
function refusedPrepared(p: Exclude<PreparedSubmit, { kind: 'parsed' }>): Outcome {
  if (p.kind === 'json_invalid') return JSON_INVALID()
  const verdict = Object.freeze({ ...p.reject })
  return {
    reply: detail(422, p.items),
    event: {
      stage: 'handler',
      hotkey: p.hotkey,
      windowStart: p.windowStart,
      accepted: false,
      reason: verdict.reason,
      verdict,
    },
  }
}

/**
 * The handler stage with a pool: small bodies are decoded here, larger ones (and the envelope
 * signature) in a parsing thread; parsed bodies reach the pipeline in the order they completed.
 */
async function handlePooled(
  ctx: SubmitRouteContext,
  pool: SubmitPool,
  bytes: Buffer,
  arrivalSeconds: number,
): Promise<Outcome> {
  const turn = ctx.order.next()
  let released = false
  const release = (): void => {
    if (!released) turn.release()
    released = true
  }
  try {
    let prepared: PreparedSubmit
    try {
      const { profile } = ctx.pipeline.config
      prepared =
        bytes.length <= ctx.inlineBytes
          ? await prepareSubmit(bytes, { profile, randomness: null })
          : await pool.prepare(bytes, ctx.pipeline.activeBatcher?.randomness ?? '', {
              transfer: true,
            })
    } catch (e) {
      return poolFault(e)
    }
    if (prepared.kind !== 'parsed') {
      release()
      return refusedPrepared(prepared)
    }
    await turn.ready
    return await admitBody(ctx, prepared.request, arrivalSeconds, prepared.envelope)
  } finally {
    release()
  }
}

/** Parses the JSON of a complete body, then runs the handler stage. */
async function handleSubmit(
  ctx: SubmitRouteContext,
  bytes: Buffer,
  arrivalSeconds: number,
): Promise<Outcome> {
  // Read now: with a pool, `bytes` moves to a parsing thread (and reads empty here).
  const size = bytes.length
  try {
    if (ctx.pool) return await handlePooled(ctx, ctx.pool, bytes, arrivalSeconds)
    let body: unknown
    try {
      body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
    } catch {
      return JSON_INVALID()
    }
    return await admitBody(ctx, body, arrivalSeconds)
  } finally {
    ctx.pending.hold(-size)
  }
}

/**
 * `POST /submit`: more than `maxQueueDepth` pending requests, or more than `maxUploads` bodies
 * being read, get 503 `{"detail":"queue_full"}` without reading the body; a body over
 * `maxBodyBytes` gets 413 `payload_too_large` and one that would take the bytes held by all
 * requests over `maxBufferedBytes` gets 503 `queue_full`, both with `Connection: close`; a body
 * still incomplete at its deadline gets 408 `request_timeout` with `Connection: close` (a slow or
 * partial upload is dropped with a verdict and never counted as pending, so it cannot delay the
 * seal); a body that is not JSON or fails the strict schema gets FastAPI's 422
 * `{"detail":[{type, loc, msg}, …]}`; otherwise the pipeline's handler stage answers
 * ({@link toSubmitHttpResponse}). Every answer is counted and reported.
 *
 * - Spec: docs/protocol.md §3.2, §4.3.
 *
 * @param ctx - {@link SubmitRouteContext}
 * @param req - The request (its body not yet read).
 * @param arrivalSeconds - When it arrived, stamped before the body is read.
 * @returns The answer.
 */
export async function submitRoute(
  ctx: SubmitRouteContext,
  req: IncomingMessage,
  arrivalSeconds: number,
): Promise<Reply> {
  const { pending, submitResponses } = ctx
  if (pending.count() >= ctx.maxQueueDepth) {
    submitResponses['503'] = (submitResponses['503'] ?? 0) + 1
    ctx.report({ ...refused(detail(503, 'queue_full'), 'queue_full').event, status: 503 })
    return detail(503, 'queue_full', { Connection: 'close' })
  }
  const bytes = await readBody(ctx, req)
  let out: Outcome
  if (!Buffer.isBuffer(bytes)) out = bytes
  else if (pending.count() >= ctx.maxQueueDepth) {
    pending.hold(-bytes.length)
    out = BUSY('queue_full')
  } else {
    // Only a complete body enters the submit queue's count (what the seal waits for).
    pending.handling++
    pending.note()
    try {
      out = await handleSubmit(ctx, bytes, arrivalSeconds)
    } finally {
      pending.handling--
    }
  }
  submitResponses[String(out.reply.status)] = (submitResponses[String(out.reply.status)] ?? 0) + 1
  ctx.report({ ...out.event, status: out.reply.status })
  pending.note()
  return out.reply
}
