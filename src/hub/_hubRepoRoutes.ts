// Repository routes of the local Hub: create, exists, model info at a revision.
import {
  type HubReply,
  type HubRouteContext,
  type HubRouteRequest,
  json,
  notFound,
  repoNotFound,
  unauthorized,
} from './_localHubReply.js'
import { type HubRepo, gitBlobOid, sha1 } from './_localHubStore.js'

const GITATTRIBUTES = Buffer.from(
  '*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.bin filter=lfs diff=lfs merge=lfs -text\n',
)

/**
 * `POST /api/repos/create`: a model repo under `{organization}/{name}`, born with an
 * `initial commit` holding `.gitattributes`, as the real Hub does.
 * @internal
 */
export function createRepo(ctx: HubRouteContext, q: HubRouteRequest): HubReply {
  if (!ctx.authorized(q.req)) return unauthorized()
  const b = JSON.parse(q.body.toString('utf8')) as {
    name: string
    organization?: string
    type?: string
  }
  if (b.type !== undefined && b.type !== 'model') return json(400, { error: 'only models' })
  const id = `${b.organization}/${b.name}`
  if (ctx.store.repos.has(id)) return json(409, { error: 'You already created this model repo' })
  const r: HubRepo = { id, commits: [], lfs: new Map() }
  const gitattributes = {
    kind: 'regular',
    content: GITATTRIBUTES,
    oid: gitBlobOid(GITATTRIBUTES),
  } as const
  ctx.store.addCommit(
    r,
    'initial commit',
    'initial commit',
    new Map([['.gitattributes', gitattributes]]),
  )
  ctx.store.repos.set(id, r)
  return json(200, { url: `${ctx.baseUrl()}/${id}`, name: id, id })
}

/** `GET /api/models/{ns}/{name}` (`repoExists`). @internal */
export function repoExists(ctx: HubRouteContext, id: string, r: HubRepo | undefined): HubReply {
  return r
    ? json(200, { _id: sha1(id).slice(0, 24), id, private: false, sha: ctx.store.head(r)?.oid })
    : repoNotFound()
}

/** `GET /api/models/{ns}/{name}/revision/{rev}` (`modelInfo`, `snapshotDownload`). @internal */
export function modelRevision(ctx: HubRouteContext, q: HubRouteRequest, r: HubRepo): HubReply {
  const c = ctx.store.resolveRev(r, q.seg[5] ?? 'main')
  if (!c) return notFound('RevisionNotFound', 'Invalid rev id')
  return json(200, {
    _id: sha1(r.id).slice(0, 24),
    id: r.id,
    private: false,
    sha: c.oid,
    downloads: 0,
    likes: 0,
    gated: false,
    lastModified: c.date,
    siblings: [...c.files.keys()].map((rfilename) => ({ rfilename })),
  })
}
