import type { IncomingMessage } from 'node:http'
import type { LocalHubStore } from './_localHubStore.js'

/** What a route answers. @internal */
export type HubReply = {
  status: number
  headers?: Record<string, string>
  body?: Buffer | string | object
}

/** What every route of the local Hub sees. @internal */
export type HubRouteContext = {
  readonly store: LocalHubStore
  /** The server's base URL (known once it listens). */
  readonly baseUrl: () => string
  /** Files of this size and above are routed through LFS. */
  readonly lfsThresholdBytes: number
  /** Whether the commits endpoint is served (a test can turn it off). */
  readonly commitsApi: () => boolean
  /** Whether the request carries the server's write token. */
  readonly authorized: (req: IncomingMessage) => boolean
}

/** A request split into what the routes match on. @internal */
export type HubRouteRequest = {
  readonly req: IncomingMessage
  readonly method: string
  readonly url: URL
  /** The decoded path segments. */
  readonly seg: readonly string[]
  readonly body: Buffer
}

/** A JSON reply. @internal */
export const json = (
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): HubReply => ({
  status,
  headers: { 'Content-Type': 'application/json', ...headers },
  body: JSON.stringify(body),
})

/** A 404 with the Hub's `X-Error-Code`. @internal */
export const notFound = (code: string, message: string): HubReply =>
  json(404, { error: message }, { 'X-Error-Code': code })

/** The 404 of a repository the Hub does not have. @internal */
export const repoNotFound = (): HubReply => notFound('RepoNotFound', 'Repository not found')

/** The 401 of a write without the server's token. @internal */
export const unauthorized = (key: 'error' | 'message' = 'error'): HubReply =>
  json(401, { [key]: 'Invalid credentials' })
