import { invalidArgument } from '../../errors/base.js'
import type { ProtocolProfile } from '../../protocol/profiles.js'
import { DEFAULT_PROFILE } from '../../protocol/profiles.js'
import type { WindowArchive } from '../archive/windowArchive.js'
import { archiveBatch, assertArchive, assertWindowNumber } from '../archive/windowArchive.js'

/** Anything that can say whether a prompt is in cooldown (a {@link Cooldown}, or a test double). */
export interface CooldownView {
  /** True iff `promptIdx` may not be selected in window `currentWindow`. */
  isInCooldown(promptIdx: number, currentWindow: number): boolean
}

/** Serialisable state of a {@link Cooldown}: `prompt_idx → last window it was batched`. */
export type CooldownSnapshot = {
  /** The cooldown length the state was recorded under (informational). */
  readonly cooldownWindows: number
  /** Decimal prompt index → window, keys in ascending numeric order. */
  readonly lastBatched: Readonly<Record<string, number>>
}

/** Options of the {@link Cooldown} constructor. */
export type CooldownOptions = {
  /** `profile.window.cooldownWindows` is the cooldown length N (0 disables). @default DEFAULT_PROFILE */
  profile?: ProtocolProfile | undefined
}

const PROMPT_KEY = /^(0|[1-9][0-9]*)$/

/**
 * Per-prompt batch cooldown with half-open semantics: a prompt recorded at window W is
 * ineligible while `current − W < N` and eligible again at `W + N`. N = 0 disables it.
 *
 * - Spec: docs/protocol.md §5.5 (mirrors `CooldownMap` in `reliquary/validator/cooldown.py`).
 *
 * @example
 * ```ts
 * import { Cooldown, e1 } from 'reliquary'
 * const cd = new Cooldown({ profile: e1 })  // N = 50
 * cd.record(7, 100)
 * cd.isInCooldown(7, 149) // true
 * cd.isInCooldown(7, 150) // false
 * ```
 */
export class Cooldown implements CooldownView {
  /** The cooldown length N in windows. */
  readonly cooldownWindows: number
  readonly #last = new Map<number, number>()

  /**
   * @param options - {@link CooldownOptions}
   * @throws {ReliquaryError} `INVALID_ARGUMENT` if the profile's cooldown length is not a non-negative integer.
   */
  constructor(options: CooldownOptions = {}) {
    const { profile = DEFAULT_PROFILE } = options
    assertWindowNumber(profile.window.cooldownWindows, 'profile.window.cooldownWindows')
    this.cooldownWindows = profile.window.cooldownWindows
  }

  /**
   * Restores a cooldown from a {@link Cooldown.snapshot} (or the reference's `last_batched` map,
   * whose JSON keys are decimal strings). The cooldown length comes from the profile, as in the
   * reference's `load`.
   *
   * @param snapshot - A snapshot, or a plain `{ [promptIdx]: window }` map.
   * @param options - {@link CooldownOptions}
   * @returns A new cooldown.
   * @throws {ReliquaryError} `INVALID_ARGUMENT` for a non-canonical key or a negative window.
   */
  static fromSnapshot(
    snapshot: CooldownSnapshot | Readonly<Record<string, number>>,
    options: CooldownOptions = {},
  ): Cooldown {
    const cd = new Cooldown(options)
    if (typeof snapshot !== 'object' || snapshot === null)
      throw invalidArgument('snapshot', 'an object', snapshot)
    const map =
      'lastBatched' in snapshot && typeof snapshot.lastBatched === 'object'
        ? (snapshot.lastBatched as Record<string, number>)
        : (snapshot as Record<string, number>)
    for (const [k, w] of Object.entries(map)) {
      if (!PROMPT_KEY.test(k) || !Number.isSafeInteger(Number(k)))
        throw invalidArgument('snapshot key', 'a canonical decimal prompt index', k)
      assertWindowNumber(w, `snapshot[${k}]`)
      cd.#last.set(Number(k), w)
    }
    return cd
  }

  /** Number of prompts with a recorded window (expired ones included). */
  get size(): number {
    return this.#last.size
  }

