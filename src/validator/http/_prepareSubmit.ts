import { ReliquaryError } from '../../errors/base.js'
import type { ProtocolProfile } from '../../protocol/profiles.js'
import { submitRequestSchema } from '../../protocol/schemas.js'
import type { AdmissionReject, AdmissionRequest } from '../../window/admission/admissionTypes.js'
import { parseSubmission } from '../../window/admission/runAdmission.js'
import { verifyRequestEnvelope } from '../../window/admission/verifyRequestEnvelope.js'
import { type FastApiErrorItem, fastApiDetail } from './_fastapiDetail.js'
import { own } from './_reply.js'

/**
 * A `/submit` body after the handler's CPU work that needs no validator state: UTF-8 and JSON
 * decoding, the profile's strict schema (with FastAPI's 422 items on failure) and, when asked, the
 * sr25519 envelope signature against a given window randomness. Plain data, except the request
 * a `SubmitPool` returns for a parsed body (its `rollouts` is a getter): never post that one to a
 * thread.
 */
export type PreparedSubmit =
  | { readonly kind: 'json_invalid' }
  | {
      readonly kind: 'malformed'
      readonly hotkey: string | null
      readonly windowStart: number | null
      readonly reject: AdmissionReject
      readonly items: FastApiErrorItem[]
    }
  | {
      readonly kind: 'parsed'
      readonly request: AdmissionRequest
      /** The envelope verified against `randomness`, or `null` when not checked here. */
      readonly envelope: { readonly randomness: string; readonly ok: boolean } | null
    }

const schemas = new WeakMap<ProtocolProfile, ReturnType<typeof submitRequestSchema>>()

/**
 * Decodes and schema-checks one `/submit` body as the in-loop handler does (the same functions,
 * in the same order), leaving the envelope unchecked (`envelope: null`). Never throws for any body.
 *
 * @param bytes - The complete body.
 * @param profile - The request layout.
 */
export function parseSubmitBody(bytes: Uint8Array, profile: ProtocolProfile): PreparedSubmit {
  let body: unknown
  try {
    body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    return { kind: 'json_invalid' }
  }
  const parsed = parseSubmission(body, { profile, stage: 'handler' })
  if (!parsed.ok) {
    const hk = own(body, 'miner_hotkey')
    const ws = own(body, 'window_start')
    let schema = schemas.get(profile)
    if (!schema) {
      schema = submitRequestSchema(profile)
      schemas.set(profile, schema)
    }
    const r = schema.safeParse(body)
    const items = r.success
      ? [{ type: 'value_error', loc: ['body'], msg: parsed.reject.detail }]
      : fastApiDetail(r.error.issues)
    return {
      kind: 'malformed',
      hotkey: typeof hk === 'string' ? hk : null,
      windowStart: Number.isSafeInteger(ws) ? (ws as number) : null,
      reject: parsed.reject,
      items,
    }
  }
  return { kind: 'parsed', request: parsed.request, envelope: null }
}

/**
 * {@link parseSubmitBody}, then, when asked, the sr25519 envelope signature. Never throws for any
 * body.
 *
 * @param bytes - The complete body.
 * @param o - `profile`; `randomness`: the active window's randomness to verify the envelope
 *   against (`null`: leave the envelope to the pipeline).
 */
export async function prepareSubmit(
  bytes: Uint8Array,
  o: { profile: ProtocolProfile; randomness: string | null },
): Promise<PreparedSubmit> {
  const p = parseSubmitBody(bytes, o.profile)
  if (p.kind !== 'parsed') return p
  const r = p.request
  const envelope =
    o.randomness !== null && o.profile.window.envelopeSignature && 'drand_round' in r
      ? { randomness: o.randomness, ok: await verifyRequestEnvelope(r, o.randomness) }
      : null
  return { kind: 'parsed', request: r, envelope }
}

