/**
 * The server's accounting of `/submit` requests not yet decided: those being read or handled,
 * those queued, and the one the worker verifies. Tracks the peaks and the body bytes held, and
 * wakes `whenIdle` waiters when the count reaches 0.
 */
export class PendingSubmissions {
  /** Requests between arrival and their answer. */
  handling = 0
  /** Body bytes those requests hold. */
  buffered = 0
  peakPending = 0
  peakBufferedBytes = 0
  readonly #queueDepth: () => number
  readonly #workerBusy: () => boolean
  #idleWaiters: (() => void)[] = []

  /**
   * @param queueDepth - Items waiting in the pipeline's queue.
   * @param workerBusy - Whether the worker is verifying an item.
   */
  constructor(queueDepth: () => number, workerBusy: () => boolean) {
    this.#queueDepth = queueDepth
    this.#workerBusy = workerBusy
  }

  /** Requests not yet decided. */
  count(): number {
    return this.handling + this.#queueDepth() + (this.#workerBusy() ? 1 : 0)
  }

  /** Records the peak and wakes idle waiters when nothing is pending. */
  note(): void {
    this.peakPending = Math.max(this.peakPending, this.count())
    if (this.count() === 0 && this.#idleWaiters.length > 0) {
      const ws = this.#idleWaiters
      this.#idleWaiters = []
      for (const w of ws) w()
    }
  }

  /** Counts `n` more body bytes held (negative: released). */
  hold(n: number): void {
    this.buffered += n
    this.peakBufferedBytes = Math.max(this.peakBufferedBytes, this.buffered)
  }

  /** Resolves once nothing is pending (immediately if nothing is). */
  whenIdle(): Promise<void> {
    return this.count() === 0
      ? Promise.resolve()
      : new Promise<void>((r) => this.#idleWaiters.push(r))
  }
}
