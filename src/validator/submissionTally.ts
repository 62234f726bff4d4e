import type { SubmissionEvent } from './http/createValidatorServer.js'

/** Per-hotkey counts: requests, worker accepts, rejects by reason (handler and worker stages). */
export type HotkeyCounts = {
  /** `/submit` requests that reached the handler with this `miner_hotkey`. */
  submitted: number
  /** Worker verdicts `accepted`. */
  accepted: number
  /** Rejects by reason, both stages (`queue_full` and `payload_too_large` included). */
  rejected: Record<string, number>
}

const newCounts = (): HotkeyCounts => ({ submitted: 0, accepted: 0, rejected: {} })

/** A copy of `c` that shares nothing with it. */
export const copyCounts = (c: HotkeyCounts): HotkeyCounts => ({
  submitted: c.submitted,
  accepted: c.accepted,
  rejected: { ...c.rejected },
})

function countInto(c: HotkeyCounts, e: SubmissionEvent): void {
  if (e.stage === 'handler') c.submitted++
  if (e.accepted) {
    if (e.stage === 'worker') c.accepted++
  } else c.rejected[e.reason] = (c.rejected[e.reason] ?? 0) + 1
}

function bump(m: Map<string, HotkeyCounts>, hotkey: string, e: SubmissionEvent): void {
  let c = m.get(hotkey)
  if (!c) {
    c = newCounts()
    m.set(hotkey, c)
  }
  countInto(c, e)
}

/**
 * Counts admission outcomes per miner hotkey over the validator's life and over the current
 * window (the window report's `perHotkey` and `rejects`). Monitoring only: nothing here feeds
 * the protocol.
 */
export class SubmissionTally {
  readonly #totals = new Map<string, HotkeyCounts>()
  #window = new Map<string, HotkeyCounts>()
  #windowRejects: Record<string, number> = {}
  #windowN: number

  /** @param windowN - The window counted first (the last window already used). */
  constructor(windowN: number) {
    this.#windowN = windowN
  }

  /** Starts counting window `windowN` (its counts start at zero). */
  startWindow(windowN: number): void {
    this.#windowN = windowN
    this.#window = new Map()
    this.#windowRejects = {}
  }

  /**
   * Counts one server event. Worker verdicts belong to the window they were queued for; handler
   * answers to the window open now.
   *
   * @param e - The server's event.
   * @param currentWindowN - The open window (or the last one between windows).
   * @returns The window the event was counted for.
   */
  record(e: SubmissionEvent, currentWindowN: number): number {
    const w = e.stage === 'worker' && e.windowStart !== null ? e.windowStart : currentWindowN
    const hk = e.hotkey ?? '(no hotkey)'
    bump(this.#totals, hk, e)
    if (w === this.#windowN) {
      bump(this.#window, hk, e)
      if (!e.accepted) this.#windowRejects[e.reason] = (this.#windowRejects[e.reason] ?? 0) + 1
    }
    return w
  }

  /** Counts per hotkey over the validator's life (copies). */
  totals(): Record<string, HotkeyCounts> {
    return Object.fromEntries([...this.#totals].map(([k, c]) => [k, copyCounts(c)]))
  }

  /** Counts per hotkey of the current window (copies). */
  windowCounts(): Record<string, HotkeyCounts> {
    return Object.fromEntries([...this.#window].map(([k, c]) => [k, copyCounts(c)]))
  }

  /** Rejects of the current window by reason (a copy). */
  windowRejects(): Record<string, number> {
    return { ...this.#windowRejects }
  }
}
