import type { ProtocolProfile, RejectReason } from '../../protocol/profiles.js'
import type { SubmitRequest, SubmitRequestE1 } from '../../protocol/schemas.js'
import type { RewardEnvironment } from '../../reward/environment.js'

/**
 * Where a verdict was decided: the `/submit` handler (cheap checks, answered synchronously) or the
 * queue worker (the full verification, reported through `/verdicts`).
 */
export type AdmissionStage = 'handler' | 'worker'

/** The name of each admission check (the `check` field of a verdict). */
export type AdmissionCheckId =
  | 'parse'
  | 'envelope'
  | 'registered'
  | 'rate_limit'
  | 'window_state'
  | 'active_window'
  | 'window_match'
  | 'sealed'
  | 'checkpoint'
  | 'drand_round'
  | 'signed_round'
  | 'seal_trigger'
  | 'prompt_idx'
  | 'cooldown'
  | 'superseded'
  | 'prompt_full'
  | 'batcher_active'
  | 'tokens_match'
  | 'hash_duplicate'
  | 'hotkey_repeat'
  | 'reward'
  | 'zone'
  | 'rollouts'
  | 'enqueue'
  | 'accept'
  | 'internal'

/** A parsed `/submit` request of either layout (E3 `drand_round`, or legacy E1 `signed_round`). */
export type AdmissionRequest = SubmitRequest | SubmitRequestE1

/**
 * Why the handler refused a request outright instead of judging it (the reference raises an
 * error answer rather than returning a verdict): no window is active, the request names another
 * window, the body is malformed, or a validator-side fault. The transport maps each to its own
 * answer (the validator's HTTP server: 503, 409, 422, 500).
 */
export type AdmissionRefusal = 'no_active_window' | 'window_mismatch' | 'malformed' | 'internal'

/**
 * A rejected submission. Never thrown: every check returns one of these.
 *
 * `refusal` is `null` for an ordinary reject (a verdict `{accepted: false, reason}`); at the
 * handler stage a non-null {@link AdmissionRefusal} says the request was refused instead.
 * Worker-stage rejects are always verdicts (they reach the miner through `/verdicts`).
 */
export type AdmissionReject = {
  readonly accepted: false
  readonly reason: RejectReason
  readonly stage: AdmissionStage
  readonly check: AdmissionCheckId
  /** Human-readable detail (never a secret). */
  readonly detail: string
  /** Set when the handler refused the request rather than judging it; `null` for a verdict. */
  readonly refusal: AdmissionRefusal | null
  /** Whether the verdict is written to the hotkey's `/verdicts` ring (bad envelopes are capped). */
  readonly recordVerdict: boolean
}

/**
 * An accepted submission: `submitted` (E3 handler: queued, real verdict later), `accepted` (worker:
 * the submission is valid and counts for the window; also the E1 handler's provisional answer).
 */
export type AdmissionAccept<S = unknown> = {
  readonly accepted: true
  readonly reason: 'submitted' | 'accepted'
  readonly stage: AdmissionStage
  readonly check: 'enqueue' | 'accept'
  readonly detail: string
  readonly refusal: null
  readonly recordVerdict: boolean
  /** The recorded valid submission (worker accepts only). */
  readonly submission: S | undefined
}

/** The outcome of an admission stage. */
export type AdmissionVerdict<S = unknown> = AdmissionAccept<S> | AdmissionReject

/** What a failing check returns; the runner stamps stage and check id. */
export type CheckFailure = {
  readonly reason: RejectReason
  readonly detail: string
  readonly refusal?: AdmissionRefusal | undefined
  readonly recordVerdict?: boolean | undefined
}

/**
 * One admission check: returns `null` to pass, a {@link CheckFailure} to reject. Checks may keep
 * per-window accounting (the rate-limit counter); none throws on a bad submission.
 */
export type AdmissionCheck<C> = {
  readonly id: AdmissionCheckId
  readonly run: (ctx: C) => CheckFailure | null | Promise<CheckFailure | null>
}

