// The demo's side of the miner threads: one worker thread per miner, started from the built
// `dist/demo/minerWorker.js` or, when running from source, `_minerWorker.ts` under tsx.
import { fileURLToPath } from 'node:url'
import { Worker } from 'node:worker_threads'
import { threadEntry } from '../_utils/threadEntry.js'
import { ReliquaryError } from '../errors/base.js'
import type { MinerLogEntry } from '../miner/types.js'
import type { FromMinerWorker, MinerWorkerData, ToMinerWorker } from './_minerWorker.js'

const here = typeof __filename === 'string' ? __filename : fileURLToPath(import.meta.url)

/**
 * How to start a miner thread: the built `dist/demo/minerWorker.js`, or (from source)
 * `_minerWorker.ts` through tsx ({@link threadEntry}); null when the built module is missing.
 * @internal
 */
export function minerWorkerEntry(): { file: string; eval: boolean } | null {
  const e = threadEntry(here, '_minerWorker.ts', 'dist/demo/minerWorker.js')
  if (e === null) return null
  return { file: e.filename instanceof URL ? fileURLToPath(e.filename) : e.filename, eval: e.eval }
}

/** One started miner thread. @internal */
export type MinerThread = {
  /** Starts the miner's passes over window `target`; resolves when they end. */
  mine(target: number, signal: AbortSignal): Promise<void>
  /** Lets the current window finish or abort, disposes the miner and ends the thread. */
  stop(): Promise<void>
}

/**
 * Starts a miner thread and waits until its miner is built. Log entries go to `onLog`, failed
 * passes to `onError`; a thread that dies rejects the pending window.
 * @internal
 * @throws {ReliquaryError} `DEMO_MINER_THREAD_FAILED` when the thread cannot start.
 */
export async function startMinerThread(
  entry: { file: string; eval: boolean },
  data: MinerWorkerData,
  onLog: (entry: MinerLogEntry) => void,
  onError: (message: string) => void,
): Promise<MinerThread> {
  const worker = new Worker(entry.file, { workerData: data, eval: entry.eval })
  const waiting = new Map<string, { resolve: () => void; reject: (e: unknown) => void }>()
  const wait = (key: string): Promise<void> =>
    new Promise((resolve, reject) => waiting.set(key, { resolve, reject }))
  const settle = (key: string): void => {
    waiting.get(key)?.resolve()
    waiting.delete(key)
  }
  const fail = (e: unknown): void => {
    for (const w of waiting.values()) w.reject(e)
    waiting.clear()
  }
  worker.on('message', (m: FromMinerWorker) => {
    if (m.type === 'log') onLog(m.entry)
    else if (m.type === 'error') {
      if (waiting.has('ready')) fail(threadError(data.spec.label, m.message))
      else onError(m.message)
    } else if (m.type === 'ready') settle('ready')
    else if (m.type === 'done') settle(`done:${m.target}`)
    else if (m.type === 'stopped') settle('stopped')
  })
  worker.on('error', (e) => fail(threadError(data.spec.label, String(e))))
  worker.on('exit', (code) => {
    if (waiting.has('stopped') && code === 0) settle('stopped')
    fail(threadError(data.spec.label, `exited with code ${code}`))
  })
  const post = (m: ToMinerWorker): void => worker.postMessage(m)
  try {
    await wait('ready')
  } catch (e) {
    await worker.terminate()
    throw e
  }
  let stopped = false
  return {
    mine(target, signal) {
      const done = wait(`done:${target}`)
      const onAbort = (): void => post({ type: 'abort', target })
      if (signal.aborted) onAbort()
      else signal.addEventListener('abort', onAbort, { once: true })
      post({ type: 'window', target })
      return done.finally(() => signal.removeEventListener('abort', onAbort))
    },
    async stop() {
      if (stopped) return
      stopped = true
      const done = wait('stopped').catch(() => undefined)
      post({ type: 'stop' })
      const timer = setTimeout(() => void worker.terminate(), 30_000)
      await done
      clearTimeout(timer)
      await worker.terminate()
    },
  }
}

function threadError(label: string, message: string): ReliquaryError {
  return new ReliquaryError(
    'DEMO_MINER_THREAD_FAILED',
    `The miner thread of ${label} failed: ${message}`,
    {
      hints: ['Run the demo with `minerThreads: false` (CLI: --no-threads) to mine on one thread.'],
    },
  )
}
