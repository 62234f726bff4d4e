/**
 * Per-hotkey counts of submissions dropped after the handler stage (by reason), kept for the
 * window archive's `late_drops` until taken.
 * @internal
 */
export class LateDrops {
  readonly #counts = new Map<string, Map<string, number>>()

  /** Counts one drop of `hotkey`'s submission for `reason`. */
  add(hotkey: string, reason: string): void {
    let m = this.#counts.get(hotkey)
    if (!m) {
      m = new Map()
      this.#counts.set(hotkey, m)
    }
    m.set(reason, (m.get(reason) ?? 0) + 1)
  }

  /** Returns and clears the counts, as `{hotkey: {reason: count}}`. */
  take(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {}
    for (const [hk, m] of this.#counts) out[hk] = Object.fromEntries(m)
    this.#counts.clear()
    return out
  }
}
