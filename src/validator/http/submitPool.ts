import { availableParallelism } from 'node:os'
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { threadEntry } from '../../_utils/threadEntry.js'
import { invalidArgument, ReliquaryError } from '../../errors/base.js'
import type { ProtocolProfile } from '../../protocol/profiles.js'
import { fromRemote, type PreparedSubmit } from './_prepareSubmit.js'

export type { FastApiErrorItem } from './_fastapiDetail.js'
export type { PreparedSubmit }
import type { SubmitPoolJob, SubmitPoolRequest, SubmitPoolResponse } from './_submitPoolMessages.js'

/** Defaults of {@link SubmitPool}. */
export const SUBMIT_POOL_DEFAULTS = /*#__PURE__*/ Object.freeze({
  /** A body still unanswered this long after it was posted fails its thread (then restarted). */
  jobTimeoutMs: 30_000,
})

/**
 * The default pool size: half the cores, at least 2 and at most 8 (never more than the cores):
 * 2 on 2 to 5 cores, 4 on 8, 8 on 16 or more. When 200 full-size bodies arrive at once on a
 * 16-core machine, a probe's p99 was 66-155 ms a run with 2 threads, 20-53 ms with 4 and 13-36 ms
 * with 8 (BENCHMARKS.md, "The arrival on 16 cores").
 */
export function defaultSubmitPoolSize(): number {
  const cores = availableParallelism()
  return Math.max(1, Math.min(cores, 8, Math.max(2, Math.floor(cores / 2))))
}

/** `VALIDATOR_SUBMIT_POOL_FAILED`: a parsing thread `why` ("crashed …", "could not start …"). */
function poolFailed(why: string, cause?: unknown): ReliquaryError {
  return new ReliquaryError('VALIDATOR_SUBMIT_POOL_FAILED', `A /submit parsing thread ${why}.`, {
    hints: ['The request is answered 500; the next request starts a new thread.'],
    cause,
  })
}

const here = typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url)

/** The thread's entry: the build's `dist/validator/submitPoolWorker.js`, or the source via tsx. */
function poolEntry(): { filename: string | URL; eval: boolean } {
  const entry = threadEntry(here, '_submitPoolMain.ts', 'dist/validator/submitPoolWorker.js')
  if (!entry) throw poolFailed('could not start: dist/validator/submitPoolWorker.js is missing')
  return entry
}

type Job = {
  resolve: (v: PreparedSubmit) => void
  reject: (e: ReliquaryError) => void
  timer: ReturnType<typeof setTimeout>
}

/** One parsing thread and the jobs it holds. */
class Slot {
  readonly worker: Worker
  readonly jobs = new Map<number, Job>()
  /** Bodies waiting for this loop turn's one message to the thread. */
  #outbox: SubmitPoolJob[] = []
  /** Resolves once the thread can work; rejects if it fails first. */
  readonly ready: Promise<void>
  #started!: () => void
  #failedStart!: (e: unknown) => void
  dead = false

  constructor(entry: { filename: string | URL; eval: boolean }, profile: ProtocolProfile) {
    this.ready = new Promise<void>((res, rej) => {
      this.#started = res
      this.#failedStart = rej
    })
    this.ready.catch(() => undefined)
    this.worker = new Worker(entry.filename, { eval: entry.eval, workerData: { profile } })
    this.worker.unref()
    this.worker.on('message', (m: SubmitPoolResponse) => {
      if (m.id === 0) {
        if (m.ok) this.#started()
        else this.fail(poolFailed(`could not start (${m.message})`))
        return
      }
      const job = this.jobs.get(m.id)
      if (!job) return
      this.jobs.delete(m.id)
      clearTimeout(job.timer)
      if (m.ok && m.value !== null) job.resolve(fromRemote(m.value, profile))
      else job.reject(poolFailed(`failed (${m.ok ? 'no answer' : m.message})`))
    })
    this.worker.on('error', (e) => this.fail(poolFailed(`crashed (${e.message})`, e)))
    this.worker.on('exit', (code) => this.fail(poolFailed(`exited (code ${code})`)))
  }

  /**
   * Posts `job` with every other body queued in this loop turn, in one message: each message
   * wakes the thread, and a wake-up can cost the loop its core for a moment on a busy machine.
   */
  send(job: SubmitPoolJob): void {
    this.#outbox.push(job)
    if (this.#outbox.length > 1) return
    setImmediate(() => {
      const jobs = this.#outbox
      this.#outbox = []
      if (this.dead) return
      const m: SubmitPoolRequest = { jobs }
      this.worker.postMessage(
        m,
        jobs.map((j) => j.bytes.buffer as ArrayBuffer),
      )
    })
  }

  /** Marks the thread dead, fails every job it holds and stops it. */
  fail(e: ReliquaryError): void {
    this.#failedStart(e)
    if (!this.dead) {
      this.dead = true
      void this.worker.terminate()
    }
    for (const job of this.jobs.values()) {
      clearTimeout(job.timer)
      job.reject(e)
    }
    this.jobs.clear()
  }
}

/**
 * A small pool of `worker_threads` that does the `/submit` handler's CPU work off the HTTP event
 * loop: UTF-8 and JSON decoding, the profile's strict schema (with FastAPI's 422 items) and the
 * sr25519 envelope signature. A body that passes comes back as the request's head (every field but
 * the rollouts) and its bytes (moved, not copied); the rollouts are decoded on the loop by the
 * same functions only when the worker stage first reads them (see `fromRemote`), so a body's
 * arrival costs the loop no decoding. Each body goes to the thread holding the fewest bodies. A
 * thread that crashes, exits, is killed or holds a body past `jobTimeoutMs` fails the bodies it holds with
 * `VALIDATOR_SUBMIT_POOL_FAILED` (never a hang) and is replaced on the next body.
 */
export class SubmitPool {
  /** Threads in the pool. */
  readonly size: number
  readonly #profile: ProtocolProfile
  readonly #entry: { filename: string | URL; eval: boolean }
  readonly #jobTimeoutMs: number
  readonly #slots: (Slot | null)[]
  #nextId = 1
  #starts = 0
  #closed = false

