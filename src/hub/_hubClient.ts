// Internal glue between reliquary and @huggingface/hub: argument checks, one fetch that carries
// the caller's AbortSignal into every request the library makes, and the mapping of the
// library's errors (HubApiError, plain TypeErrors from fetch) onto ReliquaryError codes.
import { HubApiError, downloadFile } from '@huggingface/hub'
import { ReliquaryError, describeValue, invalidArgument, isReliquaryError } from '../errors/base.js'
import { CUSTODY_MANIFEST_PATH, HUB_DEFAULTS } from './constants.js'

/** Hub repo names: `namespace/name`, each part of letters, digits, `-`, `_`, `.` (no `..`). @internal */
const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/

/** @internal */
export function assertRepoId(repoId: unknown): asserts repoId is string {
  if (typeof repoId !== 'string' || !REPO_ID.test(repoId) || repoId.includes('..')) {
    throw invalidArgument('repoId', 'a Hub model repo id "namespace/name"', repoId)
  }
}

/** @internal */
export function resolveHubUrl(hubUrl: unknown): string {
  if (hubUrl === undefined) return HUB_DEFAULTS.hubUrl
  let u: URL | null = null
  try {
    u = typeof hubUrl === 'string' ? new URL(hubUrl) : null
  } catch {
    u = null
  }
  if (
    !u ||
    (u.protocol !== 'https:' && u.protocol !== 'http:') ||
    u.username ||
    u.password ||
    u.search ||
    u.hash
  ) {
    throw invalidArgument(
      'hubUrl',
      'an http(s) base URL without credentials, query or fragment',
      hubUrl,
    )
  }
  return (hubUrl as string).replace(/\/+$/, '')
}

/** @internal */
export function assertAccessToken(token: unknown, param = 'accessToken'): asserts token is string {
  // @huggingface/hub throws a plain TypeError for tokens without the prefix; say it up front.
  if (typeof token !== 'string' || !/^hf_[A-Za-z0-9_-]+$/.test(token)) {
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      `"${param}" expected a Hugging Face token starting with "hf_", received ${typeof token === 'string' ? 'another string' : describeValue(token)}.`,
      {
        hints: [
          'Create a write token at https://huggingface.co/settings/tokens; the client refuses tokens without the "hf_" prefix.',
        ],
        meta: { param, expected: 'hf_…' },
      },
    )
  }
}

/** @internal */
export function assertFetch(f: unknown): asserts f is typeof fetch | undefined {
  if (f !== undefined && typeof f !== 'function')
    throw invalidArgument('fetch', 'a fetch function', f)
}

/** @internal */
export function assertSignal(signal: unknown): asserts signal is AbortSignal | undefined {
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw invalidArgument('signal', 'an AbortSignal', signal)
}

/**
 * A fetch that aborts when `signal` does, whatever signal the library passes itself (the commit
 * code aborts its parallel LFS uploads with its own controller). @internal
 */
export function hubFetch(
  base: typeof fetch | undefined,
  signal: AbortSignal | undefined,
): typeof fetch {
  const f = base ?? globalThis.fetch
  if (signal === undefined) return f
  return ((input: Parameters<typeof fetch>[0], init?: RequestInit) =>
    f(input, {
      ...init,
      signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal,
    })) as typeof fetch
}

/** The HTTP status of a Hub error, when there is one. @internal */
export function hubStatus(e: unknown): number | null {
  return e instanceof HubApiError ? e.statusCode : null
}

/**
 * Runs one step against the Hub and turns its failures into `HUB_REQUEST_FAILED` (the caller's
 * abort reason and reliquary's own errors pass through unchanged). @internal
 */
export async function hubStep<T>(
  step: string,
  signal: AbortSignal | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn()
  } catch (e) {
    throw hubError(step, e, signal)
  }
}

/** @internal */
export function hubError(step: string, e: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted) return signal.reason
  if (isReliquaryError(e)) return e
  const status = hubStatus(e)
  const message = e instanceof Error ? e.message : String(e)
  return new ReliquaryError(
    'HUB_REQUEST_FAILED',
    `The Hub request failed while ${step}${status !== null ? ` (HTTP ${status})` : ''}.`,
    {
      hints:
        status === 401 || status === 403
          ? [
              'Check that the token has write access to the repo (or read access for a private repo).',
            ]
          : [
              'Retry: a failed publish leaves no checkpoint commit behind, and a retry reuses the LFS objects already uploaded.',
            ],
      details: message.length > 500 ? `${message.slice(0, 500)}…` : message,
      meta: { step, status },
      cause: e,
    },
  )
}

/** Common parameters of the library calls. @internal */
export type HubContext = {
  repoId: string
  hubUrl: string
  fetch: typeof fetch
  accessToken: string | undefined
  signal: AbortSignal | undefined
}

/**
 * The {@link HubContext} of a call's parameters: the Hub URL resolved (the default when absent),
 * `fetch` bound to the call's signal. @internal
 */
export function hubContext(p: {
  repoId: string
  hubUrl?: string | undefined
  fetch?: typeof fetch | undefined
  accessToken?: string | undefined
  signal?: AbortSignal | undefined
}): HubContext {
  return {
    repoId: p.repoId,
    hubUrl: resolveHubUrl(p.hubUrl),
    fetch: hubFetch(p.fetch, p.signal),
    accessToken: p.accessToken,
    signal: p.signal,
  }
}

/** The library's credentials argument, omitted when there is no token (public repos). @internal */
export function credentials(ctx: HubContext): { accessToken: string } | Record<string, never> {
  return ctx.accessToken === undefined ? {} : { accessToken: ctx.accessToken }
}

/**
 * Reads the custody manifest of the repo at `revision` as bytes, refusing more than `maxBytes`.
 * Returns null when the Hub says the file does not exist at that revision. @internal
 */
export async function readCustodyBytes(
  ctx: HubContext,
  revision: string,
  maxBytes: number,
): Promise<Uint8Array | null> {
  const blob = await downloadFile({
    repo: { type: 'model', name: ctx.repoId },
    path: CUSTODY_MANIFEST_PATH,
    revision,
    hubUrl: ctx.hubUrl,
    fetch: ctx.fetch,
    ...credentials(ctx),
  })
  if (blob === null) return null
  const tooLarge = () =>
    new ReliquaryError(
      'HUB_CUSTODY_INVALID',
      `${CUSTODY_MANIFEST_PATH} at ${revision} is over the ${maxBytes}-byte bound.`,
      {
        meta: { revision, size: blob.size, maxBytes },
      },
    )
  if (blob.size > maxBytes) throw tooLarge()
  const bytes = new Uint8Array(await blob.arrayBuffer())
  if (bytes.length > maxBytes) throw tooLarge()
  return bytes
}