/** Diagnostics a rollout verifier may return (the archive's worst-case telemetry). */
export type RolloutVerdictDiagnostics = {
  readonly grail?: { readonly sketchDiffMax: number } | null | undefined
  readonly logprob?: { readonly medianDev: number } | null | undefined
  readonly distribution?: { readonly metrics: { readonly q10: number } | null } | null | undefined
}

/** The per-rollout verdict the admission worker needs (a `VerifyRolloutReturnType` fits). */
export type RolloutVerdict = RolloutVerdictDiagnostics & {
  readonly ok: boolean
  readonly reason: RejectReason | null
  readonly detail?: string | null | undefined
}

/** Parameters handed to a {@link RolloutVerifier}, one rollout at a time. */
export type RolloutVerifierParameters = {
  /** The rollout's `commit` object as received (not yet validated). */
  readonly commit: unknown
  readonly minerHotkey: string
  /** The validator's window randomness. */
  readonly randomness: string
  /** Canonical prompt tokens of the submission's prompt. */
  readonly promptTokens: readonly number[]
  readonly profile: ProtocolProfile
}

/**
 * Runs the per-rollout checks (schema, tokens, prompt binding, signature, randomness, GRAIL,
 * termination, logprob, distribution): the SDK's `verifyRollout` bound to the validator's
 * `RolloutEvaluator` (the model seam), `(p) => verifyRollout({ ...p, model })`; tests pass stubs.
 */
export type RolloutVerifier = (
  p: RolloutVerifierParameters,
) => RolloutVerdict | Promise<RolloutVerdict>

/**
 * Optional batch form of {@link RolloutVerifier}: every rollout of a submission at once, verdicts
 * in input order, each equal to the per-rollout verifier's. The SDK's `verifyRollouts` bound to
 * the validator's `RolloutEvaluator` batches the model's forwards (one packed forward on the gpu
 * kernels).
 */
export type RolloutsVerifier = (
  p: readonly RolloutVerifierParameters[],
  upcoming?: UpcomingRollouts,
) => readonly RolloutVerdict[] | Promise<readonly RolloutVerdict[]>

/**
 * What the queue worker hands a {@link RolloutsVerifier} beside the submission it judges: the
 * rollout parameters of up to `max` submissions queued after it (the active window's, in queue
 * order), built exactly as they will be when their turn comes. A verifier may judge them early in
 * the same batch (their verdicts do not depend on what runs before them) and keep the verdicts for
 * their turn; the queue's order and every other check are unchanged. Built lazily, one
 * submission per step of the iteration (a queued body's rollouts may be decoded only when first
 * read): a verifier that stops early builds no more, and should iterate before it awaits anything
 * (the queue may change meanwhile).
 */
export type UpcomingRollouts = (max: number) => Iterable<readonly RolloutVerifierParameters[]>

/** The drand chain timing the admission gates use. */
export type DrandTiming = {
  /** Chain genesis, unix seconds. */
  readonly genesisTime: number
  /** Seconds per round. */
  readonly periodSeconds: number
}

/** The validator-side inputs every admission check reads (fixed for the pipeline's life). */
export type AdmissionConfig = {
  readonly profile: ProtocolProfile
  /** The task source: its `size` bounds `prompt_idx`, its `computeReward` re-scores rollouts. */
  readonly environment: RewardEnvironment
  /** Tokenizer decode with default options (special tokens kept), E1–E3 `tokenizer.decode`. */
  readonly decode: (tokens: readonly number[]) => string
  /** Canonical prompt tokens of a prompt index (E1–E3: raw text encoding, no chat template). */
  readonly promptTokens: (promptIdx: number) => readonly number[]
  readonly verifyRollout: RolloutVerifier
  /** When set, the rollout check judges a submission's rollouts in one call (see {@link RolloutsVerifier}). */
  readonly verifyRollouts?: RolloutsVerifier | undefined
  readonly drand: DrandTiming
  /** Registration lookup (a chain registry); `undefined` turns the registration check off. */
  readonly isRegistered?: ((hotkey: string) => boolean | undefined) | undefined
}
