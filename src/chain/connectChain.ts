import { ApiPromise, WsProvider } from '@polkadot/api'
import type { ProviderInterface } from '@polkadot/rpc-provider/types'
import { ReliquaryError, invalidArgument, isReliquaryError } from '../errors/base.js'
import { withTimeout } from './_withTimeout.js'

/** Timeouts of a {@link ChainClient}, in milliseconds (the reference's `CHAIN_READ_TIMEOUT` / `CHAIN_WRITE_TIMEOUT`). */
export const CHAIN_CLIENT_DEFAULTS = /*#__PURE__*/ Object.freeze({
  readTimeoutMs: 30_000,
  writeTimeoutMs: 180_000,
  connectTimeoutMs: 30_000,
} as const)

/** Parameters of {@link connectChain}. */
export type ConnectChainParameters = {
  /** WebSocket endpoint of a subtensor node, `ws://…` or `wss://…`. */
  url: string
  /** Budget of one read (storage query, header). @default 30000 */
  readTimeoutMs?: number | undefined
  /** Budget of one write (sign, submit, wait for inclusion). @default 180000 */
  writeTimeoutMs?: number | undefined
  /** Budget of opening the connection and loading the runtime metadata. @default 30000 */
  connectTimeoutMs?: number | undefined
  /** Connection events (`connected`, `dropped`); must not throw. */
  onEvent?: ((event: ChainClientEvent) => void) | undefined
}

/** What a {@link ChainClient} reports about its connection. */
export type ChainClientEvent =
  | { readonly type: 'connected'; readonly url: string; readonly specVersion: number }
  | { readonly type: 'dropped'; readonly url: string; readonly reason: string }

/**
 * A connection to a subtensor node that survives stalls: every read and write runs under its
 * timeout; a timeout or a closed socket drops the connection, and the next call opens a fresh one
 * (new socket, metadata reloaded), so a wedged WebSocket never blocks its caller for longer than
 * one timeout.
 */
export type ChainClient = {
  readonly url: string
  readonly readTimeoutMs: number
  readonly writeTimeoutMs: number
  /** The live API, connecting first if needed. */
  api(): Promise<ApiPromise>
  /** Runs a read under the read timeout. @throws {ReliquaryError} `CHAIN_TIMEOUT`, `CHAIN_UNAVAILABLE` */
  read<T>(label: string, fn: (api: ApiPromise) => Promise<T>): Promise<T>
  /** Runs a write under the write timeout (or `timeoutMs`). @throws {ReliquaryError} `CHAIN_TIMEOUT`, `CHAIN_UNAVAILABLE` */
  write<T>(
    label: string,
    fn: (api: ApiPromise) => Promise<T>,
    options?: { timeoutMs?: number | undefined },
  ): Promise<T>
  /** Drops the current connection; the next call reconnects. */
  reconnect(reason?: string): void
  /** Closes the connection for good. Idempotent. */
  disconnect(): Promise<void>
}

function assertMs(name: string, v: number): void {
  if (!Number.isFinite(v) || v <= 0) throw invalidArgument(name, 'a positive number of ms', v)
}

const unavailable = (url: string, cause: unknown): ReliquaryError<'CHAIN_UNAVAILABLE'> =>
  new ReliquaryError('CHAIN_UNAVAILABLE', `Cannot reach the chain at ${safeUrl(url)}.`, {
    hints: [
      'Check the --chain URL and that the node is running and reachable.',
      'Calls reconnect by themselves once the node is back.',
    ],
    cause,
  })

