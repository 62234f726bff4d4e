import { invalidArgument } from '../../errors/base.js'
import {
  DEFAULT_PROFILE,
  type ProtocolProfile,
  type RejectReason,
} from '../../protocol/profiles.js'
import { assertRewardEnvironment, type RewardEnvironment } from '../../reward/environment.js'
import type { HandlerContext, WorkerContext } from './admissionContext.js'
import type {
  AdmissionConfig,
  AdmissionRequest,
  AdmissionVerdict,
  DrandTiming,
  RolloutVerifier,
  RolloutVerifierParameters,
  RolloutsVerifier,
  UpcomingRollouts,
} from './admissionTypes.js'
import { LateDrops } from './_lateDrops.js'
import { QuotaLedger } from './quotaLedger.js'
import { queuedRollouts } from './workerChecks.js'
import { VERDICT_STORE_DEFAULTS, VerdictStore, type VerdictEntry } from './verdictStore.js'
import {
  newWorkerScratch,
  parseSubmission,
  runHandlerStage,
  runWorkerStage,
} from './runAdmission.js'
import type { ValidSubmission } from '../seal/validSubmission.js'
import type { WindowBatcher } from '../seal/windowBatcher.js'
import type { WindowPhase } from '../windowStateMachine.js'

/** Parameters of the {@link AdmissionPipeline} constructor. */
export type AdmissionPipelineParameters = {
  /** @default DEFAULT_PROFILE (E3) */
  profile?: ProtocolProfile | undefined
  environment: RewardEnvironment
  /** Tokenizer decode with default options (E1–E3 decode the outer `rollout.tokens[prompt_length:]`). */
  decode: (tokens: readonly number[]) => string
  /** Canonical prompt tokens of a prompt index. */
  promptTokens: (promptIdx: number) => readonly number[]
  /** Per-rollout checks: `(p) => verifyRollout({ ...p, model })` over a `RolloutEvaluator`. */
  verifyRollout: RolloutVerifier
  /**
   * Optional batch form: all rollouts of a submission in one call (`(ps) => verifyRollouts({
   * rollouts: ps, model, profile })`), so the model's forwards are batched. Same verdicts.
   */
  verifyRollouts?: RolloutsVerifier | undefined
  /** drand chain timing. @default profile.drand */
  drand?: DrandTiming | undefined
  /** Largest text body accepted (bytes). @default WIRE_LIMITS.maxBodyBytes */
  maxBodyBytes?: number | undefined
  /**
   * Whether a hotkey is registered on the subnet (`true`/`false`), or `undefined` when unknown
   * (no metagraph yet). When given, the handler rejects unregistered hotkeys right after the
   * envelope check (`hotkey_not_registered` / `registration_unavailable`). @default no check
   */
  isRegistered?: ((hotkey: string) => boolean | undefined) | undefined
  /** Most hotkeys whose `/verdicts` are kept. @default VERDICT_STORE_DEFAULTS.maxHotkeys */
  maxVerdictHotkeys?: number | undefined
}

export type { VerdictEntry } from './verdictStore.js'

type QueueItem = { request: AdmissionRequest; arrivalSeconds: number; batcher: WindowBatcher }

/**
 * The E3 (or legacy E1) admission pipeline of a validator, with no I/O and no clock:
 * {@link AdmissionPipeline.submit} runs the handler stage on a raw body at a given arrival
 * time and queues what passes; {@link AdmissionPipeline.processNext} runs the worker stage on the
 * oldest queued item (one at a time, like the reference's single worker). Every outcome is a typed
 * {@link AdmissionVerdict}; nothing a submission contains can make it throw or hang.
 *
 * It also keeps the validator-level accounting the reference keeps next to the batcher: the
 * per-hotkey quota and bad-envelope counters (reset when the active batcher changes), the
 * `/verdicts` ring per hotkey, and the `late_drops` counts for the archive.
 *
 * Quota note: as in the reference, a request whose envelope verifies consumes one unit of its
 * hotkey's quota whatever its later outcome; a bad envelope consumes none.
 *
 * - Spec: docs/protocol.md §4.3, §3.2, §3.4.
 *
 * @example
 * ```ts
 * import { createMathEnvironment, verifyRollout } from 'reliquary'
 * import { AdmissionPipeline, WindowBatcher } from 'reliquary/window'
 * const pipeline = new AdmissionPipeline({ environment, decode, promptTokens, verifyRollout: (p) => verifyRollout({ ...p, model }) })
 * pipeline.setActiveBatcher(new WindowBatcher({ windowStart: 500, randomness }))
 * pipeline.setPhase('open')
 * const answer = await pipeline.submit(body, { arrivalSeconds: Date.now() / 1000 })
 * const verdict = await pipeline.processNext({ nowSeconds: Date.now() / 1000 })
 * ```
 */
