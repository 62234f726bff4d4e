import { ReliquaryError, invalidArgument, isReliquaryError } from '../errors/base.js'
import { DEFAULT_PROFILE, type ProtocolProfile } from '../protocol/profiles.js'
import type { BeaconSource, DrandBeaconInput, DrandChainInfo, VerifiedBeacon } from './beacon.js'
import { KNOWN_CHAINS, assertChainInfo } from './chainInfo.js'
import { fetchVerifiedBeacon } from './_drandClient.js'
import { readBounded } from '../_utils/stream.js'
import { sleep } from '../_utils/sleep.js'

/**
 * Public drand HTTP relays, in the order the reference tries them
 * [59b4718:reliquary/infrastructure/drand.py].
 */
export const DRAND_RELAYS: readonly string[] = /*#__PURE__*/ Object.freeze([
  'https://api.drand.sh',
  'https://api2.drand.sh',
  'https://api3.drand.sh',
  'https://drand.cloudflare.com',
  'https://api.drand.secureweb3.com:6875',
])

/** Defaults of {@link createHttpBeaconSource}. */
export const HTTP_BEACON_SOURCE_DEFAULTS = /*#__PURE__*/ Object.freeze({
  /** Per-request timeout. */
  timeoutMs: 5_000,
  /** Extra passes over the relay list after the first one fails everywhere. */
  retries: 2,
  /** Pause before each extra pass (multiplied by the pass number). */
  retryDelayMs: 250,
  /** Largest response body read from a relay. */
  maxResponseBytes: 64 * 1024,
} as const)

/** Parameters of {@link createHttpBeaconSource}. */
export type CreateHttpBeaconSourceParameters = {
  /** Relay base URLs. @default DRAND_RELAYS */
  relays?: readonly string[] | undefined
  /** The chain to serve; relays' chain info must hash to it. @default profile.drand.chainHash (quicknet) */
  chainHash?: string | undefined
  /**
   * Full chain info to pin instead of fetching `/info` (checked against `chainHash`). Not needed
   * for quicknet, which the SDK knows.
   */
  chainInfo?: DrandChainInfo | undefined
  /** Profile whose `drand.chainHash` is the default. @default DEFAULT_PROFILE */
  profile?: ProtocolProfile | undefined
  /** `fetch` to use (a proxy, a test double). @default globalThis.fetch */
  fetch?: typeof fetch | undefined
  /** Per-request timeout. @default 5000 */
  timeoutMs?: number | undefined
  /** Extra passes over the relays. @default 2 */
  retries?: number | undefined
  /** Base pause between passes. @default 250 */
  retryDelayMs?: number | undefined
  /** Aborts every request of this source. */
  signal?: AbortSignal | undefined
  /** Clock in unix milliseconds, used by `latest()`. @default Date.now */
  now?: (() => number) | undefined
}

type Failure = { relay: string; code: string; message: string }

function relayLabel(base: string): string {
  try {
    return new URL(base).origin // never the userinfo or path
  } catch {
    return '(invalid relay URL)'
  }
}

async function readJsonCapped(res: Response, maxBytes: number): Promise<unknown> {
  const declared = Number(res.headers.get('content-length') ?? '0')
  if (declared > maxBytes) throw new Error(`response of ${declared} bytes exceeds ${maxBytes}`)
  if (!res.body) return JSON.parse(await res.text())
  const all = await readBounded(res.body.getReader(), maxBytes)
  if (all === null) throw new Error(`response exceeds ${maxBytes} bytes`)
  return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(all))
}

/** A failure's code and message for `meta.failures` (transport errors are unwrapped). */
function describeFailure(e: unknown): { code: string; message: string } {
  const inner = isReliquaryError(e, 'DRAND_UNAVAILABLE') && e.cause !== undefined ? e.cause : e
  if (isReliquaryError(inner)) return { code: inner.code, message: inner.shortMessage }
  if (inner instanceof Error) {
    const timeout = inner.name === 'TimeoutError' || inner.name === 'AbortError'
    return { code: timeout ? 'TIMEOUT' : 'FETCH_FAILED', message: inner.message }
  }
  return { code: 'FETCH_FAILED', message: String(inner) }
}

