import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { invalidArgument } from '../errors/base.js'
import {
  submitRequestSchema,
  type CheckpointManifestWire,
  type Health,
  type WindowState,
} from '../protocol/schemas.js'
import type { AdmissionPipeline } from '../window/admission/admissionPipeline.js'
import type { AdmissionVerdict } from '../window/admission/admissionTypes.js'
import { toSubmitHttpResponse } from './http/toSubmitHttpResponse.js'
import { fastApiDetail, type FastApiErrorItem } from './_fastapiDetail.js'

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
  /** Most `/submit` requests being read or waiting for the worker at once; beyond it, 503. */
  maxQueueDepth: 1024,
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
  /** Clock in unix seconds (arrival stamps, worker time). @default `Date.now() / 1000` */
  now?: (() => number) | undefined
  /** @default VALIDATOR_SERVER_DEFAULTS.host */
  host?: string | undefined
  /** @default VALIDATOR_SERVER_DEFAULTS.port */
  port?: number | undefined
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
  stats(): ValidatorServerStats
  /** Stops listening, drops open connections and waits for the worker to finish its item. Idempotent. */
  close(): Promise<void>
}

const defaultNow = (): number => Date.now() / 1000

type Reply = {
  status: number
  body: unknown
  headers?: Readonly<Record<string, string>> | undefined
}

const detail = (
  status: number,
  d: string | FastApiErrorItem[],
  headers?: Record<string, string>,
): Reply => ({ status, body: { detail: d }, headers })

function own(o: unknown, key: string): unknown {
  return typeof o === 'object' && o !== null && !Array.isArray(o) && Object.hasOwn(o, key)
    ? (o as Record<string, unknown>)[key]
    : undefined
}

