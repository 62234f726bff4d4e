import * as z from 'zod'
import { ReliquaryError } from '../errors/base.js'
import { schemaInvalid } from '../_utils/schemaInvalid.js'
import { DEFAULT_PROFILE, E3_REJECT_REASONS, type ProtocolProfile } from './profiles.js'

/**
 * Strict zod schemas for the E3 wire formats (docs/protocol.md §1.9, §3.1-§3.4). Like the
 * reference's
 * pydantic models (`extra="forbid"`), unknown fields are rejected at every level; unlike them,
 * every array and string is bounded so hostile bodies fail fast, and numbers must be JSON numbers
 * (no numeric strings, no booleans as integers). Schemas are built per profile because M, K,
 * the proof version and the logprob layouts are profile numbers.
 */

/** Wire bounds (not protocol numbers: they keep hostile input cheap to reject). */
export const WIRE_LIMITS = Object.freeze({
  /** Longest rollout accepted on the wire (prompt + completion). */
  maxTokensPerRollout: 65_536,
  maxHotkeyChars: 64,
  maxCheckpointHashChars: 256,
  maxNonceChars: 128,
  maxSignatureHexChars: 256,
  maxRandomnessHexChars: 256,
  maxModelNameChars: 512,
  maxCooldownPrompts: 2_000_000,
  maxRepoIdChars: 256,
  maxVerdicts: 200,
  /** Largest JSON document accepted by the parse helpers, in bytes. */
  maxBodyBytes: 64 * 1024 * 1024,
} as const)

const uint = () => z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
const finite = () => z.number().refine(Number.isFinite, { message: 'must be finite' })
const hex = (max: number, min = 0) =>
  z
    .string()
    .min(min)
    .max(max)
    .regex(/^[0-9a-fA-F]*$/, 'must be hex')

/** Builds the strict `commit` schema (`CommitModel`) of a profile. */
export function commitSchema(profile: ProtocolProfile = DEFAULT_PROFILE) {
  const K = profile.grail.challengeK
  const Q = profile.grail.primeQ
  return z
    .strictObject({
      tokens: z.array(uint()).min(K).max(WIRE_LIMITS.maxTokensPerRollout),
      commitments: z
        .array(
          z.strictObject({
            sketch: z
              .number()
              .int()
              .min(0)
              .max(Q - 1),
          }),
        )
        .max(WIRE_LIMITS.maxTokensPerRollout),
      proof_version: z.literal(profile.proofVersion),
      model: z.strictObject({
        name: z.string().max(WIRE_LIMITS.maxModelNameChars),
        layer_index: z.number().int().min(-2147483648).max(2147483647),
      }),
      signature: hex(WIRE_LIMITS.maxSignatureHexChars, 1),
      beacon: z.strictObject({ randomness: hex(WIRE_LIMITS.maxRandomnessHexChars, 1) }),
      rollout: z.strictObject({
        prompt_length: uint(),
        completion_length: z.number().int().min(1).max(profile.sampling.maxNewTokensCap),
        success: z.boolean(),
        total_reward: finite(),
        advantage: finite(),
        token_logprobs: z.array(finite()).max(WIRE_LIMITS.maxTokensPerRollout),
      }),
    })
    .superRefine((c, ctx) => {
      const n = c.tokens.length
      if (c.commitments.length !== n)
        ctx.addIssue({
          code: 'custom',
          path: ['commitments'],
          message: `expected ${n} commitments (one per token), got ${c.commitments.length}`,
        })
      if (c.rollout.prompt_length + c.rollout.completion_length !== n) {
        ctx.addIssue({
          code: 'custom',
          path: ['rollout', 'completion_length'],
          message: 'prompt_length + completion_length must equal len(tokens)',
        })
      }
      const lp = c.rollout.token_logprobs.length
      const layouts = profile.checks.tokenLogprobsLayouts
      const ok =
        (layouts.includes('full') && lp === n) ||
        (layouts.includes('completion') && lp === c.rollout.completion_length)
      if (!ok)
        ctx.addIssue({
          code: 'custom',
          path: ['rollout', 'token_logprobs'],
          message: `length ${lp} matches no accepted layout (${layouts.join(', ')})`,
        })
    })
}