/**
 * A {@link BeaconSource} over the public drand HTTP relays. Each request goes to one relay at a
 * time (in order, then again for `retries` more passes), with a per-request timeout, an optional
 * caller `AbortSignal`, a bounded response size and an injectable `fetch`. Beacon paths are tried
 * as the reference does: `/v2/chains/{hash}/rounds/{r}`, then `/{hash}/public/{r}`.
 *
 * Trust: the only anchor is the chain hash (default: the profile's quicknet hash). Quicknet's
 * chain info is built in; for another chain the relays' `/info` is accepted only if its hash
 * recomputes to the pinned hash, which commits to the public key. Every beacon is then
 * BLS-verified (`verifyBeacon`, then drand-client's verifier over the same beacon); a relay that
 * serves a beacon that fails is skipped like one that is down. Nothing is logged.
 *
 * Each beacon is fetched through drand-client's `fetchBeacon` over a `ChainClient` built here
 * rather than drand-client's `HttpChainClient`, because that one always calls the global `fetch`
 * with no timeout or abort signal.
 *
 * @param parameters - {@link CreateHttpBeaconSourceParameters}.
 * @returns A frozen source. Its methods reject with `DRAND_UNAVAILABLE` when no relay produced a
 *   verified beacon (`meta.failures` lists each relay's failure, without URLs' credentials or
 *   paths; `cause` is the first verification error, if any) and with `DRAND_CHAIN_INFO_INVALID`
 *   when the chain info does not match the pin.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for bad options.
 * @example
 * ```ts
 * import { createHttpBeaconSource, windowRandomnessFromBeacon } from 'reliquary/drand'
 * const source = createHttpBeaconSource({ timeoutMs: 3000, signal: AbortSignal.timeout(20_000) })
 * const beacon = await source.latest()
 * windowRandomnessFromBeacon(beacon)
 * ```
 */
export function createHttpBeaconSource(
  parameters: CreateHttpBeaconSourceParameters = {},
): BeaconSource {
  const cfg = resolveHttpOptions(parameters)
  const { chainHash, signal: outer } = cfg
  const now = parameters.now ?? Date.now
  const getJson = (url: string): Promise<unknown> => fetchJsonCapped(cfg, url)
  const acrossRelays = <T>(what: string, attempt: (relay: string) => Promise<T>): Promise<T> =>
    tryEveryRelay(cfg, what, attempt)

  let infoPromise: Promise<DrandChainInfo> | undefined
  const chainInfo = (): Promise<DrandChainInfo> => {
    infoPromise ??= (async () => {
      if (parameters.chainInfo) return assertChainInfo(parameters.chainInfo, { chainHash })
      const known = KNOWN_CHAINS.get(chainHash)
      if (known) return known
      return acrossRelays('the chain info', async (relay) =>
        assertChainInfo(await getJson(`${relay}/${chainHash}/info`), { chainHash }),
      )
    })()
    infoPromise.catch(() => {
      infoPromise = undefined // a failed lookup is retried on the next call
    })
    return infoPromise
  }

  const beacon = async (round: number): Promise<VerifiedBeacon> => {
    if (!Number.isSafeInteger(round) || round < 1)
      throw invalidArgument('round', 'a positive integer', round)
    const info = await chainInfo()
    return acrossRelays(`round ${round}`, (relay) =>
      fetchVerifiedBeacon(
        async (r) => {
          let v2Error: unknown
          try {
            return (await getJson(
              `${relay}/v2/chains/${chainHash}/rounds/${r}`,
            )) as DrandBeaconInput
          } catch (e) {
            v2Error = e
          }
          if (outer?.aborted) throw v2Error
          return (await getJson(`${relay}/${chainHash}/public/${r}`)) as DrandBeaconInput
        },
        info,
        round,
      ),
    )
  }

  return Object.freeze({
    chainInfo,
    beacon,
    /** The beacon of the current round by the clock; the previous round if relays lag behind. */
    latest: async (): Promise<VerifiedBeacon> => {
      const info = await chainInfo()
      const t = now() / 1000
      if (!Number.isFinite(t) || t < info.genesis_time)
        throw new ReliquaryError('DRAND_UNAVAILABLE', 'The clock is before the chain genesis.')
      const current = 1 + Math.floor((t - info.genesis_time) / info.period)
      try {
        return await beacon(current)
      } catch (e) {
        if (current > 1 && isReliquaryError(e, 'DRAND_UNAVAILABLE') && !outer?.aborted)
          return beacon(current - 1)
        throw e
      }
    },
  })
}

