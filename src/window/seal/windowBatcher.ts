import { ReliquaryError, invalidArgument } from '../../errors/base.js'
import { drandRoundAt, drandRoundTime } from '../../drand/round.js'
import {
  DEFAULT_PROFILE,
  type ProtocolProfile,
  type RejectReason,
} from '../../protocol/profiles.js'
import { isBootstrapWindow } from '../../reward/groups.js'
import type { DrandTiming } from '../admission/admissionTypes.js'
import { Cooldown, type CooldownSnapshot } from './cooldown.js'
import { HashDedup } from './hashDedup.js'
import { sealWindow, type SealWindowReturnType } from './sealWindow.js'
import { assertWindowNumber } from '../archive/windowArchive.js'
import type { RejectedSubmission, ValidSubmission } from './validSubmission.js'

/** Rejected submissions kept per hotkey for the archive's `rejected[]` (`REJECTED_LIST_CAP_PER_HOTKEY`). */
export const REJECTED_LIST_CAP_PER_HOTKEY = 5

/** Parameters of the {@link WindowBatcher} constructor. */
export type WindowBatcherParameters = {
  /** The window number (`window_start`, = `/state.window_n`). */
  windowStart: number
  /** The window randomness (hex, `""` if none yet); the envelope and the rollouts bind it. */
  randomness: string
  /** The checkpoint revision miners must claim; `""` disables the gate. @default '' */
  checkpointHash?: string | undefined
  /** Shared across windows; read at admission, written at seal. @default a fresh one */
  cooldown?: Cooldown | undefined
  /** Shared across windows; read at admission, written at seal. @default a fresh one */
  hashDedup?: HashDedup | undefined
  /** @default DEFAULT_PROFILE */
  profile?: ProtocolProfile | undefined
  /** Use the bootstrap zone threshold. @default isBootstrapWindow(windowStart) */
  bootstrap?: boolean | undefined
  /** drand chain timing for the seal boundary. @default profile.drand */
  drand?: DrandTiming | undefined
  /** When the window opened (unix seconds): archive `response_time` and the window timeout. */
  openedAtSeconds?: number | undefined
}

/** Admission state of a batcher, as plain data (for tests and diagnostics). */
export type WindowBatcherSnapshot = {
  readonly windowStart: number
  readonly validCount: number
  /** `[promptIdx, count]`, ascending. */
  readonly promptCounts: readonly (readonly [number, number])[]
  readonly sealTriggerRound: number | null
  readonly closed: boolean
  readonly sealed: boolean
  readonly cooldown: CooldownSnapshot
  readonly hashDedup: Readonly<Record<string, number>>
}

/** Options of {@link WindowBatcher.seal}. */
export type SealOptions = {
  /** Items still waiting in the submit queue (the E3 seal waits for 0). @default 0 */
  queueDepth?: number | undefined
  /** Seal now whatever the trigger (partial window, e.g. after the window timeout). @default false */
  force?: boolean | undefined
}

/**
 * The state of one open window (the reference's `GrpoWindowBatcher`, without I/O or clocks): the
 * valid submissions and their per-prompt buckets, the E3 seal trigger, the worker-stage reject
 * diagnostics, and the seal itself.
 *
 * Seal rule (docs/protocol.md §5.2):
 * - E3 (`window.ordering = 'drand_round'`): when the B-th distinct non-cooldown prompt lands, its
 *   `drand_round` R becomes the seal trigger. Admission keeps accepting round R and answers
 *   `batch_filled` to later rounds. The window seals at the first drand boundary after the trigger
 *   was recorded plus `window.sealGraceSeconds`, once the submit queue is empty
 *   ({@link WindowBatcher.sealDueAt}, {@link WindowBatcher.isSealDue}).
 * - E1: the window closes the moment the B-th distinct non-cooldown prompt is accepted.
 *
 * Either way, `window.windowTimeoutSeconds` after `openedAtSeconds` a partial seal is due.
 *
 * @example
 * ```ts
 * import { WindowBatcher } from 'reliquary/window'
 * const batcher = new WindowBatcher({ windowStart: 500, randomness: 'ab'.repeat(32) })
 * // … admission records valid submissions …
 * if (batcher.isSealDue(nowSeconds, { queueDepth: 0 })) {
 *   const { batch, rewardsByHotkey, burn } = batcher.seal(nowSeconds)
 * }
 * ```
 */
export class WindowBatcher {
  readonly windowStart: number
  readonly randomness: string
  readonly checkpointHash: string
  readonly cooldown: Cooldown
  readonly hashDedup: HashDedup
  readonly profile: ProtocolProfile
  readonly bootstrap: boolean
  readonly drand: DrandTiming
  readonly openedAtSeconds: number | undefined

