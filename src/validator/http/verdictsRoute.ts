import type { AdmissionPipeline } from '../../window/admission/admissionPipeline.js'
import { detail, type Reply } from './_reply.js'

const PREFIX = '/verdicts/'

/**
 * Whether `path` is `/verdicts/{hotkey}` (one non-empty segment after the prefix).
 *
 * @param path - The request path.
 * @returns `true` for a verdicts path.
 */
export function isVerdictsPath(path: string): boolean {
  return (
    path.startsWith(PREFIX) &&
    path.length > PREFIX.length &&
    !path.slice(PREFIX.length).includes('/')
  )
}

/**
 * `GET /verdicts/{hotkey}?since=<unix seconds>`: `{"verdicts":[…]}` of that hotkey's ring; 422
 * with FastAPI's `float_parsing` item for a `since` that is not a number; 404 for a hotkey that
 * is not valid percent-encoding.
 *
 * - Spec: docs/protocol.md §3.4.
 *
 * @param pipeline - Holds the verdict rings.
 * @param url - The parsed request URL (a verdicts path).
 * @returns The answer.
 */
export function verdictsRoute(pipeline: AdmissionPipeline, url: URL): Reply {
  let hotkey: string
  try {
    hotkey = decodeURIComponent(url.pathname.slice(PREFIX.length))
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