  /**
   * Whether `promptIdx` is in cooldown at `currentWindow` (`current − last < N`).
   *
   * @param promptIdx - The prompt index.
   * @param currentWindow - The window being filled.
   * @returns `true` if the prompt may not be selected.
   * @throws {ReliquaryError} `INVALID_ARGUMENT` for a non-integer argument.
   */
  isInCooldown(promptIdx: number, currentWindow: number): boolean {
    if (!Number.isSafeInteger(promptIdx))
      throw invalidArgument('promptIdx', 'a safe integer', promptIdx)
    if (!Number.isSafeInteger(currentWindow))
      throw invalidArgument('currentWindow', 'a safe integer', currentWindow)
    if (this.cooldownWindows === 0) return false
    const last = this.#last.get(promptIdx)
    return last !== undefined && currentWindow - last < this.cooldownWindows
  }

  /**
   * Records that `promptIdx` was batched (rewarded) at `window`, replacing any earlier entry.
   *
   * @param promptIdx - A non-negative prompt index.
   * @param window - A non-negative window number.
   * @throws {ReliquaryError} `INVALID_ARGUMENT` for a negative or non-integer argument.
   */
  record(promptIdx: number, window: number): void {
    assertWindowNumber(promptIdx, 'promptIdx')
    assertWindowNumber(window, 'window')
    this.#last.set(promptIdx, window)
  }

  /**
   * Records every prompt of `promptIdxs` at `window` (after a seal: the winning prompts).
   *
   * @param promptIdxs - Prompt indices.
   * @param window - The sealed window.
   * @throws {ReliquaryError} `INVALID_ARGUMENT` as {@link Cooldown.record}.
   */
  recordAll(promptIdxs: Iterable<number>, window: number): void {
    for (const p of promptIdxs) this.record(p, window)
  }

  /**
   * The prompts in cooldown at `currentWindow`, ascending.
   *
   * @param currentWindow - The window being filled.
   * @returns Prompt indices.
   */
  inCooldown(currentWindow: number): number[] {
    return [...this.#last.keys()]
      .filter((p) => this.isInCooldown(p, currentWindow))
      .sort((a, b) => a - b)
  }

  /**
   * Merges the batched prompts of archived windows, keeping the latest window per prompt and
   * skipping windows at or before `currentWindow − N` (already expired). Existing state is kept.
   *
   * - Spec: docs/protocol.md §5.5 "Rebuild at startup".
   *
   * @param archives - Parsed window archives (any order).
   * @param currentWindow - The window about to open.
   * @throws {ReliquaryError} `INVALID_ARGUMENT` for a malformed archive (the state is then unchanged).
   */
  applyArchives(archives: readonly WindowArchive[], currentWindow: number): void {
    const merged = new Map(this.#last)
    this.#collect(archives, currentWindow, merged)
    this.#replace(merged)
  }

  #collect(
    archives: readonly WindowArchive[],
    currentWindow: number,
    into: Map<number, number>,
  ): void {
    if (!Array.isArray(archives))
      throw invalidArgument('archives', 'an array of window archives', archives)
    assertWindowNumber(currentWindow, 'currentWindow')
    const horizon = currentWindow - this.cooldownWindows
    archives.forEach((a, i) => {
      assertArchive(a, i)
      const w = a.window_start
      if (w <= horizon) return
      for (const s of archiveBatch(a, i)) {
        if ((into.get(s.prompt_idx) ?? -1) < w) into.set(s.prompt_idx, w)
      }
    })
  }

  #replace(next: Map<number, number>): void {
    this.#last.clear()
    for (const [p, w] of next) this.#last.set(p, w)
  }

  /**
   * Clears the state and rebuilds it from archived windows (validator startup).
   *
   * @param archives - Parsed window archives.
   * @param currentWindow - The window about to open.
   * @throws {ReliquaryError} `INVALID_ARGUMENT` for a malformed archive (the state is then unchanged).
   */
  rebuildFromArchives(archives: readonly WindowArchive[], currentWindow: number): void {
    const fresh = new Map<number, number>()
    this.#collect(archives, currentWindow, fresh)
    this.#replace(fresh)
  }

  /**
   * The state as plain JSON-ready data (keys ascending).
   *
   * @returns A {@link CooldownSnapshot}.
   */
  snapshot(): CooldownSnapshot {
    const lastBatched: Record<string, number> = {}
    for (const p of [...this.#last.keys()].sort((a, b) => a - b))
      lastBatched[String(p)] = this.#last.get(p)!
    return { cooldownWindows: this.cooldownWindows, lastBatched }
  }
}
