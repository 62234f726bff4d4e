import { isReliquaryError } from '../errors/base.js'

/**
 * A one-line description of anything caught, for logs and verdict details: a `ReliquaryError` as
 * `CODE: details` (or its short message), another `Error` as its message followed by its cause's
 * (undici reports `fetch failed` with the socket error as the cause), anything else as a string.
 * `maxLength` cuts the result (it may come from a hostile peer).
 * @internal
 */
export function describeError(e: unknown, maxLength = Number.POSITIVE_INFINITY): string {
  return describe(e).slice(0, maxLength)
}

function describe(e: unknown): string {
  if (isReliquaryError(e)) return `${e.code}: ${e.details ?? e.shortMessage}`
  if (!(e instanceof Error)) return String(e)
  const cause = (e as { cause?: unknown }).cause
  return cause instanceof Error ? `${e.message}: ${cause.message}` : e.message
}