export class AdmissionPipeline {
  /** The checks' fixed inputs. */
  readonly config: AdmissionConfig
  /** Per-window quota and bad-envelope counters. */
  readonly ledger: QuotaLedger = new QuotaLedger()
  readonly #maxBodyBytes: number | undefined
  #phase: WindowPhase = 'ready'
  #batcher: WindowBatcher | null = null
  readonly #queue: QueueItem[] = []
  #queueHead = 0
  #worker: Promise<unknown> = Promise.resolve()
  readonly #verdicts: VerdictStore
  readonly #lateDrops = new LateDrops()

  /**
   * @param p - {@link AdmissionPipelineParameters}
   * @throws {ReliquaryError} `INVALID_ARGUMENT` for a missing environment, decode, promptTokens or verifier.
   */
  constructor(p: AdmissionPipelineParameters) {
    if (typeof p !== 'object' || p === null) throw invalidArgument('parameters', 'an object', p)
    const profile = p.profile ?? DEFAULT_PROFILE
    const env = p.environment
    assertRewardEnvironment(env)
    for (const k of ['decode', 'promptTokens', 'verifyRollout'] as const)
      if (typeof p[k] !== 'function') throw invalidArgument(k, 'a function', p[k])
    const drand = p.drand ?? profile.drand
    if (!Number.isFinite(drand.genesisTime) || !(drand.periodSeconds > 0))
      throw invalidArgument('drand', '{ genesisTime: finite, periodSeconds > 0 }', drand)
    this.config = Object.freeze({
      profile,
      environment: env,
      decode: p.decode,
      promptTokens: p.promptTokens,
      verifyRollout: p.verifyRollout,
      ...(typeof p.verifyRollouts === 'function' ? { verifyRollouts: p.verifyRollouts } : {}),
      drand: Object.freeze({ genesisTime: drand.genesisTime, periodSeconds: drand.periodSeconds }),
      ...(typeof p.isRegistered === 'function' ? { isRegistered: p.isRegistered } : {}),
    })
    this.#maxBodyBytes = p.maxBodyBytes
    this.#verdicts = new VerdictStore({
      ringSize: profile.window.verdictRingSize,
      maxHotkeys: p.maxVerdictHotkeys ?? VERDICT_STORE_DEFAULTS.maxHotkeys,
      windows: VERDICT_STORE_DEFAULTS.windows,
    })
  }

  /** The validator phase the handler checks against (`window_not_active` unless `open`). */
  get phase(): WindowPhase {
    return this.#phase
  }

  /** The active batcher, or `null` (the handler then answers 503). */
  get activeBatcher(): WindowBatcher | null {
    return this.#batcher
  }

  /** Items queued and not yet processed by the worker. */
  get queueDepth(): number {
    return this.#queue.length - this.#queueHead
  }

  /**
   * Sets the validator phase (wire it to a {@link WindowStateMachine}'s `transition` event).
   * @param phase - The new phase.
   * @throws {ReliquaryError} `INVALID_ARGUMENT` for an unknown phase.
   */
  setPhase(phase: WindowPhase): void {
    if (!['open', 'training', 'publishing', 'ready'].includes(phase))
      throw invalidArgument('phase', 'a window phase', phase)
    this.#phase = phase
  }

  /**
   * Installs the active batcher (or `null` between windows). A different batcher starts a new
   * window's accounting: the quota and bad-envelope counters reset. Queued items of the previous
   * batcher are answered `worker_dropped` by the worker.
   *
   * @param batcher - The new window's batcher, or `null`.
   */
  setActiveBatcher(batcher: WindowBatcher | null): void {
    if (batcher !== this.#batcher) this.ledger.reset()
    this.#batcher = batcher
    if (batcher) this.#verdicts.prune(batcher.windowStart)
  }

  /**
   * The handler stage: parses `body` (refused as `malformed` on failure), runs the handler checks at
   * `arrivalSeconds`, queues what passes and answers `submitted` (E3) or a provisional `accepted`
   * (E1). Rejects are recorded in `/verdicts` (bad envelopes up to the per-window cap). Never throws
   * for any body.
   *
   * @param body - The raw request body: JSON text, UTF-8 bytes, or a parsed value.
   * @param options - `arrivalSeconds`: when the request reached the validator (unix seconds);
   *   `envelope`: only with a `body` that {@link parseSubmission} already returned (it is then not
   *   parsed again), its envelope signature as verified against a window randomness, or `null`.
   * @returns The handler verdict (the validator's server maps it to the HTTP answer).
   * @throws {ReliquaryError} `INVALID_ARGUMENT` only if `arrivalSeconds` is not finite (a caller bug).
   */
  async submit(
    body: unknown,
    options: {
      arrivalSeconds: number
      envelope?: { readonly randomness: string; readonly ok: boolean } | null | undefined
    },
  ): Promise<AdmissionVerdict> {
    const arrivalSeconds = options?.arrivalSeconds
    if (typeof arrivalSeconds !== 'number' || !Number.isFinite(arrivalSeconds))
      throw invalidArgument('arrivalSeconds', 'a finite number of seconds', arrivalSeconds)
    const parsed =
      options.envelope !== undefined
        ? { ok: true as const, request: body as AdmissionRequest }
        : parseSubmission(body, {
            profile: this.config.profile,
            stage: 'handler',
            maxBytes: this.#maxBodyBytes,
          })
    if (!parsed.ok) return parsed.reject
    const request = parsed.request
    const self = this
    // The batcher the handler's checks judged the request against: the item is queued for that
    // window, so a window that rolls over during the handler's awaits cannot adopt it.
    let judgedBy: WindowBatcher | null = this.#batcher
    // Getters: the phase and batcher are read when each check runs, as the reference reads them
    // after its (synchronous) envelope verification.
    const ctx: HandlerContext = {
      config: this.config,
      request,
      arrivalSeconds,
      get phase() {
        return self.#phase
      },
      get batcher() {
        judgedBy = self.#batcher
        return judgedBy
      },
      ledger: this.ledger,
      envelopeChecked: options.envelope ?? undefined,
    }
    const verdict = await runHandlerStage(ctx)
    if (verdict.accepted) {
      if (judgedBy) this.#queue.push({ request, arrivalSeconds, batcher: judgedBy })
      else {
        // The window closed while the handler ran: the miner was told `submitted`, so it gets a
        // final verdict instead of silence.
        this.#recordVerdict(request, 'worker_dropped', false, arrivalSeconds, true)
        this.#lateDrops.add(request.miner_hotkey, 'worker_dropped')
      }
    } else {
      if (verdict.recordVerdict)
        this.#recordVerdict(
          request,
          verdict.reason,
          false,
          arrivalSeconds,
          verdict.reason !== 'bad_envelope_signature',
        )
      if (verdict.reason === 'window_not_active' && verdict.refusal === null)
        this.#lateDrops.add(request.miner_hotkey, 'window_not_active')
      else if (verdict.reason === 'rate_limited')
        this.#lateDrops.add(request.miner_hotkey, 'rate_limited')
      else if (verdict.check === 'sealed') this.#lateDrops.add(request.miner_hotkey, 'batch_filled')
    }
    return verdict
  }

  /**
   * The worker stage on the oldest queued item. Items are processed one at a time even if this is
   * called concurrently. The verdict is recorded in `/verdicts`.
   *
   * @param options - `nowSeconds`: the worker's time (unix seconds), used for the E3 seal schedule
   *   and the `/verdicts` time stamp (the arrival time when omitted).
   * @returns The worker verdict, or `null` when the queue is empty.
   */
  processNext(
    options: { nowSeconds?: number | undefined } = {},
  ): Promise<AdmissionVerdict<ValidSubmission> | null> {
    const run = this.#worker.then(() => this.#processOne(options.nowSeconds))
    this.#worker = run.catch(() => undefined)
    return run
  }

  /**
   * Processes the whole queue.
   * @param options - As {@link AdmissionPipeline.processNext}.
   * @returns The worker verdicts in queue order.
   */
  async drain(
    options: { nowSeconds?: number | undefined } = {},
  ): Promise<AdmissionVerdict<ValidSubmission>[]> {
    const out: AdmissionVerdict<ValidSubmission>[] = []
    for (;;) {
      const v = await this.processNext(options)
      if (v === null) return out
      out.push(v)
    }
  }

  /**
   * Runs the worker stage directly on a request body, bypassing the handler and the queue (tests,
   * replays, or a deployment with its own queue). The body is parsed first (`bad_schema` on
   * failure). Never throws for any body.
   *
   * @param body - Raw body or parsed value.
   * @param options - The batcher to admit into (default: the active one), times.
   * @returns The worker verdict; `worker_dropped` when there is no batcher.
   */
  async admitDirect(
    body: unknown,
    options: {
      batcher?: WindowBatcher | undefined
      arrivalSeconds?: number | undefined
      nowSeconds?: number | undefined
    } = {},
  ): Promise<AdmissionVerdict<ValidSubmission>> {
    const parsed = parseSubmission(body, {
      profile: this.config.profile,
      stage: 'worker',
      maxBytes: this.#maxBodyBytes,
    })
    if (!parsed.ok) return parsed.reject
    const batcher = options.batcher ?? this.#batcher
    if (!batcher) {
      return Object.freeze({
        accepted: false,
        reason: 'worker_dropped',
        stage: 'worker',
        check: 'batcher_active',
        detail: 'no active window',
        refusal: null,
        recordVerdict: true,
      })
    }
    return this.#runWorker(parsed.request, batcher, options.arrivalSeconds, options.nowSeconds)
  }

  async #processOne(
    nowSeconds: number | undefined,
  ): Promise<AdmissionVerdict<ValidSubmission> | null> {
    if (this.#queueHead >= this.#queue.length) return null
    const item = this.#queue[this.#queueHead]!
    this.#queue[this.#queueHead++] = undefined as unknown as QueueItem
    if (this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length) {
      this.#queue.splice(0, this.#queueHead)
      this.#queueHead = 0
    }
    const verdict = await this.#runWorker(
      item.request,
      item.batcher,
      item.arrivalSeconds,
      nowSeconds,
      (max) => this.#upcoming(max),
    )
    this.#recordVerdict(
      item.request,
      verdict.reason === 'submitted' ? 'accepted' : verdict.reason,
      verdict.accepted,
      nowSeconds ?? item.arrivalSeconds,
      true,
    )
    if (!verdict.accepted && (verdict.reason === 'worker_dropped' || verdict.check === 'sealed'))
      this.#lateDrops.add(item.request.miner_hotkey, verdict.reason)
    return verdict
  }

  /** The rollout parameters of up to `max` queued submissions of the active window, in order. */
  #upcoming(max: number): Iterable<RolloutVerifierParameters[]> {
    return queuedRollouts(this.config, this.#queue, this.#queueHead, this.#batcher, max)
  }

  #runWorker(
    request: AdmissionRequest,
    batcher: WindowBatcher,
    arrivalSeconds: number | undefined,
    nowSeconds: number | undefined,
    upcoming?: UpcomingRollouts,
  ): Promise<AdmissionVerdict<ValidSubmission>> {
    const self = this
    const ctx: WorkerContext = {
      config: this.config,
      request,
      batcher,
      // A getter: the accept step re-reads it after the (asynchronous) rollout verification.
      get activeBatcher() {
        return self.#batcher
      },
      arrivalSeconds,
      nowSeconds: nowSeconds !== undefined && Number.isFinite(nowSeconds) ? nowSeconds : undefined,
      scratch: newWorkerScratch(),
      upcoming,
    }
    return runWorkerStage(ctx)
  }

  /** `authenticated`: the request got past the envelope check (or the profile has none). */
  #recordVerdict(
    request: AdmissionRequest,
    reason: RejectReason,
    accepted: boolean,
    ts: number,
    authenticated: boolean,
  ): void {
    const entry = {
      merkle_root: request.merkle_root,
      window_n: request.window_start,
      accepted,
      reason,
      ts,
    }
    const open = !this.config.profile.window.envelopeSignature
    this.#verdicts.record(request.miner_hotkey, entry, authenticated || open)
  }

  /**
   * The `/verdicts/{hotkey}` document: the hotkey's recent verdicts (ring of
   * `window.verdictRingSize`), optionally only those with `ts ≥ since`.
   *
   * @param hotkey - The miner hotkey.
   * @param options - `since`: unix seconds.
   * @returns `{ verdicts }`, oldest first.
   */
  verdicts(
    hotkey: string,
    options: { since?: number | undefined } = {},
  ): { verdicts: VerdictEntry[] } {
    return { verdicts: this.#verdicts.get(hotkey, options.since) }
  }

  /**
   * Returns and clears the late-drop counts (`{hotkey: {reason: count}}`) for the window archive,
   * as the reference does when it archives a window.
   *
   * @returns The counts since the last call.
   */
  takeLateDrops(): Record<string, Record<string, number>> {
    return this.#lateDrops.take()
  }
}
