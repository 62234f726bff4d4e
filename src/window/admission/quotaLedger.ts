/**
 * Per-window, per-hotkey accounting of the E3 `/submit` handler: the submission quota
 * (`MAX_SUBMISSIONS_PER_HOTKEY_PER_WINDOW`) and the number of bad-envelope verdicts recorded
 * (capped so a spoofer cannot flood a victim's `/verdicts`). Both reset when the active batcher
 * changes (a new window).
 *
 * - Spec: docs/protocol.md §4.3 steps 1–2 (mirrors `_per_window_counts` and `_bad_envelope_counts`
 *   in `reliquary/validator/server.py`).
 *
 * @example
 * ```ts
 * import { QuotaLedger } from 'reliquary/window'
 * const ledger = new QuotaLedger()
 * ledger.consume('5F…', 8) // true: 1 of 8 used
 * ```
 */
export class QuotaLedger {
  readonly #submissions = new Map<string, number>()
  readonly #badEnvelopes = new Map<string, number>()

  /**
   * Takes one unit of `hotkey`'s quota if it has any left.
   *
   * @param hotkey - The claimed miner hotkey (already proven by the envelope signature).
   * @param max - The quota per window; 0 means unlimited (still counted).
   * @returns `false` when the quota is exhausted (`rate_limited`); the counter is then unchanged.
   */
  consume(hotkey: string, max: number): boolean {
    const n = this.#submissions.get(hotkey) ?? 0
    if (max > 0 && n >= max) return false
    this.#submissions.set(hotkey, n + 1)
    return true
  }

  /**
   * Counts a bad-envelope verdict for `hotkey` if fewer than `max` were counted this window.
   *
   * @param hotkey - The claimed hotkey of the rejected packet.
   * @param max - Verdicts recorded per hotkey per window.
   * @returns `true` when this verdict is to be recorded in `/verdicts`.
   */
  noteBadEnvelope(hotkey: string, max: number): boolean {
    const n = this.#badEnvelopes.get(hotkey) ?? 0
    if (n >= max) return false
    this.#badEnvelopes.set(hotkey, n + 1)
    return true
  }

  /**
   * Submissions counted for `hotkey` this window.
   * @param hotkey - A hotkey.
   * @returns The count.
   */
  used(hotkey: string): number {
    return this.#submissions.get(hotkey) ?? 0
  }

  /**
   * Bad-envelope verdicts recorded for `hotkey` this window.
   * @param hotkey - A hotkey.
   * @returns The count.
   */
  badEnvelopes(hotkey: string): number {
    return this.#badEnvelopes.get(hotkey) ?? 0
  }

  /** Clears both counters (window boundary). */
  reset(): void {
    this.#submissions.clear()
    this.#badEnvelopes.clear()
  }

  /** Both counters as plain data, keys sorted. */
  snapshot(): { submissions: Record<string, number>; badEnvelopes: Record<string, number> } {
    const sorted = (m: Map<string, number>) =>
      Object.fromEntries([...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
    return { submissions: sorted(this.#submissions), badEnvelopes: sorted(this.#badEnvelopes) }
  }
}
