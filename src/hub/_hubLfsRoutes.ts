// LFS routes of the local Hub: the `basic` transfer (one PUT per object, no multipart, no Xet).
import {
  type HubReply,
  type HubRouteContext,
  type HubRouteRequest,
  json,
  repoNotFound,
  unauthorized,
} from './_localHubReply.js'
import { sha256 } from './_localHubStore.js'

/** Whether the path is `/{ns}/{name}.git/info/lfs/objects/batch`. @internal */
export function isLfsBatchPath(seg: readonly string[]): boolean {
  return (
    seg.length === 6 &&
    seg[1]!.endsWith('.git') &&
    seg.slice(2).join('/') === 'info/lfs/objects/batch'
  )
}

/**
 * `POST /{ns}/{name}.git/info/lfs/objects/batch`: upload actions for the objects the repo does
 * not hold yet (pointing at {@link uploadLfsObject}).
 * @internal
 */
export function lfsBatch(ctx: HubRouteContext, q: HubRouteRequest): HubReply {
  if (!ctx.authorized(q.req)) return unauthorized('message')
  const id = `${q.seg[0]}/${q.seg[1]!.slice(0, -4)}`
  const r = ctx.store.repos.get(id)
  if (!r) return repoNotFound()
  const b = JSON.parse(q.body.toString('utf8')) as {
    operation: string
    objects: { oid: string; size: number }[]
  }
  if (b.operation !== 'upload') return json(400, { message: 'upload only' })
  const href = (oid: string) => `${ctx.baseUrl()}/__lfs/${id}/${oid}`
  return {
    status: 200,
    headers: { 'Content-Type': 'application/vnd.git-lfs+json' },
    body: JSON.stringify({
      transfer: 'basic',
      objects: b.objects.map((o) =>
        r.lfs.has(o.oid)
          ? { oid: o.oid, size: o.size }
          : {
              oid: o.oid,
              size: o.size,
              authenticated: true,
              actions: { upload: { href: href(o.oid), expires_in: 3600 } },
            },
      ),
    }),
  }
}

/**
 * `PUT /__lfs/{ns}/{name}/{oid}`: the basic-transfer upload target handed out by
 * {@link lfsBatch}; the body must hash to the oid.
 * @internal
 */
export function uploadLfsObject(ctx: HubRouteContext, q: HubRouteRequest): HubReply {
  const r = ctx.store.repos.get(`${q.seg[1]}/${q.seg[2]}`)
  if (!r) return repoNotFound()
  if (sha256(q.body) !== q.seg[3]) return json(400, { error: 'sha256 mismatch' })
  ctx.store.putLfs(r, q.seg[3]!, q.body)
  return { status: 200, headers: { ETag: `"${q.seg[3]}"` } }
}
