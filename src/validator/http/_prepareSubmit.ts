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
 * sr25519 envelope signature against a given window randomness. Plain data: it crosses a thread.
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
 * for a parsed one only its envelope answer and the body's bytes (moved back, not copied), which
 * the event loop decodes again with {@link parseSubmitBody}: the structured clone of a parsed
 * request costs its two threads more than `JSON.parse` and the schema do.
 */
export type PreparedRemote =
  | Exclude<PreparedSubmit, { kind: 'parsed' }>
  | {
      readonly kind: 'parsed_bytes'
      readonly bytes: Uint8Array
      readonly envelope: { readonly randomness: string; readonly ok: boolean } | null
    }

/**
 * A thread's {@link PreparedRemote} as the {@link PreparedSubmit} {@link prepareSubmit} gives:
 * the body decoded here by the same deterministic functions, with the thread's envelope answer.
 *
 * @param p - The thread's answer.
 * @param profile - The request layout (the thread's).
 */
export function fromRemote(p: PreparedRemote, profile: ProtocolProfile): PreparedSubmit {
  if (p.kind !== 'parsed_bytes') return p
  const local = parseSubmitBody(p.bytes, profile)
  return local.kind === 'parsed' ? { ...local, envelope: p.envelope } : local
}