/** The endpoint without credentials, for messages. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.host}`
  } catch {
    return '(invalid url)'
  }
}

async function openApi(
  url: string,
  requestTimeoutMs: number,
  timeoutMs: number,
): Promise<ApiPromise> {
  const provider = new WsProvider(url, false, {}, requestTimeoutMs)
  let failed: ((e: unknown) => void) | undefined
  const failure = new Promise<never>((_, reject) => {
    failed = reject
  })
  failure.catch(() => undefined)
  provider.on('error', (e: unknown) => failed?.(e))
  const opening = (async () => {
    await provider.connect()
    await Promise.race([provider.isReady, failure])
    const api = new ApiPromise({
      provider: provider as unknown as ProviderInterface,
      noInitWarn: true,
    })
    await Promise.race([api.isReadyOrError, failure])
    return api
  })()
  try {
    return await withTimeout(opening, timeoutMs, `Connecting to ${safeUrl(url)}`)
  } catch (e) {
    opening.then((api) => api.disconnect()).catch(() => undefined)
    await provider.disconnect().catch(() => undefined)
    throw isReliquaryError(e) ? e : unavailable(url, e)
  }
}

/**
 * Opens a {@link ChainClient} on a subtensor node. The connection is opened lazily, on the first
 * call; nothing is contacted here. Runtime metadata drives every call, so any runtime with the
 * same pallet, call and storage names works.
 *
 * - Timeouts mirror the reference (`reliquary/infrastructure/chain.py`): reads 30 s, writes 180 s.
 *
 * @param parameters - {@link ConnectChainParameters}
 * @returns A {@link ChainClient}; call `disconnect()` when done.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a URL that is not `ws(s)://` or a bad timeout.
 * @example
 * ```ts
 * import { connectChain, readMetagraph } from 'reliquary/chain'
 * const client = connectChain({ url: 'ws://127.0.0.1:9944' })
 * const metagraph = await readMetagraph(client, { netuid: 81 })
 * await client.disconnect()
 * ```
 */
export function connectChain(parameters: ConnectChainParameters): ChainClient {
  if (typeof parameters !== 'object' || parameters === null)
    throw invalidArgument('parameters', 'an object', parameters)
  const { url, onEvent } = parameters
  if (typeof url !== 'string' || !/^wss?:\/\/[^\s]+$/.test(url))
    throw invalidArgument('url', 'a ws:// or wss:// URL', url)
  const {
    readTimeoutMs = CHAIN_CLIENT_DEFAULTS.readTimeoutMs,
    writeTimeoutMs = CHAIN_CLIENT_DEFAULTS.writeTimeoutMs,
    connectTimeoutMs = CHAIN_CLIENT_DEFAULTS.connectTimeoutMs,
  } = parameters
  assertMs('readTimeoutMs', readTimeoutMs)
  assertMs('writeTimeoutMs', writeTimeoutMs)
  assertMs('connectTimeoutMs', connectTimeoutMs)
  const emit = (e: ChainClientEvent): void => {
    try {
      onEvent?.(e)
    } catch {
      /* observers never break the client */
    }
  }

  let current: Promise<ApiPromise> | null = null
  let closed = false

  const drop = (reason: string): void => {
    const old = current
    current = null
    if (old) {
      emit({ type: 'dropped', url: safeUrl(url), reason })
      old.then((api) => api.disconnect()).catch(() => undefined)
    }
  }

  const api = (): Promise<ApiPromise> => {
    if (closed)
      return Promise.reject(
        new ReliquaryError('CHAIN_UNAVAILABLE', 'This chain client has been disconnected.'),
      )
    if (current === null) {
      const opening = openApi(url, Math.max(readTimeoutMs, writeTimeoutMs), connectTimeoutMs)
      current = opening
      opening.then(
        (a) => {
          emit({
            type: 'connected',
            url: safeUrl(url),
            specVersion: a.runtimeVersion.specVersion.toNumber(),
          })
          a.on('disconnected', () => {
            if (current === opening) drop('socket closed')
          })
        },
        () => {
          if (current === opening) current = null
        },
      )
    }
    return current
  }

  const run = async <T>(
    label: string,
    ms: number,
    fn: (api: ApiPromise) => Promise<T>,
  ): Promise<T> => {
    const work = (async () => fn(await api()))()
    try {
      return await withTimeout(work, ms, label, () => drop(`${label} timed out`))
    } catch (e) {
      if (isReliquaryError(e)) throw e
      // A socket-level failure: drop the connection so the next call starts afresh.
      drop(`${label} failed`)
      throw unavailable(url, e)
    }
  }

  return Object.freeze({
    url,
    readTimeoutMs,
    writeTimeoutMs,
    api,
    read: <T>(label: string, fn: (api: ApiPromise) => Promise<T>) => run(label, readTimeoutMs, fn),
    write: <T>(
      label: string,
      fn: (api: ApiPromise) => Promise<T>,
      options: { timeoutMs?: number | undefined } = {},
    ) => run(label, options.timeoutMs ?? writeTimeoutMs, fn),
    reconnect: (reason = 'reconnect requested') => drop(reason),
    disconnect: async () => {
      closed = true
      const old = current
      current = null
      await old?.then((a) => a.disconnect()).catch(() => undefined)
    },
  })
}