  readonly #valid: ValidSubmission[] = []
  readonly #perPrompt = new Map<number, ValidSubmission[]>()
  #triggerRound: number | null = null
  #triggerRecordedAt: number | undefined
  #closedAt: number | undefined
  #closed = false
  #sealResult: SealWindowReturnType<ValidSubmission> | null = null
  readonly #rejectCounts = new Map<string, number>()
  readonly #rejected: RejectedSubmission[] = []
  readonly #rejectedPerHotkey = new Map<string, number>()

  /**
   * @param p - {@link WindowBatcherParameters}
   * @throws {ReliquaryError} `INVALID_ARGUMENT` for a negative or non-integer window, a non-string
   *   randomness or checkpoint, or non-finite times.
   */
  constructor(p: WindowBatcherParameters) {
    if (typeof p !== 'object' || p === null)
      throw invalidArgument('parameters', 'an object { windowStart, randomness, … }', p)
    assertWindowNumber(p.windowStart, 'windowStart')
    if (typeof p.randomness !== 'string' || !/^[0-9a-fA-F]*$/.test(p.randomness))
      throw invalidArgument('randomness', 'a hex string (may be empty)', p.randomness)
    const checkpointHash = p.checkpointHash ?? ''
    if (typeof checkpointHash !== 'string')
      throw invalidArgument('checkpointHash', 'a string', checkpointHash)
    const profile = p.profile ?? DEFAULT_PROFILE
    const drand = p.drand ?? profile.drand
    if (!Number.isFinite(drand.genesisTime) || !(drand.periodSeconds > 0))
      throw invalidArgument('drand', '{ genesisTime: finite, periodSeconds > 0 }', drand)
    if (p.openedAtSeconds !== undefined && !Number.isFinite(p.openedAtSeconds))
      throw invalidArgument('openedAtSeconds', 'a finite number of seconds', p.openedAtSeconds)
    this.windowStart = p.windowStart
    this.randomness = p.randomness
    this.checkpointHash = checkpointHash
    this.profile = profile
    this.cooldown = p.cooldown ?? new Cooldown({ profile })
    this.hashDedup = p.hashDedup ?? new HashDedup({ profile })
    this.bootstrap = p.bootstrap ?? isBootstrapWindow(p.windowStart, { profile })
    this.drand = { genesisTime: drand.genesisTime, periodSeconds: drand.periodSeconds }
    this.openedAtSeconds = p.openedAtSeconds
  }

  /** Number of valid submissions (`/state.valid_submissions`). */
  get validCount(): number {
    return this.#valid.length
  }

  /** The E3 seal trigger round, or `null` before the B-th distinct prompt. */
  get sealTriggerRound(): number | null {
    return this.#triggerRound
  }

  /**
   * Whether admission is closed (the reference's `is_sealed()`): the seal fired (E3) or the B-th
   * distinct prompt landed (E1). Later submissions get `batch_filled`.
   */
  get isClosed(): boolean {
    return this.#closed
  }

  /** Whether {@link WindowBatcher.seal} has run. */
  get isSealed(): boolean {
    return this.#sealResult !== null
  }

  /** The seal result, once sealed. */
  get sealResult(): SealWindowReturnType<ValidSubmission> | null {
    return this.#sealResult
  }

