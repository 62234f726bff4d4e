import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { invalidArgument } from '../../errors/base.js'
import {
  submitRequestSchema,
  type CheckpointManifestWire,
  type Health,
  type WindowState,
} from '../../protocol/schemas.js'
import type { AdmissionPipeline } from '../../window/admission/admissionPipeline.js'
import type { AdmissionVerdict } from '../../window/admission/admissionTypes.js'
import { PendingSubmissions } from './_pendingSubmissions.js'
import { detail, send, type Reply } from './_reply.js'
import { ArrivalOrder, submitRoute, type SubmitRouteContext } from './submitRoute.js'
import { SubmitPool } from './submitPool.js'
import { SubmissionWorker } from './submissionWorker.js'
import { isVerdictsPath, verdictsRoute } from './verdictsRoute.js'

/** Defaults of {@link createValidatorServer}. */
export const VALIDATOR_SERVER_DEFAULTS = /*#__PURE__*/ Object.freeze({
  /** Loopback only: a validator that should be reachable from miners binds `0.0.0.0` explicitly. */
  host: '127.0.0.1',
  /** An ephemeral port. The reference listens on 8888 (`VALIDATOR_HTTP_PORT`). */
  port: 0,
  /**
   * Largest `/submit` body read (bytes). An E3 submission of 8 rollouts of 8192 tokens with
   * commitments and full-layout log-probs is about 4 MB; FastAPI itself sets no bound.
   */
  maxBodyBytes: 16 * 1024 * 1024,
  /** Most `/submit` requests with a complete body waiting for the handler or the worker; beyond it, 503. */
  maxQueueDepth: 1024,
  /** Most `/submit` bodies being read at once; beyond it, 503 `queue_full`. */
  maxUploads: 4096,
  /** Most body bytes held by all `/submit` requests together (being read or handled). */
  maxBufferedBytes: 256 * 1024 * 1024,
  /**
   * A `/submit` body must be complete this many milliseconds after its headers arrived, else 408
   * `request_timeout` (the reference's later upload grace is 33 s).
   */
  bodyTimeoutMs: 30_000,
  /** Parsing threads for the `/submit` handler's CPU work (0: on the event loop). */
  submitWorkers: 0,
  /** With parsing threads: bodies of at most this many bytes are still decoded on the loop. */
  submitInlineBytes: 2048,
} as const)

/** Parameters of {@link createValidatorServer}. */
export type ValidatorServerParameters = {
  /** The admission pipeline: the handler stage runs per request, one worker drains its queue. */
  pipeline: AdmissionPipeline
  /** The `/state` document, or `null` when no window is active (then 503 `no_active_window`). */
  state: () => WindowState | null
  /** The signed `/checkpoint` manifest, or `null` before the first publish (then 404 `no_checkpoint`). */
  checkpoint: () => CheckpointManifestWire | null
  /** The `/health` document. */
  health: () => Health
  /** @default VALIDATOR_SERVER_DEFAULTS.maxBodyBytes */
  maxBodyBytes?: number | undefined
  /** @default VALIDATOR_SERVER_DEFAULTS.maxQueueDepth */
  maxQueueDepth?: number | undefined
  /** @default VALIDATOR_SERVER_DEFAULTS.maxUploads */
  maxUploads?: number | undefined
  /** @default VALIDATOR_SERVER_DEFAULTS.maxBufferedBytes */
  maxBufferedBytes?: number | undefined
  /** @default VALIDATOR_SERVER_DEFAULTS.bodyTimeoutMs */
  bodyTimeoutMs?: number | undefined
  /** Clock in unix seconds (arrival stamps, worker time). @default `Date.now() / 1000` */
  now?: (() => number) | undefined
  /** @default VALIDATOR_SERVER_DEFAULTS.host */
  host?: string | undefined
  /** @default VALIDATOR_SERVER_DEFAULTS.port */
  port?: number | undefined
  /**
   * Threads that decode, schema-check and envelope-verify `/submit` bodies off the event loop
   * (a {@link SubmitPool}; `defaultSubmitPoolSize()` is half the cores, 2 to 8). Same answers, in
   * the same order, as on the loop. A body being parsed moves to its thread (only one under 4 KiB,
   * from Node's shared buffer slab, is copied), so the bytes held stay within `maxBufferedBytes`
   * plus at most 4 KiB per body being parsed. A queued body keeps its bytes, not its decoded
   * rollouts, until the worker stage reads them (queued bodies: at most `maxQueueDepth`).
   * @default VALIDATOR_SERVER_DEFAULTS.submitWorkers (none)
   */
  submitWorkers?: number | undefined
  /** @default VALIDATOR_SERVER_DEFAULTS.submitInlineBytes */
  submitInlineBytes?: number | undefined
  /** Called once per `/submit` answer (handler stage) and once per worker verdict. Must not throw (errors are ignored). */
  onSubmission?: ((event: SubmissionEvent) => void) | undefined
}

