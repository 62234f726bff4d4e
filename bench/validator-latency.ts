// `npm run bench:validator`: `/health` and `/submit` latency of the validator's HTTP API while 200
// submissions verify and while a GRPO step runs, with the model work in-process (the baseline),
// in the model worker (`compute: "worker"`), and in the model worker with the `/submit` handler's
// parsing and envelope check in parsing threads (`worker+pool`, `submitWorkers:
// defaultSubmitPoolSize()`), in the same run. A prober in its own thread
// sends one `/health` and one cheap `/submit` (a malformed body, answered 422 by the handler)
// every 20 ms (open loop by default, see --prober) and records each answer's latency; beside them,
// one full-size submission (a distinct e3 body of the same size as the load's, ~15 KB, parsed by
// the threads in `worker+pool`) per round, timed until its answer (`full_*`: the handler's 200).
// The 200 submissions' phase is split into their arrival (`*_arrival_*`: from the loader's first
// body to its last answer) and their verification after it (`*_verify_*`), with the CPU of each
// thread of the process during the arrival (`arrival_cpu_ms`, named by the step that started it).
// Needs the build (`npx tsup`) for the worker's gradient registration.
//
//   npx tsx bench/validator-latency.ts [--model DIR] [--submissions N] [--only verify|train]
//     [--modes in-process,worker,worker+pool] [--no-probe] [--full-probes N] [--worker-nice N]
//     [--warm-bodies N] [--loader raw|fetch] [--prober open|closed] [--submit-workers N] [--json]
// (--worker-nice: the model worker thread's nice value, default MODEL_WORKER_DEFAULTS.nice.
// --submit-workers N: parsing threads of `worker+pool`, default defaultSubmitPoolSize().
// --warm-bodies N: before the measured burst, a window of its own: N other bodies of the same
// size (other hotkeys) posted at once, admitted and verified by the same server, parsing threads
// and model worker, so the measured burst meets code that has run before (compiled, wasm tiered
// up), as a validator's does from its second window on; default 0, the first burst after start.
// --loader raw|fetch: how the 200 miners post. `raw` (default): one socket per body writing a
// prebuilt request, so the clients take little of the cores the server shares with them here (real
// miners are other machines); `fetch`: one fetch() per body, as this bench did before.
// --prober open|closed: `open` (default) sends a round of probes every 20 ms whatever is still
// unanswered; `closed` waits for a round's answers before the next 20 ms, as this bench did before,
// which sends fewer probes while answers are slow.)
//
// The last line of the output is one compact JSON object (machine, load average, rows) to paste.
import { once } from 'node:events'
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { cpus, loadavg } from 'node:os'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { parseArgs } from './_args.js'
import { mainThreadCpuMs, threadCpu } from './_threadCpu.js'
import { Worker } from 'node:worker_threads'
import * as tf from '@tensorflow/tfjs-core'
import type { GrpoBatch } from '../src/grpo/types.js'
import { useBackend } from '../src/model/backend.js'
import { e3 } from '../src/protocol/profiles.js'
import { createRolloutEvaluator } from '../src/rollout/createRolloutEvaluator.js'
import { verifyRollout } from '../src/rollout/verifyRollout.js'
import { createValidatorServer } from '../src/validator/http/createValidatorServer.js'
import { defaultSubmitPoolSize } from '../src/validator/http/submitPool.js'
import {
  disposeValidatorModels,
  loadValidatorModels,
} from '../src/validator/loadValidatorModels.js'
import { createModelWorker } from '../src/validator/worker/createModelWorker.js'
import { T_ROUND, WINDOW, openBatcher, setup } from '../test/_admission.js'
import { submitBodies } from './_submitBodies.js'

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'test/fixtures/reference/qwen3-tiny-s0' },
    submissions: { type: 'string', default: '200' },
    json: { type: 'boolean', default: false },
    only: { type: 'string' },
    modes: { type: 'string', default: 'in-process,worker,worker+pool' },
    'no-probe': { type: 'boolean', default: false },
    'full-probes': { type: 'string', default: '400' },
    'worker-nice': { type: 'string' },
    'submit-workers': { type: 'string' },
    'warm-bodies': { type: 'string', default: '0' },
    loader: { type: 'string', default: 'raw' },
    prober: { type: 'string', default: 'open' },
  },
})
const MODES = ['in-process', 'worker', 'worker+pool'] as const
type Mode = (typeof MODES)[number]
const modes = values.modes!.split(',').map((m) => {
  if (!(MODES as readonly string[]).includes(m)) throw new Error(`unknown mode ${m}`)
  return m as Mode
})
if (values.loader !== 'raw' && values.loader !== 'fetch') throw new Error('--loader raw|fetch')
if (values.prober !== 'open' && values.prober !== 'closed') throw new Error('--prober open|closed')
const modelDir = values.model!
const submitWorkers =
  values['submit-workers'] !== undefined
    ? Number(values['submit-workers'])
    : defaultSubmitPoolSize()