/** Builds the strict `POST /submit` request schema (`BatchSubmissionRequest`, E3 layout). */
export function submitRequestSchema(profile: ProtocolProfile = DEFAULT_PROFILE) {
  const M = profile.group.rolloutsPerGroup
  const base = {
    miner_hotkey: z.string().min(1).max(WIRE_LIMITS.maxHotkeyChars),
    prompt_idx: uint(),
    window_start: uint(),
    merkle_root: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex characters'),
    rollouts: z
      .array(
        z.strictObject({
          tokens: z.array(uint()).min(1).max(WIRE_LIMITS.maxTokensPerRollout),
          reward: finite(),
          // Validated against commitSchema per rollout by the admission worker (-> bad_schema), as the reference does.
          commit: z.record(z.string().max(64), z.unknown()),
        }),
      )
      .length(M),
    checkpoint_hash: z.string().max(WIRE_LIMITS.maxCheckpointHashChars),
  }
  if (profile.window.ordering === 'signed_round')
    return z.strictObject({ ...base, signed_round: uint() })
  return z.strictObject({
    ...base,
    drand_round: uint().default(0),
    nonce: z.string().max(WIRE_LIMITS.maxNonceChars).default(''),
    envelope_signature: hex(WIRE_LIMITS.maxSignatureHexChars).default(''),
  })
}

/** `POST /submit` response (`BatchSubmissionResponse`). */
export const submitResponseSchema = /*#__PURE__*/ z.strictObject({
  accepted: z.boolean(),
  reason: z.enum(E3_REJECT_REASONS),
})

/** `GET /state` (`GrpoBatchState`, E3 layout). */
export const stateSchema = /*#__PURE__*/ z.strictObject({
  state: z.enum(['open', 'training', 'publishing', 'ready']),
  window_n: uint(),
  anchor_block: uint(),
  cooldown_prompts: z.array(uint()).max(WIRE_LIMITS.maxCooldownPrompts),
  valid_submissions: uint(),
  checkpoint_n: uint(),
  checkpoint_repo_id: z.string().max(WIRE_LIMITS.maxRepoIdChars).nullable(),
  checkpoint_revision: z.string().max(WIRE_LIMITS.maxCheckpointHashChars).nullable(),
  randomness: hex(WIRE_LIMITS.maxRandomnessHexChars),
})

/** `GET /checkpoint` (the reference manifest). */
export const checkpointSchema = /*#__PURE__*/ z.strictObject({
  checkpoint_n: uint(),
  repo_id: z.string().min(1).max(WIRE_LIMITS.maxRepoIdChars),
  revision: z.string().min(1).max(WIRE_LIMITS.maxCheckpointHashChars),
  signature: z
    .string()
    .regex(/^ed25519:[0-9a-fA-F]{128}$/, 'must be "ed25519:" followed by a 64-byte hex signature'),
})

/** `GET /verdicts/{hotkey}` (E3). */
export const verdictsSchema = /*#__PURE__*/ z.strictObject({
  verdicts: z
    .array(
      z.strictObject({
        merkle_root: z.string().max(64),
        window_n: uint(),
        accepted: z.boolean(),
        reason: z.enum(E3_REJECT_REASONS),
        ts: finite(),
      }),
    )
    .max(WIRE_LIMITS.maxVerdicts),
})

/** `GET /health`. */
export const healthSchema = /*#__PURE__*/ z.strictObject({
  status: z.string().max(32),
  active_window: uint().nullable(),
})

/** A parsed `commit` object. */
export type Commit = z.output<ReturnType<typeof commitSchema>>
/** A parsed E3 `/submit` request. */
export type SubmitRequest = {
  miner_hotkey: string
  prompt_idx: number
  window_start: number
  merkle_root: string
  rollouts: { tokens: number[]; reward: number; commit: Record<string, unknown> }[]
  checkpoint_hash: string
  drand_round: number
  nonce: string
  envelope_signature: string
}
/** A parsed E1 `/submit` request. */
export type SubmitRequestE1 = Omit<
  SubmitRequest,
  'drand_round' | 'nonce' | 'envelope_signature'
> & { signed_round: number }
/** `/submit` response. */
export type SubmitResponse = z.output<typeof submitResponseSchema>
/** `/state` document. */
export type WindowState = z.output<typeof stateSchema>
/** `/checkpoint` document. */
export type CheckpointManifestWire = z.output<typeof checkpointSchema>
/** `/verdicts` document. */
export type Verdicts = z.output<typeof verdictsSchema>
/** `/health` document. */
export type Health = z.output<typeof healthSchema>

