import { describeError } from '../_utils/describeError.js'
import { parseState, type WindowState } from '../protocol/schemas.js'
import type { MinerLog } from './minerContext.js'

/** A raw answer of the validator. @internal */
export type ValidatorResponse = { readonly status: number; readonly text: string }

/** The miner's view of the validator's HTTP API (docs/protocol.md §3.3, §3.4). @internal */
export type ValidatorClient = {
  /** One request to `{validatorUrl}{path}`; a JSON `body` is posted with its content type. */
  request(
    method: 'GET' | 'POST',
    path: string,
    body: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<ValidatorResponse>
  /** `/state`, or null when the validator has no active window (503) or cannot be reached. */
  getState(signal: AbortSignal | undefined): Promise<WindowState | null>
}

/**
 * A {@link ValidatorClient} for `validatorUrl` over `fetchImpl`. Transport failures and
 * unexpected statuses of `/state` are logged and read as "no window yet"; a malformed `/state`
 * document throws (`SCHEMA_INVALID` / `JSON_INVALID`); an aborted signal rejects with its reason.
 * @internal
 */
export function createValidatorClient(
  validatorUrl: string,
  fetchImpl: typeof fetch,
  log: MinerLog,
): ValidatorClient {
  const base = validatorUrl.replace(/\/+$/, '')
  const request: ValidatorClient['request'] = async (method, path, body, signal) => {
    const res = await fetchImpl(`${base}${path}`, {
      method,
      ...(body !== undefined ? { body, headers: { 'content-type': 'application/json' } } : {}),
      ...(signal ? { signal } : {}),
    })
    return { status: res.status, text: await res.text() }
  }
  const getState: ValidatorClient['getState'] = async (signal) => {
    let res: ValidatorResponse
    try {
      res = await request('GET', '/state', undefined, signal)
    } catch (e) {
      if (signal?.aborted) throw signal.reason
      log('warn', 'state_unreachable', 'GET /state failed; retrying', { error: describeError(e) })
      return null
    }
    if (res.status === 503) return null
    if (res.status !== 200) {
      log('warn', 'state_status', `GET /state answered ${res.status}; retrying`)
      return null
    }
    return parseState(res.text)
  }
  return Object.freeze({ request, getState })
}
