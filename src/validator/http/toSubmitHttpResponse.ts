import type { AdmissionRefusal, AdmissionVerdict } from '../../window/admission/admissionTypes.js'

/** The HTTP answer to a handler verdict. */
export type SubmitHttpResponse = {
  readonly status: number
  readonly body: { accepted: boolean; reason: string } | { detail: string }
  readonly headers: Readonly<Record<string, string>>
}

/** The reference's status for each refusal (FastAPI `HTTPException`s and pydantic's 422). */
const REFUSAL_STATUS: Readonly<Record<AdmissionRefusal, number>> = {
  no_active_window: 503,
  window_mismatch: 409,
  malformed: 422,
  internal: 500,
}

/**
 * Maps a handler-stage verdict to the reference's HTTP answer: 200 `{accepted, reason}` for a
 * verdict, 409 `{"detail":"window_mismatch"}`, 503 `{"detail":"no_active_window"}`, 422 or 500
 * `{"detail": …}` for the other refusals, and `Connection: close` after a bad envelope signature
 * (E3 drops the connection of a sender it could not authenticate).
 *
 * - Spec: docs/protocol.md §3.2.
 *
 * @param v - A handler verdict.
 * @returns Status, JSON body and extra headers.
 * @example
 * ```ts
 * import { toSubmitHttpResponse } from 'reliquary/validator'
 * const { status, body, headers } = toSubmitHttpResponse(await pipeline.submit(body, { arrivalSeconds }))
 * ```
 */
export function toSubmitHttpResponse(v: AdmissionVerdict): SubmitHttpResponse {
  const headers: Record<string, string> =
    !v.accepted && v.check === 'envelope' ? { Connection: 'close' } : {}
  if (v.refusal === null)
    return { status: 200, body: { accepted: v.accepted, reason: v.reason }, headers }
  const status = REFUSAL_STATUS[v.refusal]
  if (v.refusal === 'window_mismatch' || v.refusal === 'no_active_window')
    return { status, body: { detail: v.refusal }, headers }
  return { status, body: { detail: v.detail }, headers }
}
