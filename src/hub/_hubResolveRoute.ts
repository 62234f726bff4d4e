import {
  type HubReply,
  type HubRouteContext,
  type HubRouteRequest,
  notFound,
  repoNotFound,
} from './_localHubReply.js'

/**
 * `GET|HEAD /{ns}/{name}/resolve/{rev}/{path...}`: a file's bytes, honouring a single
 * `Range: bytes=a-b`. LFS files are served directly (the real Hub redirects to a CDN) with the
 * `X-Linked-ETag` and `X-Linked-Size` headers `fileDownloadInfo` reads.
 * @internal
 */
export function resolveFile(ctx: HubRouteContext, q: HubRouteRequest): HubReply {
  const { seg } = q
  const r = ctx.store.repos.get(`${seg[0]}/${seg[1]}`)
  if (!r) return repoNotFound()
  const c = ctx.store.resolveRev(r, seg[3]!)
  if (!c) return notFound('RevisionNotFound', 'Invalid rev id')
  const path = seg.slice(4).join('/')
  const f = c.files.get(path)
  if (!f) return notFound('EntryNotFound', 'Entry not found')
  const data = ctx.store.bytesOf(r, f)
  const etag = f.kind === 'lfs' ? f.sha256 : f.oid
  const headers: Record<string, string> = {
    'Content-Type': 'application/octet-stream',
    'Accept-Ranges': 'bytes',
    ETag: `"${etag}"`,
    'X-Repo-Commit': c.oid,
    ...(f.kind === 'lfs'
      ? { 'X-Linked-ETag': `"${f.sha256}"`, 'X-Linked-Size': String(f.size) }
      : {}),
  }
  const range = /^bytes=(\d+)-(\d*)$/.exec(String(q.req.headers.range ?? ''))
  if (!range) return { status: 200, headers, body: data }
  if (data.length === 0)
    return {
      status: 206,
      headers: { ...headers, 'Content-Range': 'bytes */0' },
      body: Buffer.alloc(0),
    }
  const start = Number(range[1])
  const end = Math.min(range[2] ? Number(range[2]) : data.length - 1, data.length - 1)
  if (start > end) return { status: 416, headers: { 'Content-Range': `bytes */${data.length}` } }
  return {
    status: 206,
    headers: { ...headers, 'Content-Range': `bytes ${start}-${end}/${data.length}` },
    body: data.subarray(start, end + 1),
  }
}
