import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { threadEntry } from '../../_utils/threadEntry.js'
import { ReliquaryError } from '../../errors/base.js'
import { ERROR_CODES, type ErrorCode } from '../../errors/codes.js'
import type {
  ModelWorkerErrorData,
  ModelWorkerInit,
  ModelWorkerOp,
  ModelWorkerRequest,
  ModelWorkerResponse,
  ModelWorkerFault,
} from './_messages.js'

/** The errors a worker sends back become typed errors again on this side. */
function toError(e: ModelWorkerErrorData): ReliquaryError {
  const code =
    e.code !== null && Object.hasOwn(ERROR_CODES, e.code)
      ? (e.code as ErrorCode)
      : 'VALIDATOR_WORKER_FAILED'
  return new ReliquaryError(code, e.message, { hints: e.hints })
}

/** `VALIDATOR_WORKER_FAILED`: the worker `why` (started with "could not …", "crashed …", …). */
export function workerFailed(why: string, cause?: unknown): ReliquaryError {
  return new ReliquaryError('VALIDATOR_WORKER_FAILED', `The model worker ${why}.`, {
    hints: [
      'The next call starts a new worker; the validator goes on.',
      'Out of memory? The worker holds a second copy of the policy, the verify model and the optimizer; run with compute "in-process" to save it.',
    ],
    cause,
  })
}

const here = typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url)

/**
 * How to start the worker: from this package's build (`dist/validator/modelWorker.js`), or, when
 * running from the TypeScript sources (tests, `tsx`), the source entry through tsx.
 */
function workerEntry(): { filename: string | URL; eval: boolean } {
  const entry = threadEntry(here, '_modelWorkerMain.ts', 'dist/validator/modelWorker.js')
  if (!entry) throw workerFailed('could not start: dist/validator/modelWorker.js is missing')
  return entry
}

type Pending = { resolve: (v: unknown) => void; reject: (e: unknown) => void }

/**
 * One model worker thread: started with its {@link ModelWorkerInit}, `ready` once its models are
 * loaded; `call` sends one request. When the thread fails to start, crashes, exits or is
 * terminated, every call in flight and every later call rejects with `VALIDATOR_WORKER_FAILED`
 * (or the worker's own start error) and `alive` turns false.
 * @internal
 */
export class WorkerThread {
  readonly ready: Promise<void>
  #alive = true
  #failure: ReliquaryError | null = null
  #nextId = 1
  readonly #worker: Worker
  readonly #pending = new Map<number, Pending>()
  /** The fault to inject into a request, if any (`ModelWorker.injectFault`, for tests). */
  faultFor: ((op: ModelWorkerOp) => ModelWorkerFault['kind'] | null) | null = null

  /** @param init - The worker's models and backend. */
  constructor(init: ModelWorkerInit) {
    const entry = workerEntry()
    this.#worker = new Worker(entry.filename, { eval: entry.eval, workerData: init })
    let markReady!: () => void
    let failReady!: (e: unknown) => void
    this.ready = new Promise<void>((res, rej) => {
      markReady = res
      failReady = rej
    })
    this.ready.catch(() => undefined)
    const fail = (e: ReliquaryError): void => {
      this.#alive = false
      this.#failure ??= e
      failReady(this.#failure)
      for (const q of this.#pending.values()) q.reject(e)
      this.#pending.clear()
    }
    this.#worker.on('message', (m: ModelWorkerResponse) => {
      if (m.id === 0) {
        if (m.ok) markReady()
        else {
          fail(toError(m.error))
          void this.#worker.terminate()
        }
        return
      }
      const q = this.#pending.get(m.id)
      if (!q) return
      this.#pending.delete(m.id)
      if (m.ok) q.resolve(m.value)
      else q.reject(toError(m.error))
    })
    this.#worker.on('error', (e) => fail(workerFailed(`crashed (${e.message})`, e)))
    this.#worker.on('exit', (code) => fail(workerFailed(`exited (code ${code})`)))
  }

  /** False once the thread failed, exited or was terminated. */
  get alive(): boolean {
    return this.#alive
  }

  /**
   * Sends one request once the worker is ready.
   * @param op - The request.
   * @returns The worker's answer.
   */
  async call<T>(op: ModelWorkerOp): Promise<T> {
    await this.ready
    if (!this.#alive) throw this.#failure ?? workerFailed('has stopped')
    const id = this.#nextId++
    const fault = this.faultFor?.(op) ?? null
    const answer = new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.#worker.postMessage({ ...op, id } as ModelWorkerRequest)
    })
    if (fault === null) return answer
    if (fault === 'crash') void this.terminate()
    const value = await answer
    if (fault === 'crash-after') await this.terminate()
    else if (fault === 'error')
      throw new ReliquaryError('VALIDATOR_WORKER_FAILED', `Injected fault: ${op.op} failed.`)
    return value
  }

  /** Stops the thread; calls in flight reject. */
  async terminate(): Promise<void> {
    await this.#worker.terminate()
    this.#alive = false
  }
}
