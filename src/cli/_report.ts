// How the CLI reports a failure: expected errors (typed, or a network failure) as code, message
// and hint with no stack; anything else as an unexpected error with its stack.
import { isReliquaryError, ReliquaryError } from '../errors/base.js'

/** True for what `fetch` throws when a URL cannot be reached (undici `fetch failed`, timeouts). */
export function isNetworkFailure(e: unknown): boolean {
  if (!(e instanceof Error)) return false
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return true
  return e instanceof TypeError && e.message === 'fetch failed'
}

/** The socket-level reason of a network failure (`ECONNREFUSED 127.0.0.1:1`, `ENOTFOUND x`). */
function networkReason(e: Error): string {
  const cause = (e as { cause?: unknown }).cause
  if (e.name === 'TimeoutError') return 'timed out'
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code
    return typeof code === 'string' ? `${code}: ${cause.message}` : cause.message
  }
  return e.message
}

/** A `NETWORK_REQUEST_FAILED` error for a failed fetch of `url`. */
export function networkError(url: string, e: unknown): ReliquaryError<'NETWORK_REQUEST_FAILED'> {
  return new ReliquaryError(
    'NETWORK_REQUEST_FAILED',
    `Cannot fetch ${url} (${e instanceof Error ? networkReason(e) : String(e)}).`,
    {
      hints: [
        'Check the URL and the network; RELIQUARY_LOG_LEVEL=debug shows the underlying error.',
      ],
      cause: e,
    },
  )
}

/**
 * `fetch` with a timeout whose failures are typed: unreachable or timed out, and non-2xx
 * statuses, are `NETWORK_REQUEST_FAILED` naming the URL.
 */
export async function fetchOrFail(
  url: string,
  o: { fetch?: typeof fetch | undefined; timeoutMs?: number } = {},
): Promise<Response> {
  let res: Response
  try {
    res = await (o.fetch ?? fetch)(url, { signal: AbortSignal.timeout(o.timeoutMs ?? 15_000) })
  } catch (e) {
    throw networkError(url, e)
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined)
    throw new ReliquaryError('NETWORK_REQUEST_FAILED', `${url} answered HTTP ${res.status}.`, {
      hints: ['Check the URL (a manifest URL must serve the JSON document itself).'],
    })
  }
  return res
}

/** True when the command line or environment asks for debug output (stacks of expected errors). */
export function debugRequested(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): boolean {
  const deep = (l: string | undefined) => l === 'debug' || l === 'trace'
  const i = argv.indexOf('--log-level')
  const inline = argv.find((a) => a.startsWith('--log-level='))?.slice('--log-level='.length)
  return deep(env.RELIQUARY_LOG_LEVEL) || deep(i >= 0 ? argv[i + 1] : inline)
}

/**
 * Writes a failure to `write` and returns the exit code: 2 for usage and config errors, 1 for
 * other expected errors (code, message and hints; the cause's stack only when `debug`), 3 for an
 * unexpected error (with its stack: it is a bug).
 */
export function reportError(e: unknown, o: { debug: boolean; write: (s: string) => void }): number {
  const err = isNetworkFailure(e) ? networkError('a URL', e) : e
  if (isReliquaryError(err)) {
    o.write(`${err.message}\n`)
    const cause = (err as { cause?: unknown }).cause
    if (o.debug && cause instanceof Error) o.write(`Cause: ${cause.stack ?? cause.message}\n`)
    return err.code === 'CLI_USAGE' || err.code === 'CLI_CONFIG_INVALID' ? 2 : 1
  }
  o.write(
    `Unexpected error (please report it with this output):\n${(e as Error)?.stack ?? String(e)}\n`,
  )
  return 3
}