const N = Number(values.submissions)

// The reason in a `/submit` answer's body (`-` when none), as source text for both thread scripts.
const REASON_OF = `(text) => /"reason":"([a-z_]+)"/.exec(text)?.[1] ?? '-'`

// The miners: every body posted at once from their own thread (as remote miners would, without
// sharing the server's event loop); answers when all are answered.
const LOADER = `
const { parentPort, workerData } = require('node:worker_threads')
const fs = require('node:fs')
const net = require('node:net')
const { URL } = require('node:url')
const statuses = {}
const count = (status) => { statuses[status] = (statuses[status] ?? 0) + 1 }
// 'fetch': one fetch() per body (undici; its clients cost this process's cores a third of the
// arrival's CPU). 'raw': one socket per body writing a prebuilt request and reading the answer to
// its end (Connection: close), about as cheap as a client can be, so the cores go to the server.
// Counts an answer as \`status:reason\` (a refusal is also HTTP 200, with its reason in the body).
const reasonOf = ${REASON_OF}
function post(body) {
  if (workerData.loader === 'fetch')
    return fetch(workerData.url + '/submit', { method: 'POST', body }).then(
      async (r) => count(r.status + ':' + reasonOf(await r.text())),
      () => count('error'),
    )
  const u = new URL(workerData.url)
  return new Promise((resolve) => {
    const chunks = []
    const s = net.connect(Number(u.port), u.hostname, () => s.write(body))
    s.on('data', (c) => chunks.push(c))
    // A socket error is counted ('close' follows it), never thrown.
    s.on('error', () => chunks.splice(0, chunks.length))
    s.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1')
      count(text.startsWith('HTTP/1.1 ') ? text.slice(9, 12) + ':' + reasonOf(text) : 'error')
      resolve()
    })
  })
}
// This thread's CPU (utime + stime ticks of 10 ms, Linux): the clients' own share of the cores.
function cpuMs() {
  try {
    const f = fs.readFileSync('/proc/thread-self/stat', 'utf8').split(') ')[1].split(' ')
    return (Number(f[11]) + Number(f[12])) * 10
  } catch {
    return NaN
  }
}
let tid = null
try {
  tid = fs.readlinkSync('/proc/thread-self').split('/').pop()
} catch {}
// One burst per message (the same thread for the warm-up and the measured burst); its report
// carries this thread's id, so the per-thread figures of the process leave it out.
parentPort.on('message', ({ bodies }) => {
  for (const k of Object.keys(statuses)) delete statuses[k]
  const cpu0 = cpuMs()
  const firstAt = performance.timeOrigin + performance.now()
  Promise.all(bodies.map(post)).then(() => {
    const at = performance.timeOrigin + performance.now()
    parentPort.postMessage({ firstAt, at, cpuMs: cpuMs() - cpu0, tid, statuses: { ...statuses } })
  })
})
`

