import type { RejectReason } from '../../protocol/profiles.js'

/** One `/verdicts/{hotkey}` entry (wire shape). */
export type VerdictEntry = {
  readonly merkle_root: string
  readonly window_n: number
  readonly accepted: boolean
  readonly reason: RejectReason
  /** Caller-supplied time of the decision (unix seconds). */
  readonly ts: number
}

/** Bounds of a {@link VerdictStore}. */
export type VerdictStoreLimits = {
  /** Entries kept per hotkey (oldest dropped first). */
  readonly ringSize: number
  /** Hotkeys kept (least recently written dropped first). */
  readonly maxHotkeys: number
  /** Windows kept: entries of windows older than `current − windows + 1` are pruned. */
  readonly windows: number
}

/** Defaults of {@link VerdictStoreLimits} besides the profile's ring size. */
export const VERDICT_STORE_DEFAULTS = /*#__PURE__*/ Object.freeze({
  maxHotkeys: 10_000,
  windows: 3,
} as const)

/**
 * The `/verdicts` memory of a validator, bounded three ways: a ring per hotkey, a cap on hotkeys
 * (least recently written evicted), and pruning of entries older than the last few windows. A
 * hotkey gets a ring only from an authenticated request (its envelope signature verified) or
 * when the profile has no envelope signature: a stream of requests under invented hotkeys adds
 * nothing. Unauthenticated verdicts (bad envelopes) are added only to a ring that already exists.
 * @internal
 */
export class VerdictStore {
  readonly #rings = new Map<string, VerdictEntry[]>()
  readonly #limits: VerdictStoreLimits

  constructor(limits: VerdictStoreLimits) {
    this.#limits = limits
  }

  /** Hotkeys with a ring. */
  get hotkeys(): number {
    return this.#rings.size
  }

  /** Appends an entry; `mayCreate` says whether the hotkey may get a new ring. */
  record(hotkey: string, entry: VerdictEntry, mayCreate: boolean): void {
    let ring = this.#rings.get(hotkey)
    if (ring) this.#rings.delete(hotkey)
    else if (!mayCreate) return
    else ring = []
    this.#rings.set(hotkey, ring)
    ring.push(Object.freeze({ ...entry }))
    if (ring.length > this.#limits.ringSize) ring.splice(0, ring.length - this.#limits.ringSize)
    while (this.#rings.size > this.#limits.maxHotkeys) {
      const oldest = this.#rings.keys().next().value as string
      this.#rings.delete(oldest)
    }
  }

  /** Drops entries of windows before `currentWindow − windows + 1`, and rings left empty. */
  prune(currentWindow: number): void {
    const cutoff = currentWindow - this.#limits.windows + 1
    for (const [hk, ring] of this.#rings) {
      const kept = ring.filter((v) => v.window_n >= cutoff)
      if (kept.length === 0) this.#rings.delete(hk)
      else if (kept.length !== ring.length) this.#rings.set(hk, kept)
    }
  }

  /** The hotkey's entries, oldest first, optionally only those with `ts ≥ since`. */
  get(hotkey: string, since?: number): VerdictEntry[] {
    const ring = this.#rings.get(hotkey) ?? []
    return since === undefined ? [...ring] : ring.filter((v) => v.ts >= since)
  }
}