  /**
   * @param p - `profile`: the request layout and envelope rule; `size`: threads
   *   (@default {@link defaultSubmitPoolSize}); `jobTimeoutMs` (@default
   *   SUBMIT_POOL_DEFAULTS.jobTimeoutMs).
   * @throws {ReliquaryError} `INVALID_ARGUMENT` for a bad size or timeout;
   *   `VALIDATOR_SUBMIT_POOL_FAILED` when the thread's entry file is missing.
   */
  constructor(p: {
    profile: ProtocolProfile
    size?: number | undefined
    jobTimeoutMs?: number | undefined
  }) {
    const size = p.size ?? defaultSubmitPoolSize()
    if (!Number.isSafeInteger(size) || size < 1 || size > 64)
      throw invalidArgument('size', 'an integer in [1, 64]', size)
    const jobTimeoutMs = p.jobTimeoutMs ?? SUBMIT_POOL_DEFAULTS.jobTimeoutMs
    if (!Number.isSafeInteger(jobTimeoutMs) || jobTimeoutMs < 1)
      throw invalidArgument('jobTimeoutMs', 'a positive integer', jobTimeoutMs)
    this.size = size
    this.#profile = p.profile
    this.#entry = poolEntry()
    this.#jobTimeoutMs = jobTimeoutMs
    this.#slots = Array.from({ length: size }, () => null)
    for (let i = 0; i < size; i++) this.#slot(i)
  }

  /**
   * Resolves once every thread has started (their crypto engine ready).
   * @throws {ReliquaryError} `VALIDATOR_SUBMIT_POOL_FAILED` when one could not start.
   */
  async ready(): Promise<void> {
    await Promise.all(this.#slots.map((_, i) => this.#slot(i).ready))
  }

  /** Threads started so far (`size` at first; each replaced thread adds one). */
  get starts(): number {
    return this.#starts
  }

  #slot(i: number): Slot {
    let s = this.#slots[i]
    if (!s || s.dead) {
      s = new Slot(this.#entry, this.#profile)
      this.#slots[i] = s
      this.#starts++
    }
    return s
  }

  /**
   * Prepares one body in a thread.
   * @param bytes - The complete body: copied to the thread, or with `o.transfer` moved there when
   *   it alone fills its `ArrayBuffer` (`bytes` is then left empty; no second copy is held).
   * @param randomness - Verify the envelope against this window randomness (`null`: do not).
   * @param o - `transfer`: the caller gives `bytes` up. @default copy
   * @returns The body decoded, schema-checked and envelope-checked ({@link PreparedSubmit}).
   * @throws {ReliquaryError} `VALIDATOR_SUBMIT_POOL_FAILED` when its thread fails or the pool is closed.
   */
  prepare(
    bytes: Uint8Array,
    randomness: string | null,
    o: { transfer?: boolean | undefined } = {},
  ): Promise<PreparedSubmit> {
    if (this.#closed) return Promise.reject(poolFailed('was stopped (the pool is closed)'))
    let best = 0
    for (let i = 1; i < this.size; i++) {
      const a = this.#slots[best]
      const b = this.#slots[i]
      if (!b || b.dead || (a && !a.dead && b.jobs.size < a.jobs.size)) best = i
    }
    const slot = this.#slot(best)
    const id = this.#nextId++
    // A Buffer from Node's shared slab (small bodies) shares its ArrayBuffer: copied.
    const own =
      o.transfer === true &&
      bytes.buffer instanceof ArrayBuffer &&
      bytes.byteOffset === 0 &&
      bytes.byteLength === bytes.buffer.byteLength
    const copy = own ? bytes : new Uint8Array(bytes)
    return new Promise<PreparedSubmit>((resolve, reject) => {
      const timer = setTimeout(
        () => slot.fail(poolFailed(`held a body for over ${this.#jobTimeoutMs} ms`)),
        this.#jobTimeoutMs,
      )
      slot.jobs.set(id, { resolve, reject, timer })
      slot.send({ id, bytes: copy, randomness })
    })
  }

  /**
   * Stops thread `index` now, as a crash would (the bodies it holds fail; the next body starts a
   * new thread). For tests and operators.
   * @param index - Which thread. @default 0
   */
  async kill(index = 0): Promise<void> {
    const s = this.#slots[index]
    if (!s || s.dead) return
    const exited = new Promise((r) => s.worker.once('exit', r))
    await s.worker.terminate()
    await exited.catch(() => undefined)
  }

  /** Stops every thread; bodies in flight fail. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true
    await Promise.all(
      this.#slots.map(async (s) => {
        if (!s) return
        s.fail(poolFailed('was stopped (the pool is closed)'))
        await s.worker.terminate()
      }),
    )
  }
}