const PROBER = `
const { parentPort, workerData } = require('node:worker_threads')
const url = workerData.url
const lat = { health: [], submit: [], full: [], sent: { health: [], submit: [], full: [] }, fullStatus: {}, slow: [], errors: 0, skipped: 0 }
const full = workerData.full
let next = 0
const origin = performance.now()
let stop = false
parentPort.on('message', () => { stop = true })
async function time(kind, f) {
  const t0 = performance.now()
  try {
    const r = await f()
    const text = await r.text()
    // By status and reason: a refusal (rate_limited, prompt_full, ...) is also HTTP 200.
    const key = r.status + ':' + (${REASON_OF})(text)
    if (kind === 'full') lat.fullStatus[key] = (lat.fullStatus[key] ?? 0) + 1
  } catch {
    // A connection the server closed under the request: counted, timed like an answer.
    lat.errors++
  }
  const ms = performance.now() - t0
  lat[kind].push(ms)
  lat.sent[kind].push(performance.timeOrigin + t0)
  if (ms > (workerData.slowMs ?? 1000)) lat.slow.push([kind, Math.round(t0 - origin), Math.round(ms)])
}
;(async () => {
  // Warm-up rounds (the thread's first fetches), not recorded: this client's own POSTs of a
  // full-size body go to a path the server refuses at once. Enough rounds (100, warm or cold
  // server alike) for this thread's client code to be compiled before the load begins.
  for (let i = 0; i < workerData.warmRounds; i++) {
    await Promise.all([
      fetch(url + '/health').then((r) => r.text()),
      fetch(url + '/submit', { method: 'POST', body: '{"miner_hotkey":1}' }).then((r) => r.text()),
      full.length ? fetch(url + '/no-such-path', { method: 'POST', body: full[0] }).then((r) => r.text()) : null,
    ])
  }
  parentPort.postMessage('ready')
  const round = () =>
    Promise.all([
      time('health', () => fetch(url + '/health')),
      time('submit', () => fetch(url + '/submit', { method: 'POST', body: '{"miner_hotkey":1}' })),
      // A full-size body while distinct ones last (each is a new submission to the window).
      next < full.length
        ? time('full', () => fetch(url + '/submit', { method: 'POST', body: full[next++] }))
        : null,
    ])
  if (workerData.open) {
    // Open loop: a round every 20 ms whether or not the last ones were answered, as independent
    // miners send, so slow stretches are probed as often as quick ones (a closed loop sends fewer
    // probes while answers are slow and so under-weights them). At most 100 rounds in flight.
    const inFlight = new Set()
    while (!stop) {
      if (inFlight.size < 100) {
        const r = round()
        inFlight.add(r)
        r.finally(() => inFlight.delete(r))
      } else lat.skipped++
      await new Promise((r) => setTimeout(r, 20))
    }
    await Promise.all(inFlight)
  } else
    while (!stop) {
      await round()
      await new Promise((r) => setTimeout(r, 20))
    }
  parentPort.postMessage(lat)
})()
`

type Latencies = {
  health: number[]
  submit: number[]
  /** Full-size submissions, and their answers by HTTP status. */
  full: number[]
  /** When each probe was sent (epoch ms, the same clock in every thread). */
  sent: Record<'health' | 'submit' | 'full', number[]>
  fullStatus: Record<string, number>
  slow: [string, number, number][]
  errors: number
  /** Open loop: rounds not sent because 100 were still unanswered. */
  skipped: number
}
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : Number.NaN
}

/** The server thread's event loop over one load: busy time and the longest delay seen. */
type Loop = {
  loop_active_ms: number
  loop_delay_p99_ms: number
  loop_delay_p999_ms: number
  loop_delay_max_ms: number
  main_cpu_ms: number
}

let profiles = 0

/**
 * What each thread of the process is, by the step that started it (Node names every thread
 * `node`): {@link nameNewThreads} gives every thread not named yet the name of the step just done.
 */