/**
 * One admission outcome, as the server reports it to {@link ValidatorServerParameters.onSubmission}.
 * Handler events come with the HTTP status answered; worker events with the verdict that went to
 * `/verdicts`.
 */
export type SubmissionEvent = {
  readonly stage: 'handler' | 'worker'
  /** `miner_hotkey` of the body when it had one (a string), else `null`. */
  readonly hotkey: string | null
  /** `window_start` of the body when it had one (an integer), else `null`. */
  readonly windowStart: number | null
  /** The HTTP status of the answer (handler) or 200 (worker). */
  readonly status: number
  readonly accepted: boolean
  /**
   * The reject reason (`RejectReason`), `submitted`/`accepted`, or one of the server's own
   * outcomes: `payload_too_large` (413), `queue_full` (503), `bad_schema` (422, also for bodies
   * that are not JSON).
   */
  readonly reason: string
  /** The pipeline's verdict, when the pipeline decided. */
  readonly verdict: AdmissionVerdict | null
}

/** Counters of a {@link ValidatorServer}, for monitoring and tests. */
export type ValidatorServerStats = {
  /** `/submit` requests answered, by HTTP status. */
  readonly submitResponses: Readonly<Record<string, number>>
  /** Worker verdicts produced. */
  readonly workerVerdicts: number
  /** Most `/submit` requests pending at once (being read or handled, queued, being verified). */
  readonly peakPending: number
  /** Most body bytes held at once by requests still being read or handled. */
  readonly peakBufferedBytes: number
}

/** A running validator HTTP server (see {@link createValidatorServer}). */
export type ValidatorServer = {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string
  readonly port: number
  /**
   * `/submit` requests not yet fully decided: being read or handled, queued, or being verified
   * by the worker. The E3 seal waits for 0 ("the submit queue is empty").
   */
  pending(): number
  /** Resolves once {@link ValidatorServer.pending} is 0 (immediately if it is). */
  whenIdle(): Promise<void>
  /** The `/submit` parsing threads (`submitWorkers` > 0), else `null`. */
  readonly submitPool: SubmitPool | null
  stats(): ValidatorServerStats
  /** Stops listening, drops open connections and waits for the worker to finish its item. Idempotent. */
  close(): Promise<void>
}

const defaultNow = (): number => Date.now() / 1000