/**
 * Starts the validator's HTTP API on `node:http`, wire-compatible with the reference E3
 * validator (FastAPI, PROTOCOL.md §3):
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
 * requests; every queued submission gets exactly one worker verdict. Memory is bounded by
 * `maxQueueDepth × maxBodyBytes` (plus the parsed form of those bodies).
 *
 * - Spec: PROTOCOL.md §3.1–§3.4, §4.3 (mirrors `reliquary/validator/server.py` at 0b2d53f).
 *
 * @param parameters - {@link ValidatorServerParameters}
 * @returns The listening {@link ValidatorServer}.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a missing pipeline or callback, or bad limits;
 *   the listen error (e.g. `EADDRINUSE`) as is.
 * @example
 * ```ts
 * // src/validator/createValidatorServer.ts (no package entry point exports it yet)
 * import { createValidatorServer } from './src/validator/createValidatorServer.js'
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
  if (typeof parameters !== 'object' || parameters === null)
    throw invalidArgument('parameters', 'an object', parameters)
  const p = parameters
  const pipeline = p.pipeline
  if (typeof pipeline?.submit !== 'function' || typeof pipeline.processNext !== 'function')
    throw invalidArgument('pipeline', 'an AdmissionPipeline', pipeline)
  for (const k of ['state', 'checkpoint', 'health'] as const)
    if (typeof p[k] !== 'function') throw invalidArgument(k, 'a function', p[k])
  const {
    maxBodyBytes = VALIDATOR_SERVER_DEFAULTS.maxBodyBytes,
    maxQueueDepth = VALIDATOR_SERVER_DEFAULTS.maxQueueDepth,
    host = VALIDATOR_SERVER_DEFAULTS.host,
    port = VALIDATOR_SERVER_DEFAULTS.port,
    onSubmission,
    now = defaultNow,
  } = p
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1)
    throw invalidArgument('maxBodyBytes', 'a positive integer', maxBodyBytes)
  if (!Number.isSafeInteger(maxQueueDepth) || maxQueueDepth < 1)
    throw invalidArgument('maxQueueDepth', 'a positive integer', maxQueueDepth)
  if (typeof now !== 'function')
    throw invalidArgument('now', 'a function returning unix seconds', now)
  if (!Number.isSafeInteger(port) || port < 0 || port > 65_535)
    throw invalidArgument('port', 'an integer in [0, 65535]', port)
  const requestSchema = submitRequestSchema(pipeline.config.profile)

  let handling = 0 // /submit requests between arrival and their answer
  let buffered = 0 // body bytes those requests hold
  let workerBusy = false
  let worker: Promise<void> | null = null
  // Hotkey and window of each queued item, in queue order (the worker is the only consumer).
  const queuedMeta: { hotkey: string; windowStart: number }[] = []
  let queuedHead = 0
  const submitResponses: Record<string, number> = {}
  let workerVerdicts = 0
  let peakPending = 0
  let peakBufferedBytes = 0
  let idleWaiters: (() => void)[] = []

  const pending = (): number => handling + pipeline.queueDepth + (workerBusy ? 1 : 0)
  const notePending = (): void => {
    peakPending = Math.max(peakPending, pending())
    if (pending() === 0 && idleWaiters.length > 0) {
      const ws = idleWaiters
      idleWaiters = []
      for (const w of ws) w()
    }
  }
  const emit = (e: SubmissionEvent): void => {
    try {
      onSubmission?.(e)
    } catch {
      /* a monitoring callback never breaks admission */
    }
  }

  const runWorker = async (): Promise<void> => {
    try {
      while (pipeline.queueDepth > 0) {
        workerBusy = true
        let verdict: AdmissionVerdict | null = null
        try {
          verdict = await pipeline.processNext({ nowSeconds: now() })
        } finally {
          workerBusy = false
        }
        if (verdict === null) break
        const meta = queuedMeta[queuedHead]
        if (meta)
          queuedMeta[queuedHead++] = undefined as unknown as { hotkey: string; windowStart: number }
        if (queuedHead > 1024 && queuedHead * 2 > queuedMeta.length) {
          queuedMeta.splice(0, queuedHead)
          queuedHead = 0
        }
        workerVerdicts++
        emit({
          stage: 'worker',
          hotkey: meta?.hotkey ?? null,
          windowStart: meta?.windowStart ?? null,
          status: 200,
          accepted: verdict.accepted,
          reason: verdict.reason,
          verdict,
        })
        notePending()
        // Let pending I/O run between items: a model-bound verification is one long promise chain,
        // and arriving requests must be stamped when they arrive, not after the whole queue.
        await new Promise<void>((r) => setImmediate(r))
      }
    } finally {
      worker = null
      notePending()
    }
  }
  const kick = (): void => {
    worker ??= runWorker()
  }

  /** Reads at most `maxBodyBytes`; `null` when the body is larger. */
  const readBody = (req: IncomingMessage): Promise<Buffer | null> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = []
      let size = 0
      let done = false
      const finish = (v: Buffer | null): void => {
        if (done) return
        done = true
        req.off('data', onData)
        resolve(v)
      }
      const onData = (c: Buffer): void => {
        if (done) return
        size += c.length
        if (size > maxBodyBytes) {
          buffered -= size - c.length
          chunks.length = 0
          finish(null)
          return
        }
        buffered += c.length
        peakBufferedBytes = Math.max(peakBufferedBytes, buffered)
        chunks.push(c)
      }
      req.on('data', onData)
      req.once('end', () => finish(Buffer.concat(chunks, size)))
      req.once('error', (e) => {
        if (!done) {
          done = true
          buffered -= size
          reject(e)
        }
      })
    })

  const handleSubmit = async (
    req: IncomingMessage,
    arrivalSeconds: number,
  ): Promise<{ reply: Reply; event: Omit<SubmissionEvent, 'status'> }> => {
    const declared = Number(req.headers['content-length'])
    if (Number.isFinite(declared) && declared > maxBodyBytes) {
      return {
        reply: detail(413, 'payload_too_large', { Connection: 'close' }),
        event: {
          stage: 'handler',
          hotkey: null,
          windowStart: null,
          accepted: false,
          reason: 'payload_too_large',
          verdict: null,
        },
      }
    }
    const bytes = await readBody(req)
    if (bytes === null) {
      return {
        reply: detail(413, 'payload_too_large', { Connection: 'close' }),
        event: {
          stage: 'handler',
          hotkey: null,
          windowStart: null,
          accepted: false,
          reason: 'payload_too_large',
          verdict: null,
        },
      }
    }
    try {
      let body: unknown
      try {
        body = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
      } catch {
        return {
          reply: detail(422, [
            { type: 'json_invalid', loc: ['body', 0], msg: 'JSON decode error' },
          ]),
          event: {
            stage: 'handler',
            hotkey: null,
            windowStart: null,
            accepted: false,
            reason: 'bad_schema',
            verdict: null,
          },
        }
      }
      const hk = own(body, 'miner_hotkey')
      const ws = own(body, 'window_start')
      const hotkey = typeof hk === 'string' ? hk : null
      const windowStart = Number.isSafeInteger(ws) ? (ws as number) : null
      const verdict = await pipeline.submit(body, { arrivalSeconds })
      if (verdict.accepted && verdict.stage === 'handler') {
        // Queued: the worker's verdict for it comes back in queue order.
        queuedMeta.push({ hotkey: hotkey ?? '', windowStart: windowStart ?? -1 })
        kick()
      }
      if (verdict.refusal === 'malformed') {
        const r = requestSchema.safeParse(body)
        const items = r.success
          ? [{ type: 'value_error', loc: ['body'], msg: verdict.detail }]
          : fastApiDetail(r.error.issues)
        return {
          reply: detail(422, items),
          event: {
            stage: 'handler',
            hotkey,
            windowStart,
            accepted: false,
            reason: verdict.reason,
            verdict,
          },
        }
      }
      const http = toSubmitHttpResponse(verdict)
      return {
        reply: { status: http.status, body: http.body, headers: http.headers },
        event: {
          stage: 'handler',
          hotkey,
          windowStart,
          accepted: verdict.accepted,
          reason: verdict.reason,
          verdict,
        },
      }
    } finally {
      buffered -= bytes.length
    }
  }

  const route = async (req: IncomingMessage, arrivalSeconds: number): Promise<Reply> => {
    const url = new URL(req.url ?? '/', 'http://validator.invalid')
    const path = url.pathname
    const method = req.method ?? 'GET'
    const only = (m: string): Reply | null =>
      method === m ? null : detail(405, 'Method Not Allowed')
    if (path === '/submit') {
      const bad = only('POST')
      if (bad) return bad
      if (pending() >= maxQueueDepth) {
        submitResponses['503'] = (submitResponses['503'] ?? 0) + 1
        emit({
          stage: 'handler',
          hotkey: null,
          windowStart: null,
          status: 503,
          accepted: false,
          reason: 'queue_full',
          verdict: null,
        })
        return detail(503, 'queue_full', { Connection: 'close' })
      }
      handling++
      notePending()
      let out: { reply: Reply; event: Omit<SubmissionEvent, 'status'> }
      try {
        out = await handleSubmit(req, arrivalSeconds)
      } finally {
        handling--
      }
      submitResponses[String(out.reply.status)] =
        (submitResponses[String(out.reply.status)] ?? 0) + 1
      emit({ ...out.event, status: out.reply.status })
      notePending()
      return out.reply
    }
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
    if (
      path.startsWith('/verdicts/') &&
      path.length > '/verdicts/'.length &&
      !path.slice('/verdicts/'.length).includes('/')
    ) {
      const bad = only('GET')
      if (bad) return bad
      let hotkey: string
      try {
        hotkey = decodeURIComponent(path.slice('/verdicts/'.length))
      } catch {
        return detail(404, 'Not Found')
      }
      const raw = url.searchParams.get('since')
      let since: number | undefined
      if (raw !== null) {
        since = raw.trim() === '' ? Number.NaN : Number(raw)
        if (!Number.isFinite(since))
          return detail(422, [
            {
              type: 'float_parsing',
              loc: ['query', 'since'],
              msg: 'Input should be a valid number, unable to parse string as a number',
            },
          ])
      }
      return { status: 200, body: pipeline.verdicts(hotkey, { since }) }
    }
    return detail(404, 'Not Found')
  }

  const send = (res: ServerResponse, r: Reply): void => {
    const text = JSON.stringify(r.body)
    res.writeHead(r.status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
      ...r.headers,
    })
    res.end(text)
  }

  const server = createServer((req, res) => {
    // E3 stamps the arrival in ASGI middleware, before the body is parsed (PROTOCOL.md §4.3).
    const arrivalSeconds = now()
    route(req, arrivalSeconds).then(
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
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve()
    })
  })
  const addr = server.address() as AddressInfo
  const urlHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
  let closing: Promise<void> | null = null
  return Object.freeze({
    url: `http://${urlHost}:${addr.port}`,
    port: addr.port,
    pending,
    whenIdle: () =>
      pending() === 0 ? Promise.resolve() : new Promise<void>((r) => idleWaiters.push(r)),
    stats: (): ValidatorServerStats => ({
      submitResponses: { ...submitResponses },
      workerVerdicts,
      peakPending,
      peakBufferedBytes,
    }),
    close: () =>
      (closing ??= (async () => {
        await new Promise<void>((resolve) => {
          server.close(() => resolve())
          server.closeAllConnections()
        })
        await worker
      })()),
  })
}