const threadNames = new Map<string, string>([[String(process.pid), 'server (main thread)']])
function nameNewThreads(name: string): void {
  const live = threadCpu()
  // A thread that ended gives up its name (its id may be reused by a later thread).
  for (const t of threadNames.keys()) if (!live.has(t)) threadNames.delete(t)
  for (const t of live.keys()) if (!threadNames.has(t)) threadNames.set(t, name)
}

/**
 * CPU ms spent between two {@link threadCpu} snapshots, summed per thread name
 * ({@link nameNewThreads}; unnamed threads by id), thread `skip` left out.
 */
function diffCpu(
  a: Map<string, number>,
  b: Map<string, number>,
  skip: string | null,
): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [k, v] of b) {
    if (k === skip) continue
    const name = threadNames.get(k) ?? k
    const d = v - (a.get(k) ?? 0)
    if (d > 0) out[name] = (out[name] ?? 0) + d
  }
  return out
}

/** Runs `work` while the prober measures the server at `url` (and this thread's event loop). */
async function probed(
  url: string,
  full: readonly string[],
  work: () => Promise<unknown>,
): Promise<Latencies & { loop: Loop; workEndAt: number }> {
  // --no-probe: the load alone (main_cpu_ms then counts the submissions' work only).
  const prober = values['no-probe']
    ? null
    : new Worker(PROBER, {
        eval: true,
        workerData: {
          url,
          full,
          slowMs: Number(process.env.BENCH_SLOW_MS ?? 1000),
          // Warm or cold server alike, the prober's own client code is compiled first.
          warmRounds: 100,
          open: values.prober === 'open',
        },
      })
  await new Promise((r) => (prober ? prober.once('message', r) : r(null)))
  nameNewThreads('prober')
  const none: Latencies = {
    health: [],
    submit: [],
    full: [],
    sent: { health: [], submit: [], full: [] },
    fullStatus: {},
    slow: [],
    errors: 0,
    skipped: 0,
  }
  const out = new Promise<Latencies>((r) => (prober ? prober.once('message', r) : r(none)))
  // BENCH_CPUPROF=prefix: a CPU profile of this thread over the load (prefix-<n>.cpuprofile).
  const profiler = process.env.BENCH_CPUPROF ? new Session() : null
  if (profiler) {
    profiler.connect()
    await profiler.post('Profiler.enable')
    await profiler.post('Profiler.start')
  }
  const cpu0 = mainThreadCpuMs()
  const elu = performance.eventLoopUtilization()
  const delay = monitorEventLoopDelay({ resolution: 5 })
  delay.enable()
  await work()
  const workEndAt = performance.timeOrigin + performance.now()
  delay.disable()
  const used = performance.eventLoopUtilization(elu)
  if (profiler) {
    const { profile } = await profiler.post('Profiler.stop')
    writeFileSync(`${process.env.BENCH_CPUPROF}-${++profiles}.cpuprofile`, JSON.stringify(profile))
    profiler.disconnect()
  }
  prober?.postMessage('stop')
  const lat = await out
  await prober?.terminate()
  const loop = {
    loop_active_ms: Math.round(used.active),
    loop_delay_p99_ms: Number((delay.percentile(99) / 1e6).toFixed(1)),
    loop_delay_p999_ms: Number((delay.percentile(99.9) / 1e6).toFixed(1)),
    loop_delay_max_ms: Number((delay.max / 1e6).toFixed(1)),
    main_cpu_ms: mainThreadCpuMs() - cpu0,
  }
  return { ...lat, loop, workEndAt }
}

