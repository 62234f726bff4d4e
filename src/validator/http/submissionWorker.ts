import type { AdmissionPipeline } from '../../window/admission/admissionPipeline.js'
import type { AdmissionVerdict } from '../../window/admission/admissionTypes.js'
import type { SubmissionEvent } from './createValidatorServer.js'

type QueuedMeta = { hotkey: string; windowStart: number }

/**
 * The one worker that drains the pipeline's queue, one item at a time whatever the number of
 * concurrent requests; every queued submission gets exactly one worker verdict, reported with the
 * hotkey and window it was queued with. Started on demand by {@link SubmissionWorker.enqueued}.
 */
export class SubmissionWorker {
  /** Whether an item is being verified now. */
  busy = false
  /** Worker verdicts produced. */
  verdicts = 0
  readonly #pipeline: AdmissionPipeline
  readonly #now: () => number
  readonly #report: (e: SubmissionEvent) => void
  readonly #settled: () => void
  // Hotkey and window of each queued item, in queue order (the worker is the only consumer).
  readonly #queued: (QueuedMeta | undefined)[] = []
  #head = 0
  #running: Promise<void> | null = null

  /**
   * @param p - The pipeline, the clock, where verdicts are reported, and a callback after each
   *   item (the pending count changed).
   */
  constructor(p: {
    pipeline: AdmissionPipeline
    now: () => number
    report: (e: SubmissionEvent) => void
    settled: () => void
  }) {
    this.#pipeline = p.pipeline
    this.#now = p.now
    this.#report = p.report
    this.#settled = p.settled
  }

  /** The handler queued an item for `hotkey` and `windowStart`: make sure the worker runs. */
  enqueued(meta: QueuedMeta): void {
    this.#queued.push(meta)
    this.#running ??= this.#run()
  }

  /** Resolves when the worker has finished its current run (immediately when idle). */
  async whenStopped(): Promise<void> {
    await this.#running
  }

  #takeMeta(): QueuedMeta | undefined {
    const meta = this.#queued[this.#head]
    if (meta) this.#queued[this.#head++] = undefined
    if (this.#head > 1024 && this.#head * 2 > this.#queued.length) {
      this.#queued.splice(0, this.#head)
      this.#head = 0
    }
    return meta
  }

  async #run(): Promise<void> {
    try {
      while (this.#pipeline.queueDepth > 0) {
        this.busy = true
        let verdict: AdmissionVerdict | null = null
        try {
          verdict = await this.#pipeline.processNext({ nowSeconds: this.#now() })
        } finally {
          this.busy = false
        }
        if (verdict === null) break
        const meta = this.#takeMeta()
        this.verdicts++
        this.#report({
          stage: 'worker',
          hotkey: meta?.hotkey ?? null,
          windowStart: meta?.windowStart ?? null,
          status: 200,
          accepted: verdict.accepted,
          reason: verdict.reason,
          verdict,
        })
        this.#settled()
        // Let pending I/O run between items: a model-bound verification is one long promise chain,
        // and arriving requests must be stamped when they arrive, not after the whole queue.
        await new Promise<void>((r) => setImmediate(r))
      }
    } finally {
      this.#running = null
      this.#settled()
    }
  }
}