/** The checked options of {@link createHttpBeaconSource}. */
type HttpSourceConfig = {
  readonly relays: readonly string[]
  readonly chainHash: string
  readonly fetch: typeof fetch
  readonly timeoutMs: number
  readonly retries: number
  readonly retryDelayMs: number
  readonly signal: AbortSignal | undefined
}

function resolveHttpOptions(parameters: CreateHttpBeaconSourceParameters): HttpSourceConfig {
  const D = HTTP_BEACON_SOURCE_DEFAULTS
  const relays = (parameters.relays ?? DRAND_RELAYS).map((r) =>
    typeof r === 'string' ? r.replace(/\/+$/, '') : r,
  )
  if (
    relays.length === 0 ||
    relays.some((r) => typeof r !== 'string' || !/^https?:\/\//i.test(r))
  ) {
    throw invalidArgument('relays', 'a non-empty list of http(s) base URLs', parameters.relays)
  }
  const chainHash = (
    parameters.chainHash ??
    parameters.chainInfo?.hash ??
    (parameters.profile ?? DEFAULT_PROFILE).drand.chainHash
  ).toLowerCase()
  if (!/^[0-9a-f]{64}$/.test(chainHash))
    throw invalidArgument('chainHash', '32-byte hex', chainHash)
  const doFetch = parameters.fetch ?? globalThis.fetch
  if (typeof doFetch !== 'function') throw invalidArgument('fetch', 'a fetch function', doFetch)
  const timeoutMs = parameters.timeoutMs ?? D.timeoutMs
  const retries = parameters.retries ?? D.retries
  const retryDelayMs = parameters.retryDelayMs ?? D.retryDelayMs
  if (!(timeoutMs > 0)) throw invalidArgument('timeoutMs', 'a positive number', timeoutMs)
  if (!Number.isSafeInteger(retries) || retries < 0)
    throw invalidArgument('retries', 'a non-negative integer', retries)
  if (!(retryDelayMs >= 0))
    throw invalidArgument('retryDelayMs', 'a non-negative number', retryDelayMs)
  return {
    relays,
    chainHash,
    fetch: doFetch,
    timeoutMs,
    retries,
    retryDelayMs,
    signal: parameters.signal,
  }
}

/** GETs JSON from one relay under the per-request timeout (and the caller's signal), size-capped. */
async function fetchJsonCapped(cfg: HttpSourceConfig, url: string): Promise<unknown> {
  const outer = cfg.signal
  const signal = outer
    ? AbortSignal.any([outer, AbortSignal.timeout(cfg.timeoutMs)])
    : AbortSignal.timeout(cfg.timeoutMs)
  const res = await cfg.fetch(url, { signal, headers: { accept: 'application/json' } })
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined)
    throw new Error(`HTTP ${res.status}`)
  }
  return readJsonCapped(res, HTTP_BEACON_SOURCE_DEFAULTS.maxResponseBytes)
}

/** Tries every relay, `retries + 1` passes; returns the first success. */
async function tryEveryRelay<T>(
  cfg: HttpSourceConfig,
  what: string,
  attempt: (relay: string) => Promise<T>,
): Promise<T> {
  const outer = cfg.signal
  const failures: Failure[] = []
  let firstInvalid: unknown
  for (let pass = 0; pass <= cfg.retries; pass++) {
    if (pass > 0 && cfg.retryDelayMs > 0) {
      try {
        await sleep(cfg.retryDelayMs * pass, outer)
      } catch {
        break
      }
    }
    for (const relay of cfg.relays) {
      if (outer?.aborted) break
      try {
        return await attempt(relay)
      } catch (e) {
        if (isReliquaryError(e) && e.code !== 'DRAND_UNAVAILABLE' && firstInvalid === undefined)
          firstInvalid = e
        failures.push({ relay: relayLabel(relay), ...describeFailure(e) })
      }
    }
    if (outer?.aborted) break
  }
  throw new ReliquaryError(
    'DRAND_UNAVAILABLE',
    `No drand relay served ${what}${outer?.aborted ? ' (aborted)' : ''}.`,
    {
      hints: [
        'Check connectivity to the relays, or pass other relays / a longer timeoutMs.',
        'Relays that served beacons failing BLS verification are listed with DRAND_* codes.',
      ],
      details: failures
        .slice(0, 20)
        .map((f) => `${f.relay}: ${f.code} ${f.message}`)
        .join('; '),
      meta: { failures: failures.slice(0, 50), aborted: outer?.aborted ?? false },
      cause: firstInvalid ?? (outer?.aborted ? outer.reason : undefined),
    },
  )
}