/** A full E3 batch (8 groups × 8 rollouts, 40 completion tokens) over the model's vocabulary. */
function fullBatch(vocab: number): GrpoBatch {
  return Array.from({ length: 8 }, (_, g) => ({
    promptIdx: g,
    rollouts: Array.from({ length: 8 }, (_, i) => {
      const completion = Array.from({ length: 40 }, (_, t) => (g * 131 + i * 17 + t * 7) % vocab)
      return {
        tokens: [3, 4, 5, 6, ...completion],
        promptLength: 4,
        reward: i % 2,
        tokenLogprobs: completion.map(() => -6),
      }
    }),
  }))
}

type Row = {
  mode: string
  phase: string
  probes: number
  work_s: number
  [k: string]: number | string
}

/** A body as the `raw` loader writes it: the whole HTTP/1.1 request, closed after its answer. */
const rawRequest = (body: string): Uint8Array =>
  Buffer.concat([
    Buffer.from(
      `POST /submit HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`,
    ),
    Buffer.from(body),
  ])

/** What the loader posts, built before any timing: bodies (`fetch`) or whole requests (`raw`). */
type Payloads = readonly string[] | readonly Uint8Array[]
const payloads = (bodies: readonly string[]): Payloads =>
  values.loader === 'raw' ? bodies.map(rawRequest) : bodies

