import type { IncomingMessage } from 'node:http'
import type * as z from 'zod'
import type { AdmissionPipeline } from '../../window/admission/admissionPipeline.js'
import { fastApiDetail } from './_fastapiDetail.js'
import type { SubmissionEvent } from './createValidatorServer.js'
import type { PendingSubmissions } from './_pendingSubmissions.js'
import { detail, own, type Reply } from './_reply.js'
import { readBoundedBody } from './readBoundedBody.js'
import type { SubmissionWorker } from './submissionWorker.js'
import { toSubmitHttpResponse } from './toSubmitHttpResponse.js'

/** What the `/submit` route works with. */
export type SubmitRouteContext = {
  readonly pipeline: AdmissionPipeline
  /** The profile's strict request schema (re-run on a refused body for FastAPI's 422 items). */
  readonly requestSchema: z.ZodType
  readonly maxBodyBytes: number
  readonly maxQueueDepth: number
  readonly pending: PendingSubmissions
  readonly worker: SubmissionWorker
  /** `/submit` answers by HTTP status. */
  readonly submitResponses: Record<string, number>
  /** Reports one outcome (never throws). */
  readonly report: (e: SubmissionEvent) => void
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

/** The pipeline's handler stage on a parsed body, answered as the reference does. */
async function admitBody(ctx: SubmitRouteContext, body: unknown, arrivalSeconds: number) {
  const hk = own(body, 'miner_hotkey')
  const ws = own(body, 'window_start')
  const hotkey = typeof hk === 'string' ? hk : null
  const windowStart = Number.isSafeInteger(ws) ? (ws as number) : null
  const verdict = await ctx.pipeline.submit(body, { arrivalSeconds })
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

/** Reads and bounds the body, parses the JSON, then runs the handler stage. */
async function handleSubmit(
  ctx: SubmitRouteContext,
  req: IncomingMessage,
  arrivalSeconds: number,
): Promise<Outcome> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > ctx.maxBodyBytes) return TOO_LARGE()
  const bytes = await readBoundedBody(req, ctx.maxBodyBytes, ctx.pending)
  if (bytes === null) return TOO_LARGE()
  try {
    let body: unknown
    try {
      body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
    } catch {
      return refused(
        detail(422, [{ type: 'json_invalid', loc: ['body', 0], msg: 'JSON decode error' }]),
        'bad_schema',
      )
    }
    return await admitBody(ctx, body, arrivalSeconds)
  } finally {
    ctx.pending.buffered -= bytes.length
  }
}

/**
 * `POST /submit`: more than `maxQueueDepth` pending requests get 503 `{"detail":"queue_full"}`
 * without reading the body; a body over `maxBodyBytes` gets 413 `payload_too_large` with
 * `Connection: close`; a body that is not JSON or fails the strict schema gets FastAPI's 422
 * `{"detail":[{type, loc, msg}, …]}`; otherwise the pipeline's handler stage answers
 * ({@link toSubmitHttpResponse}). Every answer is counted and reported.
 *
 * - Spec: PROTOCOL.md §3.2, §4.3.
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
  pending.handling++
  pending.note()
  let out: Outcome
  try {
    out = await handleSubmit(ctx, req, arrivalSeconds)
  } finally {
    pending.handling--
  }
  submitResponses[String(out.reply.status)] = (submitResponses[String(out.reply.status)] ?? 0) + 1
  ctx.report({ ...out.event, status: out.reply.status })
  pending.note()
  return out.reply
}