/** The options of {@link createValidatorServer}, checked, with their defaults. */
function resolveOptions(p: ValidatorServerParameters) {
  if (typeof p !== 'object' || p === null) throw invalidArgument('parameters', 'an object', p)
  const pipeline = p.pipeline
  if (typeof pipeline?.submit !== 'function' || typeof pipeline.processNext !== 'function')
    throw invalidArgument('pipeline', 'an AdmissionPipeline', pipeline)
  for (const k of ['state', 'checkpoint', 'health'] as const)
    if (typeof p[k] !== 'function') throw invalidArgument(k, 'a function', p[k])
  const {
    maxBodyBytes = VALIDATOR_SERVER_DEFAULTS.maxBodyBytes,
    maxQueueDepth = VALIDATOR_SERVER_DEFAULTS.maxQueueDepth,
    maxUploads = VALIDATOR_SERVER_DEFAULTS.maxUploads,
    maxBufferedBytes = VALIDATOR_SERVER_DEFAULTS.maxBufferedBytes,
    bodyTimeoutMs = VALIDATOR_SERVER_DEFAULTS.bodyTimeoutMs,
    host = VALIDATOR_SERVER_DEFAULTS.host,
    port = VALIDATOR_SERVER_DEFAULTS.port,
    now = defaultNow,
    submitWorkers = VALIDATOR_SERVER_DEFAULTS.submitWorkers,
    submitInlineBytes = VALIDATOR_SERVER_DEFAULTS.submitInlineBytes,
  } = p
  if (!Number.isSafeInteger(submitWorkers) || submitWorkers < 0 || submitWorkers > 64)
    throw invalidArgument('submitWorkers', 'an integer in [0, 64]', submitWorkers)
  if (!Number.isSafeInteger(submitInlineBytes) || submitInlineBytes < 0)
    throw invalidArgument('submitInlineBytes', 'a non-negative integer', submitInlineBytes)
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1)
    throw invalidArgument('maxBodyBytes', 'a positive integer', maxBodyBytes)
  for (const [k, v] of Object.entries({
    maxQueueDepth,
    maxUploads,
    maxBufferedBytes,
    bodyTimeoutMs,
  }))
    if (!Number.isSafeInteger(v) || v < 1) throw invalidArgument(k, 'a positive integer', v)
  if (typeof now !== 'function')
    throw invalidArgument('now', 'a function returning unix seconds', now)
  if (!Number.isSafeInteger(port) || port < 0 || port > 65_535)
    throw invalidArgument('port', 'an integer in [0, 65535]', port)
  const body = { maxBodyBytes, maxBufferedBytes, deadlineMs: bodyTimeoutMs }
  return {
    pipeline,
    body,
    maxQueueDepth,
    maxUploads,
    host,
    port,
    now,
    submitWorkers,
    submitInlineBytes,
  }
}

/** Routes one request to its handler; 404 and 405 as FastAPI answers them. */
async function route(
  p: ValidatorServerParameters,
  submit: SubmitRouteContext,
  req: IncomingMessage,
  arrivalSeconds: number,
): Promise<Reply> {
  const url = new URL(req.url ?? '/', 'http://validator.invalid')
  const path = url.pathname
  const method = req.method ?? 'GET'
  const only = (m: string): Reply | null =>
    method === m ? null : detail(405, 'Method Not Allowed')
  if (path === '/submit') return only('POST') ?? submitRoute(submit, req, arrivalSeconds)
  if (path === '/state') {
    const bad = only('GET')
    if (bad) return bad
    const s = p.state()
    return s === null ? detail(503, 'no_active_window') : { status: 200, body: s }
  }
  if (path === '/checkpoint') {
    const bad = only('GET')
    if (bad) return bad
    const c = p.checkpoint()
    return c === null ? detail(404, 'no_checkpoint') : { status: 200, body: c }
  }
  if (path === '/health') return only('GET') ?? { status: 200, body: p.health() }
  if (isVerdictsPath(path)) return only('GET') ?? verdictsRoute(submit.pipeline, url)
  return detail(404, 'Not Found')
}

/** Listens on `host:port`; resolves once listening, rejects with the listen error. */
async function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  return server.address() as AddressInfo
}

