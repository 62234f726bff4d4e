// Write routes of the local Hub: `preupload` (regular or LFS by size) and `commit`.
import {
  type HubReply,
  type HubRouteContext,
  type HubRouteRequest,
  json,
  unauthorized,
} from './_localHubReply.js'
import { type HubRepo, type StoredFile, gitBlobOid, sha1 } from './_localHubStore.js'

/**
 * `POST /api/models/{ns}/{name}/preupload/{rev}`: LFS routing is by size alone (the real Hub
 * also routes paths that `.gitattributes` marks, such as `*.safetensors`).
 * @internal
 */
export function preupload(ctx: HubRouteContext, q: HubRouteRequest): HubReply {
  if (!ctx.authorized(q.req)) return unauthorized()
  const b = JSON.parse(q.body.toString('utf8')) as { files: { path: string; size: number }[] }
  return json(200, {
    files: b.files.map((f) => ({
      path: f.path,
      uploadMode: f.size >= ctx.lfsThresholdBytes ? 'lfs' : 'regular',
    })),
  })
}

type CommitLine = { key: string; value: Record<string, unknown> }

/**
 * `POST /api/models/{ns}/{name}/commit/main`: an NDJSON header line (`summary`, `description`,
 * optional `parentCommit`, which must be the head) followed by `file` / `lfsFile` /
 * `deletedFile` lines; an LFS file must have been uploaded with its announced size.
 * @internal
 */
export function commitFiles(ctx: HubRouteContext, q: HubRouteRequest, r: HubRepo): HubReply {
  if (!ctx.authorized(q.req)) return unauthorized()
  if (q.seg[5] !== 'main') return json(400, { error: 'only main' })
  const lines = q.body
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as CommitLine)
  const header = lines[0]
  if (header?.key !== 'header') return json(400, { error: 'missing header' })
  const head = ctx.store.head(r)
  const parentCommit = header.value.parentCommit as string | undefined
  if (parentCommit !== undefined && parentCommit !== head?.oid)
    return json(412, { error: 'A commit has happened since. Please refresh and try again.' })
  const files = new Map(head?.files ?? [])
  for (const line of lines.slice(1)) {
    const refused = applyLine(r, files, line)
    if (refused) return refused
  }
  const summary = String(header.value.summary ?? '')
  const message = [summary, header.value.description ?? ''].filter(Boolean).join('\n\n')
  const c = ctx.store.addCommit(r, summary, message, files)
  return json(200, {
    success: true,
    commitOid: c.oid,
    commitUrl: `${ctx.baseUrl()}/${r.id}/commit/${c.oid}`,
    hookOutput: '',
  })
}

/** Applies one operation line to the new tree; returns the refusal, or null. */
function applyLine(
  r: HubRepo,
  files: Map<string, StoredFile>,
  { key, value }: CommitLine,
): HubReply | null {
  const path = String(value.path)
  if (key === 'file') {
    const content = Buffer.from(String(value.content), 'base64')
    files.set(path, { kind: 'regular', content, oid: gitBlobOid(content) })
  } else if (key === 'lfsFile') {
    const oid = String(value.oid)
    const stored = r.lfs.get(oid)
    if (!stored || stored.length !== value.size)
      return json(422, { error: `LFS object ${oid} of ${path} was not uploaded` })
    files.set(path, {
      kind: 'lfs',
      sha256: oid,
      size: stored.length,
      oid: sha1(`lfs pointer ${oid}`),
    })
  } else if (key === 'deletedFile') {
    files.delete(path)
  } else {
    return json(400, { error: `unknown operation ${key}` })
  }
  return null
}