/** The miners' thread: {@link Loader.burst} posts every payload at once and reports when all are answered. */
class Loader {
  readonly #worker: Worker
  /** Resolves once the thread runs (so it can be named). */
  readonly started: Promise<unknown>
  constructor(url: string) {
    this.#worker = new Worker(LOADER, { eval: true, workerData: { url, loader: values.loader } })
    this.started = once(this.#worker, 'online')
  }
  burst(bodies: Payloads) {
    const report = new Promise<{
      firstAt: number
      at: number
      cpuMs: number
      tid: string | null
      statuses: Record<string, number>
    }>((r) => this.#worker.once('message', r))
    this.#worker.postMessage({ bodies })
    return report
  }
  close(): Promise<number> {
    return this.#worker.terminate()
  }
}

/**
 * `--warm-bodies`: a window before the measured one, with the same server, parsing threads and
 * model worker: the warm-up bodies (other hotkeys, signed for window `WINDOW - 1`) are posted at
 * once, admitted and verified; then the measured window is made active again.
 */
async function warmUp(
  loader: Loader,
  warm: Payloads,
  s: ReturnType<typeof setup>,
  server: { whenIdle(): Promise<void> },
): Promise<void> {
  if (!warm.length) return
  s.pipeline.setActiveBatcher(
    openBatcher({ windowStart: WINDOW - 1, openedAtSeconds: T_ROUND - 1 }),
  )
  const w = await loader.burst(warm)
  await server.whenIdle()
  s.pipeline.setActiveBatcher(s.batcher)
  if (w.statuses['200:submitted'] !== warm.length)
    throw new Error(`warm-up bodies answered ${JSON.stringify(w.statuses)}, not all submitted`)
}

async function runMode(
  mode: Mode,
  bodies: Payloads,
  full: string[],
  warm: Payloads,
): Promise<Row[]> {
  const models = await loadValidatorModels({ modelDir, profile: e3 })
  const worker =
    mode !== 'in-process'
      ? await createModelWorker({
          models,
          modelDir,
          grpo: { profile: e3 },
          nice: values['worker-nice'] === undefined ? undefined : Number(values['worker-nice']),
        })
      : null
  nameNewThreads('model worker')
  const evaluator = createRolloutEvaluator(models.verifyModel)
  const s = setup({
    verifier: worker?.verifier ?? ((r) => verifyRollout({ ...r, model: evaluator })),
    openedAtSeconds: T_ROUND - 1,
  })
  const server = await createValidatorServer({
    pipeline: s.pipeline,
    state: () => null,
    checkpoint: () => null,
    health: () => ({ status: 'ok', active_window: s.batcher.windowStart }),
    now: () => T_ROUND,
    onSubmission: (e) => onEvent?.(e),
    submitWorkers: mode === 'worker+pool' ? submitWorkers : 0,
  })
  nameNewThreads('parsing threads')
  const loader = new Loader(server.url)
  await loader.started
  nameNewThreads('loader')
  const rows: Row[] = []
  // Distinct full-size probe bodies: the first half during the burst, the rest during the step.
  const half = values.only === 'verify' ? full.length : Math.ceil(full.length / 2)
  let onEvent: ((e: { stage: string; accepted: boolean }) => void) | null = null
  // `burst`: when the loader sent its first body and had every answer (epoch ms). Probes sent in
  // between queued behind the burst's bodies (arrival); those sent after it measure the API while
  // they verify; those sent before the first body (the loader thread starting) are in neither.
  const record = (
    phase: string,
    lat: Latencies & { loop: Loop; workEndAt: number },
    work_s: number,
    burst?: { firstAt: number; arrivedAt: number },
  ): void => {
    if (process.env.BENCH_DEBUG) console.error(mode, phase, 'slow probes', JSON.stringify(lat.slow))
    const row: Row = {
      mode,
      phase,
      probes: lat.health.length,
      errors: lat.errors,
      work_s: Number(work_s.toFixed(2)),
      prober: values.prober!,
      load1: Number(loadavg()[0]!.toFixed(2)),
    }
    for (const k of ['health', 'submit', 'full'] as const) {
      row[`${k}_p50_ms`] = Number(pct(lat[k], 50).toFixed(1))
      row[`${k}_p99_ms`] = Number(pct(lat[k], 99).toFixed(1))
      row[`${k}_max_ms`] = Number(Math.max(...lat[k]).toFixed(1))
    }
    row.full_probes = lat.full.length
    // How long before the work ended the last full-size probe was sent (the bodies ran out first
    // when large: the rest of the work was probed by /health and the small /submit only).
    row.full_last_sent_before_end_ms = lat.sent.full.length
      ? Math.round(lat.workEndAt - Math.max(...lat.sent.full))
      : Number.NaN
    if (burst !== undefined)
      for (const k of ['health', 'full'] as const)
        for (const [part, keep] of [
          ['arrival', (t: number) => t >= burst.firstAt && t < burst.arrivedAt],
          ['verify', (t: number) => t >= burst.arrivedAt],
        ] as const) {
          const xs = lat[k].filter((_, i) => keep(lat.sent[k][i]!))
          row[`${k}_${part}_n`] = xs.length
          row[`${k}_${part}_p50_ms`] = Number(pct(xs, 50).toFixed(1))
          row[`${k}_${part}_p99_ms`] = Number(pct(xs, 99).toFixed(1))
          // Each probe of the arrival, to pool the few of one run with other runs'.
          if (part === 'arrival') row[`${k}_${part}_ms`] = JSON.stringify(xs.map(Math.round))
        }
    row.full_status = JSON.stringify(lat.fullStatus)
    row.probe_rounds_skipped = lat.skipped
    Object.assign(row, lat.loop)
    rows.push(row)
  }
  try {
    let t0 = performance.now()
    let lat: Latencies & { loop: Loop; workEndAt: number }
    if (values.only !== 'train') {
      let accepted = 0
      const countAccepted = (e: { stage: string; accepted: boolean }): void => {
        if (e.stage === 'worker' && e.accepted) accepted++
      }
      await warmUp(loader, warm, s, server)
      onEvent = countAccepted
      let arrival = { firstAt: 0, arrivedAt: 0 }
      let arrivalCpu: Record<string, number> = {}
      let burstStatus: Record<string, number> = {}
      lat = await probed(server.url, full.slice(0, half), async () => {
        t0 = performance.now()
        const before = threadCpu()
        const done = await loader.burst(bodies)
        arrival = { firstAt: done.firstAt, arrivedAt: done.at }
        arrivalCpu = diffCpu(before, threadCpu(), done.tid)
        arrivalCpu.loader = done.cpuMs
        burstStatus = done.statuses
        await server.whenIdle()
      })
      record(`${N} submissions verify`, lat, (performance.now() - t0) / 1000, arrival)
      rows.at(-1)!.arrival_s = Number(((arrival.arrivedAt - arrival.firstAt) / 1000).toFixed(3))
      rows.at(-1)!.warm_bodies = warm.length
      rows.at(-1)!.burst_status = JSON.stringify(burstStatus)
      rows.at(-1)!.loader = values.loader!
      rows.at(-1)!.arrival_cpu_ms = JSON.stringify(arrivalCpu)
      rows.at(-1)!.accepted = accepted
      onEvent = null
    }
    if (values.only === 'verify') return rows
    const batch = fullBatch(models.policy.config.vocabSize)
    lat = await probed(server.url, full.slice(half), async () => {
      t0 = performance.now()
      const stats = worker ? await worker.step(batch) : await models.trainer.step(batch)
      if (!stats.stepped) throw new Error('the GRPO step did not step')
    })
    record('GRPO step (8×8 rollouts)', lat, (performance.now() - t0) / 1000)
  } finally {
    await loader.close()
    await server.close()
    await worker?.close()
    disposeValidatorModels(models)
  }
  return rows
}

await useBackend('wasm')
nameNewThreads('started with the process (V8 platform, libuv)')
const start = tf.memory().numTensors
const bodies = payloads(await submitBodies({ n: N }))
// Hotkeys enough that no body of a set is refused for the per-hotkey quota of a window.
const keysFor = (n: number): number =>
  Math.max(1, Math.ceil(n / Math.max(1, e3.window.maxSubmissionsPerHotkey)))
// Full-size probe bodies: other hotkeys and nonces than the load's, the same size.
const full = await submitBodies({
  n: Number(values['full-probes']),
  keys: keysFor(Number(values['full-probes'])),
  keyPath: 'probe/',
  saltBase: 100_000,
  noncePrefix: 'p',
})
// Warm-up bodies: other hotkeys, salts and nonces, for the window before the measured one.
const warm = payloads(
  await submitBodies({
    n: Number(values['warm-bodies']),
    keys: keysFor(Number(values['warm-bodies'])),
    keyPath: 'warm/',
    saltBase: 200_000,
    noncePrefix: 'w',
    windowStart: WINDOW - 1,
  }),
)
const load = { start: loadavg().map((x) => Number(x.toFixed(2))) }
const rows: Row[] = []
for (const m of modes) rows.push(...(await runMode(m, bodies, full, warm)))
if (tf.memory().numTensors !== start) throw new Error('tensors leaked')
if (values.json) console.log(JSON.stringify(rows, null, 2))
else {
  console.log(
    '| compute | load | work | probes (failed) | /health p50 / p99 / max | /submit p50 / p99 / max | full-size /submit (n) p50 / p99 / max |',
  )
  console.log('|---|---|---|---|---|---|---|')
  const f = (x: number): string => x.toFixed(1)
  for (const r of rows as (Row & Record<string, number>)[])
    console.log(
      `| ${r.mode} | ${r.phase} | ${r.work_s.toFixed(1)} s | ${r.probes} (${r.errors}) | ${f(r.health_p50_ms!)} / ${f(r.health_p99_ms!)} / ${f(r.health_max_ms!)} ms | ${f(r.submit_p50_ms!)} / ${f(r.submit_p99_ms!)} / ${f(r.submit_max_ms!)} ms | (${r.full_probes}) ${f(r.full_p50_ms!)} / ${f(r.full_p99_ms!)} / ${f(r.full_max_ms!)} ms |`,
    )
}
// One line to paste: the machine, the load average before and after, every row.
console.log(
  JSON.stringify({
    bench: 'validator-latency',
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpu: cpus()[0]?.model ?? '',
    load: { ...load, end: loadavg().map((x) => Number(x.toFixed(2))) },
    submissions: N,
    submit_workers: submitWorkers,
    rows,
  }),
)