/**
 * What a parsing thread sends back for one body: a refused body's {@link PreparedSubmit} as is;
 * for a parsed one its envelope answer, the request's `head` (every field but `rollouts`, in the
 * request's key order, `rollouts` as `null`) and the body's bytes (moved back, not copied). The
 * event loop judges the handler stage on the head and decodes the rollouts only when the worker
 * stage first reads them ({@link fromRemote}): the structured clone of a whole parsed request costs
 * its two threads more than `JSON.parse` and the schema do, and decoding every body again as it
 * arrives took a fifth to a quarter of the loop's time in a burst (BENCHMARKS.md).
 */
export type PreparedRemote =
  | Exclude<PreparedSubmit, { kind: 'parsed' }>
  | {
      readonly kind: 'parsed_bytes'
      readonly head: Readonly<Record<string, unknown>>
      readonly bytes: Uint8Array
      readonly envelope: { readonly randomness: string; readonly ok: boolean } | null
    }

/**
 * The thread's side of {@link PreparedRemote}: the head of a parsed request.
 *
 * @param request - A request {@link parseSubmitBody} returned.
 * @returns Its fields in order, `rollouts` as `null`.
 */
export function requestHead(request: AdmissionRequest): Record<string, unknown> {
  const head: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(request)) head[k] = k === 'rollouts' ? null : v
  return head
}

/** `VALIDATOR_SUBMIT_POOL_FAILED`: a body its thread parsed no longer decodes to the same request. */
function decodedOtherwise(detail: string): ReliquaryError {
  return new ReliquaryError(
    'VALIDATOR_SUBMIT_POOL_FAILED',
    `A /submit body a parsing thread accepted decodes otherwise on the event loop (${detail}).`,
    {
      hints: [
        "The submission is dropped (worker_dropped); this is a validator fault, not the miner's.",
      ],
    },
  )
}

/**
 * A thread's {@link PreparedRemote} as the {@link PreparedSubmit} {@link prepareSubmit} gives, with
 * the thread's envelope answer. A parsed body becomes the thread's head with `rollouts` an
 * enumerable getter that decodes the bytes with the same deterministic functions on its first read
 * (then keeps the result, or the error, and lets the bytes go): the handler stage reads no rollout,
 * so a body's rollouts are decoded on the loop once, when the worker stage verifies it, not as it
 * arrives. The getter throws `VALIDATOR_SUBMIT_POOL_FAILED` if the bytes no longer decode to a
 * request with the same head (a validator fault; the worker stage turns a throwing check into `worker_dropped`).
 *
 * @param p - The thread's answer.
 * @param profile - The request layout (the thread's).
 */
export function fromRemote(p: PreparedRemote, profile: ProtocolProfile): PreparedSubmit {
  if (p.kind !== 'parsed_bytes') return p
  // The closure holds the head and the bytes, never `p`, so the bytes go once decoded.
  const head = p.head
  let bytes: Uint8Array | null = p.bytes
  let decoded: AdmissionRequest['rollouts'] | ReliquaryError | null = null
  const decode = (): AdmissionRequest['rollouts'] => {
    decoded ??= decodeRollouts(head, bytes, profile)
    bytes = null
    if (decoded instanceof ReliquaryError) throw decoded
    return decoded
  }
  const request: Record<string, unknown> = {}
  // Defined, not assigned: a key is only ever a data field (never `__proto__`'s setter).
  for (const [k, v] of Object.entries(head))
    Object.defineProperty(
      request,
      k,
      k === 'rollouts'
        ? { enumerable: true, get: decode }
        : { value: v, enumerable: true, writable: true, configurable: true },
    )
  return { kind: 'parsed', request: request as AdmissionRequest, envelope: p.envelope }
}

/** The rollouts of `bytes` when they decode to a request with `head`, else the error to throw. */
function decodeRollouts(
  head: Readonly<Record<string, unknown>>,
  bytes: Uint8Array | null,
  profile: ProtocolProfile,
): AdmissionRequest['rollouts'] | ReliquaryError {
  const local = bytes ? parseSubmitBody(bytes, profile) : null
  if (local?.kind !== 'parsed') return decodedOtherwise(local ? local.kind : 'no bytes')
  for (const [k, v] of Object.entries(head))
    if (k !== 'rollouts' && (local.request as Record<string, unknown>)[k] !== v)
      return decodedOtherwise(`field ${k}`)
  return local.request.rollouts
}
