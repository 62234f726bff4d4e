// A miner thread of `runDemo`: builds one demo miner from plain data (the backend, tokenizer,
// environment and profile are rebuilt here, identical to the validator's) and mines the windows
// the demo's thread asks for, until told to stop. Messages: see `_minerThreads.ts`.
import { parentPort, workerData } from 'node:worker_threads'
import { describeError } from '../_utils/describeError.js'
import { useBackend, type BackendName } from '../model/backend.js'
import type { Miner, MinerLogEntry } from '../miner/types.js'
import {
  buildDemoMiner,
  runMinerPasses,
  type DemoMinerShared,
  type DemoMinerSpec,
} from './_buildDemoMiner.js'
import { loadDemoEnvironment } from './loadDemoEnvironment.js'
import { createDemoProfile } from './profile.js'

/** What the demo's thread hands a miner thread at start. @internal */
export type MinerWorkerData = {
  readonly spec: DemoMinerSpec
  readonly shared: DemoMinerShared
  readonly backend: BackendName
  readonly chainHash: string
  readonly environmentSize: number
}

/** Messages to a miner thread. @internal */
export type ToMinerWorker =
  | { readonly type: 'window'; readonly target: number }
  | { readonly type: 'abort'; readonly target: number }
  | { readonly type: 'stop' }

/** Messages from a miner thread. @internal */
export type FromMinerWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'log'; readonly entry: MinerLogEntry }
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: 'done'; readonly target: number }
  | { readonly type: 'stopped' }

const port = parentPort
if (port) void main(port, workerData as MinerWorkerData)

async function main(p: NonNullable<typeof parentPort>, data: MinerWorkerData): Promise<void> {
  const send = (m: FromMinerWorker): void => p.postMessage(m)
  let miner: Miner
  let quota: number
  try {
    ;({ miner, quota } = await setUp(data, send))
  } catch (e) {
    send({ type: 'error', message: `miner thread failed to start: ${describeError(e)}` })
    return
  }
  const aborts = new Map<number, AbortController>()
  let chain: Promise<void> = Promise.resolve()
  p.on('message', (m: ToMinerWorker) => {
    if (m.type === 'abort') aborts.get(m.target)?.abort(new Error('window sealed'))
    else if (m.type === 'window') {
      const abort = new AbortController()
      aborts.set(m.target, abort)
      chain = chain.then(async () => {
        await runMinerPasses(miner, quota, abort.signal, (e) =>
          send({ type: 'error', message: `window failed: ${describeError(e)}` }),
        )
        aborts.delete(m.target)
        send({ type: 'done', target: m.target })
      })
    } else if (m.type === 'stop') {
      for (const a of aborts.values()) a.abort(new Error('demo finished'))
      void chain.then(() => {
        miner.dispose()
        send({ type: 'stopped' })
        p.close()
      })
    }
  })
  send({ type: 'ready' })
}

async function setUp(
  data: MinerWorkerData,
  send: (m: FromMinerWorker) => void,
): Promise<{ miner: Miner; quota: number }> {
  const { shared } = data
  await useBackend(data.backend)
  const { environment } = await loadDemoEnvironment(shared.modelDir, {
    seed: shared.seed,
    size: data.environmentSize,
  })
  const profile = createDemoProfile({
    chainHash: data.chainHash,
    genesisTime: shared.genesisTime,
    periodSeconds: shared.periodSeconds,
  })
  const miner = await buildDemoMiner(data.spec, shared, {
    profile,
    environment,
    log: (entry) => send({ type: 'log', entry: cloneable(entry) }),
  })
  return { miner, quota: profile.window.maxSubmissionsPerHotkey }
}

/** A log entry that survives `postMessage` (data values that cannot be cloned become strings). */
function cloneable(entry: MinerLogEntry): MinerLogEntry {
  if (!entry.data) return entry
  const data: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(entry.data))
    data[k] = typeof v === 'function' || typeof v === 'symbol' ? String(v) : v
  return { ...entry, data }
}