/**
 * Starts the validator's HTTP API on `node:http`, wire-compatible with the reference E3
 * validator (FastAPI, docs/protocol.md §3):
 *
 * - `GET /state` → the {@link WindowState} document, or 503 `{"detail":"no_active_window"}`;
 * - `POST /submit` → the arrival time is stamped when the request arrives, before the body is
 *   read; the body is bounded (413 `{"detail":"payload_too_large"}`, `Connection: close`); a body
 *   that is not JSON or fails the strict schema gets 422 `{"detail":[{type, loc, msg}, …]}` as
 *   FastAPI answers; otherwise the pipeline's handler stage answers with the real cheap-reject
 *   reason, or 200 `{"accepted":true,"reason":"submitted"}` once queued; a bad envelope signature
 *   adds `Connection: close`; more than `maxQueueDepth` pending requests get 503
 *   `{"detail":"queue_full"}` without reading the body;
 * - `GET /checkpoint` → the signed manifest, or 404 `{"detail":"no_checkpoint"}`;
 * - `GET /verdicts/{hotkey}?since=<unix seconds>` → `{"verdicts":[…]}` (422 for a bad `since`);
 * - `GET /health` → `{"status":"ok","active_window":…}`;
 * - anything else → 404 `{"detail":"Not Found"}` or 405 `{"detail":"Method Not Allowed"}`.
 *
 * One worker drains the pipeline's queue, one item at a time, whatever the number of concurrent
 * requests; every queued submission gets exactly one worker verdict. Body bytes held are bounded
 * by `maxBufferedBytes` (plus the parsed form of at most `maxQueueDepth` bodies); a body must
 * arrive within `bodyTimeoutMs` (else 408 `request_timeout`), and a request whose body is still
 * arriving is not pending: the seal never waits for it.
 *
 * - Spec: docs/protocol.md §3.1–§3.4, §4.3 (mirrors `reliquary/validator/server.py` at 0b2d53f).
 *
 * @param parameters - {@link ValidatorServerParameters}
 * @returns The listening {@link ValidatorServer}.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a missing pipeline or callback, or bad limits;
 *   the listen error (e.g. `EADDRINUSE`) as is.
 * @example
 * ```ts
 * // src/validator/createValidatorServer.ts (no package entry point exports it yet)
 * import { createValidatorServer } from '../src/validator/createValidatorServer.js'
 * const server = await createValidatorServer({
 *   pipeline, state: () => null, checkpoint: () => null, health: () => ({ status: 'ok', active_window: null }),
 * })
 * await fetch(`${server.url}/state`) // 503 {"detail":"no_active_window"}
 * await server.close()
 * ```
 */
export async function createValidatorServer(
  parameters: ValidatorServerParameters,
): Promise<ValidatorServer> {
  const p = parameters
  const o = resolveOptions(p)
  const report = (e: SubmissionEvent): void => {
    try {
      p.onSubmission?.(e)
    } catch {
      /* a monitoring callback never breaks admission */
    }
  }
  const worker: SubmissionWorker = new SubmissionWorker({
    pipeline: o.pipeline,
    now: o.now,
    report,
    settled: () => pending.note(),
  })
  const pending = new PendingSubmissions(
    () => o.pipeline.queueDepth,
    () => worker.busy,
  )
  const submit: SubmitRouteContext = {
    pipeline: o.pipeline,
    requestSchema: submitRequestSchema(o.pipeline.config.profile),
    body: o.body,
    maxQueueDepth: o.maxQueueDepth,
    maxUploads: o.maxUploads,
    pending,
    worker,
    submitResponses: {},
    report,
    pool:
      o.submitWorkers > 0
        ? new SubmitPool({ profile: o.pipeline.config.profile, size: o.submitWorkers })
        : null,
    inlineBytes: o.submitInlineBytes,
    order: new ArrivalOrder(),
  }
  const server = createServer((req, res) => {
    // E3 stamps the arrival in ASGI middleware, before the body is parsed (docs/protocol.md §4.3).
    const arrivalSeconds = o.now()
    route(p, submit, req, arrivalSeconds).then(
      (r) => send(res, r),
      () => {
        if (!res.headersSent)
          send(res, detail(500, 'Internal Server Error', { Connection: 'close' }))
        else res.destroy()
      },
    )
  })
  // Longer than clients' idle timeouts (undici: 4 s), so a client never reuses a socket the server
  // has just closed (a busy event loop can delay the client's own idle timer).
  server.keepAliveTimeout = 65_000
  server.headersTimeout = 66_000
  const addr = await (async () => {
    await submit.pool?.ready()
    return listen(server, o.host, o.port)
  })().catch(async (e: unknown) => {
    await submit.pool?.close()
    throw e
  })
  const urlHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
  let closing: Promise<void> | null = null
  return Object.freeze({
    url: `http://${urlHost}:${addr.port}`,
    port: addr.port,
    pending: () => pending.count(),
    whenIdle: () => pending.whenIdle(),
    submitPool: submit.pool,
    stats: (): ValidatorServerStats => ({
      submitResponses: { ...submit.submitResponses },
      workerVerdicts: worker.verdicts,
      peakPending: pending.peakPending,
      peakBufferedBytes: pending.peakBufferedBytes,
    }),
    close: () =>
      (closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve())
          server.closeAllConnections()
        })
        await worker.whenStopped()
        await submit.pool?.close()
      })()),
  })
}
