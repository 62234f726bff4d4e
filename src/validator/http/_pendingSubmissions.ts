/**
 * The server's accounting of `/submit` requests not yet decided: those whose body is complete
 * and being handled, those queued, and the one the worker verifies. Requests whose body is still
 * arriving are counted apart (`reading`): they are not in the submit queue, so the seal never
 * waits for them (a slow upload cannot hold a window open). Tracks the peaks and the body bytes
 * held, and wakes `whenIdle` waiters when the count reaches 0.
 */
export class PendingSubmissions {
  /** Requests whose body is complete and whose handler stage runs. */
  handling = 0
  /** Requests whose body is still being read (not counted by {@link count}). */
  reading = 0
  peakReading = 0
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

  /** Counts one more (`+1`) or one fewer (`-1`) request whose body is being read. */
  noteReading(delta: 1 | -1): void {
    this.reading += delta
    this.peakReading = Math.max(this.peakReading, this.reading)
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