/** Options of the parse helpers. */
export type ParseWireOptions = {
  /** Largest accepted text size in bytes. @default WIRE_LIMITS.maxBodyBytes */
  maxBytes?: number | undefined
}

/**
 * Parses a wire document (a JSON string, bytes, or an already-parsed value) with a schema. Never
 * lets an unexpected exception escape: oversized input gives `PAYLOAD_TOO_LARGE`, invalid JSON
 * `JSON_INVALID`, a schema failure `SCHEMA_INVALID` with zod's issues in `meta.issues`.
 */
export function parseWire<S extends z.ZodType>(
  schema: S,
  input: unknown,
  what: string,
  options: ParseWireOptions = {},
): z.output<S> {
  const maxBytes = options.maxBytes ?? WIRE_LIMITS.maxBodyBytes
  let value = input
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const size = typeof input === 'string' ? Buffer.byteLength(input) : input.length
    if (size > maxBytes)
      throw new ReliquaryError(
        'PAYLOAD_TOO_LARGE',
        `${what} is ${size} bytes; the limit is ${maxBytes}.`,
      )
    try {
      value = JSON.parse(
        typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input),
      )
    } catch (e) {
      throw new ReliquaryError('JSON_INVALID', `${what} is not valid JSON.`, { cause: e })
    }
  }
  let r: ReturnType<S['safeParse']>
  try {
    r = schema.safeParse(value) as ReturnType<S['safeParse']>
  } catch (e) {
    throw new ReliquaryError('SCHEMA_INVALID', `${what} could not be validated.`, { cause: e })
  }
  if (!r.success)
    throw schemaInvalid(what, r.error, [
      'Unknown fields are rejected, as the reference validator does (HTTP 422).',
    ])
  return r.data as z.output<S>
}

// Profiles are frozen, so a schema built for one can be reused for every later parse.
const submitSchemas = new WeakMap<ProtocolProfile, ReturnType<typeof submitRequestSchema>>()
const commitSchemas = new WeakMap<ProtocolProfile, ReturnType<typeof commitSchema>>()
function cached<S>(
  map: WeakMap<ProtocolProfile, S>,
  profile: ProtocolProfile,
  build: (p: ProtocolProfile) => S,
): S {
  let s = map.get(profile)
  if (!s) {
    s = build(profile)
    map.set(profile, s)
  }
  return s
}

/** Parses a `/submit` request body for a profile (E3 layout by default). @throws {ReliquaryError} see {@link parseWire}. */
export function parseSubmitRequest(
  input: unknown,
  options: ParseWireOptions & { profile?: ProtocolProfile | undefined } = {},
): SubmitRequest {
  return parseWire(
    cached(submitSchemas, options.profile ?? DEFAULT_PROFILE, submitRequestSchema),
    input,
    'submit request',
    options,
  ) as SubmitRequest
}

/** Parses one rollout's `commit` object. @throws {ReliquaryError} see {@link parseWire}. */
export function parseCommit(
  input: unknown,
  options: ParseWireOptions & { profile?: ProtocolProfile | undefined } = {},
): Commit {
  return parseWire(
    cached(commitSchemas, options.profile ?? DEFAULT_PROFILE, commitSchema),
    input,
    'commit',
    options,
  )
}

/** Parses a `/submit` response. */
export function parseSubmitResponse(
  input: unknown,
  options: ParseWireOptions = {},
): SubmitResponse {
  return parseWire(submitResponseSchema, input, 'submit response', options)
}

/** Parses a `/state` document. */
export function parseState(input: unknown, options: ParseWireOptions = {}): WindowState {
  return parseWire(stateSchema, input, '/state', options)
}

/** Parses a `/checkpoint` document. */
export function parseCheckpoint(
  input: unknown,
  options: ParseWireOptions = {},
): CheckpointManifestWire {
  return parseWire(checkpointSchema, input, '/checkpoint', options)
}

/** Parses a `/verdicts/{hotkey}` document. */
export function parseVerdicts(input: unknown, options: ParseWireOptions = {}): Verdicts {
  return parseWire(verdictsSchema, input, '/verdicts', options)
}

/** Parses a `/health` document. */
export function parseHealth(input: unknown, options: ParseWireOptions = {}): Health {
  return parseWire(healthSchema, input, '/health', options)
}