  /** The valid submissions in acceptance order (a copy). */
  validSubmissions(): ValidSubmission[] {
    return [...this.#valid]
  }

  /**
   * Valid submissions already recorded for `promptIdx` (the `PROMPT_FULL` cap reads it).
   * @param promptIdx - A prompt index.
   * @returns The count (0 for unknown prompts).
   */
  promptSubmissionCount(promptIdx: number): number {
    return this.#perPrompt.get(promptIdx)?.length ?? 0
  }

  /**
   * Whether `promptIdx` is in cooldown for this window.
   * @param promptIdx - A prompt index (a safe integer).
   * @returns `true` if admission must answer `prompt_in_cooldown`.
   */
  isInCooldown(promptIdx: number): boolean {
    return (
      Number.isSafeInteger(promptIdx) && this.cooldown.isInCooldown(promptIdx, this.windowStart)
    )
  }

  /** Distinct non-cooldown prompts among the valid submissions. */
  distinctEligiblePromptCount(): number {
    let n = 0
    for (const p of this.#perPrompt.keys())
      if (!this.cooldown.isInCooldown(p, this.windowStart)) n++
    return n
  }

  /**
   * Records a submission that passed every check (the admission worker calls this), then applies
   * the seal rule: E3 records the trigger round when the B-th distinct non-cooldown prompt lands,
   * E1 closes the window.
   *
   * @param sub - The valid submission.
   * @param options - `nowSeconds`: when the worker accepted it (the E3 seal waits for the drand
   *   boundary after this instant; without it, the end of the trigger round is used).
   * @throws {ReliquaryError} `WINDOW_STATE_INVALID` once the window is sealed;
   *   `INVALID_ARGUMENT` for a malformed submission.
   */
  recordValid(sub: ValidSubmission, options: { nowSeconds?: number | undefined } = {}): void {
    // E1 keeps accepting between the close (B-th distinct prompt) and the seal, as the reference's
    // worker does until `seal_batch` runs; E3 closes only at the seal.
    if (this.#sealResult) {
      throw new ReliquaryError(
        'WINDOW_STATE_INVALID',
        `Window ${this.windowStart} is sealed; no submission can be recorded.`,
      )
    }
    if (typeof sub !== 'object' || sub === null)
      throw invalidArgument('sub', 'a valid submission', sub)
    assertWindowNumber(sub.promptIdx, 'sub.promptIdx')
    const e3 = this.profile.window.ordering === 'drand_round'
    const round = e3 ? sub.drandRound : sub.signedRound
    if (!Number.isSafeInteger(round) || (round as number) < 0)
      throw invalidArgument(
        e3 ? 'sub.drandRound' : 'sub.signedRound',
        'a non-negative safe integer',
        round,
      )
    const now = options.nowSeconds
    if (now !== undefined && !Number.isFinite(now))
      throw invalidArgument('nowSeconds', 'a finite number of seconds', now)
    this.#valid.push(sub)
    const bucket = this.#perPrompt.get(sub.promptIdx)
    if (bucket) bucket.push(sub)
    else this.#perPrompt.set(sub.promptIdx, [sub])
    if (
      this.#triggerRound === null &&
      !this.#closed &&
      this.distinctEligiblePromptCount() >= this.profile.group.batchSize
    ) {
      if (e3) {
        this.#triggerRound = round as number
        this.#triggerRecordedAt = now
      } else {
        this.#closed = true
        this.#closedAt = now
      }
    }
  }

  /**
   * Counts a worker-stage reject for the archive (`reject_summary`, and `rejected[]` capped at
   * {@link REJECTED_LIST_CAP_PER_HOTKEY} per hotkey; `grail_fail` never exposes its sketch diff).
   *
   * @param r - The reject and whatever diagnostics were computed before it.
   */
  recordReject(r: {
    hotkey: string
    promptIdx: number
    reason: RejectReason
    sketchDiffMax?: number | null | undefined
    lpDevMax?: number | null | undefined
    distQ10Min?: number | null | undefined
  }): void {
    this.#rejectCounts.set(r.reason, (this.#rejectCounts.get(r.reason) ?? 0) + 1)
    const n = this.#rejectedPerHotkey.get(r.hotkey) ?? 0
    if (n >= REJECTED_LIST_CAP_PER_HOTKEY) return
    this.#rejectedPerHotkey.set(r.hotkey, n + 1)
    this.#rejected.push(
      Object.freeze({
        hotkey: r.hotkey,
        promptIdx: r.promptIdx,
        reason: r.reason,
        sketchDiffMax: r.reason === 'grail_fail' ? null : (r.sketchDiffMax ?? null),
        lpDevMax: r.lpDevMax ?? null,
        distQ10Min: r.distQ10Min ?? null,
      }),
    )
  }

  /** Worker-stage reject counts by reason (the archive's `reject_summary`). */
  rejectSummary(): Record<string, number> {
    return Object.fromEntries(this.#rejectCounts)
  }

  /** The capped list of worker-stage rejects (the archive's `rejected`). */
  rejectedSubmissions(): RejectedSubmission[] {
    return [...this.#rejected]
  }

  /**
   * When the seal becomes due (unix seconds), before the queue-empty condition:
   * - E3: the first drand boundary after the trigger was recorded, plus `sealGraceSeconds`
   *   (without a record time, the end of the trigger round); `null` before a trigger;
   * - E1: the instant the window closed (−∞ if unknown); `null` before that.
   * The window timeout is separate (see {@link WindowBatcher.isSealDue}).
   *
   * @returns Seconds, or `null` when no seal is scheduled.
   */
  sealDueAt(): number | null {
    if (this.profile.window.ordering !== 'drand_round')
      return this.#closed ? (this.#closedAt ?? Number.NEGATIVE_INFINITY) : null
    if (this.#triggerRound === null) return null
    const t = this.#triggerRecordedAt
    const opts = { genesisTime: this.drand.genesisTime, periodSeconds: this.drand.periodSeconds }
    // `seconds_until_next_drand_boundary(now)`: the start of the round after the current one.
    const boundary =
      t === undefined
        ? drandRoundTime(this.#triggerRound + 1, opts)
        : drandRoundTime(drandRoundAt(t, opts) + 1, opts)
    return boundary + this.profile.window.sealGraceSeconds
  }

  /**
   * Whether the window timeout has passed (a partial seal is then due).
   * @param nowSeconds - The current time (unix seconds).
   * @returns `false` when `openedAtSeconds` is unknown.
   */
  isTimedOut(nowSeconds: number): boolean {
    return (
      this.openedAtSeconds !== undefined &&
      nowSeconds - this.openedAtSeconds >= this.profile.window.windowTimeoutSeconds
    )
  }

  /**
   * Whether {@link WindowBatcher.seal} may run now: the scheduled seal time has passed and the
   * submit queue is empty (E3 drains trigger-round submissions first), or the window timed out.
   *
   * @param nowSeconds - The current time (unix seconds).
   * @param options - `queueDepth`: items still queued. @default 0
   * @returns `true` when due.
   * @throws {ReliquaryError} `INVALID_ARGUMENT` for a non-finite time or a bad queue depth.
   */
  isSealDue(nowSeconds: number, options: { queueDepth?: number | undefined } = {}): boolean {
    if (!Number.isFinite(nowSeconds))
      throw invalidArgument('nowSeconds', 'a finite number of seconds', nowSeconds)
    const { queueDepth = 0 } = options
    if (!Number.isSafeInteger(queueDepth) || queueDepth < 0)
      throw invalidArgument('queueDepth', 'a non-negative integer', queueDepth)
    if (this.#sealResult) return false
    if (this.isTimedOut(nowSeconds)) return true
    const due = this.sealDueAt()
    return due !== null && nowSeconds >= due && queueDepth === 0
  }

  /**
   * Seals the window: closes admission, selects the batch with {@link sealWindow}, records the
   * winning prompts in the cooldown and their rollout hashes in the dedup.
   *
   * @param nowSeconds - The current time (unix seconds).
   * @param options - {@link SealOptions}
   * @returns The batch, `rewardsByHotkey`, `burn`, `winningPrompts` and `trained`.
   * @throws {ReliquaryError} `WINDOW_STATE_INVALID` if already sealed, or if the seal is not due
   *   and `force` is not set; `INVALID_ARGUMENT` for a non-finite time.
   */
  seal(nowSeconds: number, options: SealOptions = {}): SealWindowReturnType<ValidSubmission> {
    if (this.#sealResult)
      throw new ReliquaryError(
        'WINDOW_STATE_INVALID',
        `Window ${this.windowStart} is already sealed.`,
      )
    const due = this.isSealDue(nowSeconds, options)
    if (!due && !options.force) {
      const at = this.sealDueAt()
      throw new ReliquaryError(
        'WINDOW_STATE_INVALID',
        `Window ${this.windowStart} is not due to seal at ${nowSeconds}.`,
        {
          details:
            at === null
              ? 'No seal trigger yet.'
              : `Due at ${at} once the submit queue is empty (queue depth ${options.queueDepth ?? 0}).`,
          hints: [
            'Pass { force: true } for a partial seal (the reference does so after WINDOW_TIMEOUT_SECONDS).',
          ],
        },
      )
    }
    this.#closed = true
    this.#closedAt ??= nowSeconds
    this.#sealResult = sealWindow({
      submissions: this.#valid,
      windowStart: this.windowStart,
      cooldown: this.cooldown,
      hashDedup: this.hashDedup,
      profile: this.profile,
    })
    return this.#sealResult
  }

  /**
   * The admission state as plain data: valid count, per-prompt counts, trigger, closed/sealed
   * flags, and the cooldown and dedup snapshots. Rejected submissions must leave it unchanged.
   *
   * @returns A {@link WindowBatcherSnapshot}.
   */
  snapshot(): WindowBatcherSnapshot {
    return {
      windowStart: this.windowStart,
      validCount: this.#valid.length,
      promptCounts: [...this.#perPrompt]
        .map(([p, s]) => [p, s.length] as const)
        .sort((a, b) => a[0] - b[0]),
      sealTriggerRound: this.#triggerRound,
      closed: this.#closed,
      sealed: this.#sealResult !== null,
      cooldown: this.cooldown.snapshot(),
      hashDedup: this.hashDedup.snapshot(),
    }
  }
}
