// Read routes of the local Hub over one revision: the file tree, paths-info and the commit list.
import {
  type HubReply,
  type HubRouteContext,
  type HubRouteRequest,
  json,
  notFound,
} from './_localHubReply.js'
import { type HubCommit, type HubRepo, type StoredFile, sha1 } from './_localHubStore.js'

const revisionNotFound = (): HubReply => notFound('RevisionNotFound', 'Invalid rev id')
const sizeOf = (f: StoredFile): number => (f.kind === 'regular' ? f.content.length : f.size)
const lfsOf = (f: StoredFile) =>
  f.kind === 'lfs' ? { lfs: { oid: f.sha256, size: f.size, pointerSize: 134 } } : {}

/** `GET /api/models/{ns}/{name}/tree/{rev}[/{path}]?recursive=`: directories first, then files. @internal */
export function listTree(ctx: HubRouteContext, q: HubRouteRequest, r: HubRepo): HubReply {
  const c = ctx.store.resolveRev(r, q.seg[5] ?? 'main')
  if (!c) return revisionNotFound()
  return json(
    200,
    treeEntries(c, q.seg.slice(6).join('/'), q.url.searchParams.get('recursive') === 'true'),
  )
}

function treeEntries(c: HubCommit, prefix: string, recursive: boolean): object[] {
  const dirs = new Set<string>()
  const out: object[] = []
  for (const [path, f] of [...c.files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (prefix && !path.startsWith(`${prefix}/`)) continue
    const rel = prefix ? path.slice(prefix.length + 1) : path
    const parts = rel.split('/')
    for (let i = 1; i < parts.length; i++)
      dirs.add([prefix, ...parts.slice(0, i)].filter(Boolean).join('/'))
    if (!recursive && parts.length > 1) continue
    out.push({ type: 'file', oid: f.oid, size: sizeOf(f), path, ...lfsOf(f) })
  }
  const depth = prefix ? prefix.split('/').length + 1 : 1
  const dirEntries = [...dirs]
    .filter((d) => recursive || d.split('/').length === depth)
    .map((d) => ({ type: 'directory', oid: sha1(d), size: 0, path: d }))
  return [...dirEntries, ...out]
}

/**
 * `POST /api/models/{ns}/{name}/paths-info/{rev}`: the listed paths that exist, with (under
 * `expand`) the commit that introduced each file's current version.
 * @internal
 */
export function pathsInfo(ctx: HubRouteContext, q: HubRouteRequest, r: HubRepo): HubReply {
  const c = ctx.store.resolveRev(r, q.seg[5] ?? 'main')
  if (!c) return revisionNotFound()
  const b = JSON.parse(q.body.toString('utf8')) as { paths: string[]; expand?: boolean }
  return json(
    200,
    b.paths.flatMap((path) => {
      const f = c.files.get(path)
      if (!f) return []
      const expanded = () => {
        const last = introducedIn(r, c, path, f)
        return {
          lastCommit: { id: last.oid, title: last.title, date: last.date },
          securityFileStatus: { status: 'safe' },
        }
      }
      return [
        {
          type: 'file',
          path,
          oid: f.oid,
          size: sizeOf(f),
          ...lfsOf(f),
          ...(b.expand ? expanded() : {}),
        },
      ]
    }),
  )
}

/** The commit that introduced this version of the file: walk back while the parent holds the same blob. */
function introducedIn(r: HubRepo, c: HubCommit, path: string, f: StoredFile): HubCommit {
  let last = c
  for (
    let q = r.commits.find((k) => k.oid === last.parent);
    q && q.files.get(path)?.oid === f.oid;
    q = r.commits.find((k) => k.oid === last.parent)
  )
    last = q
  return last
}

/**
 * `GET /api/models/{ns}/{name}/commits/{rev}?limit=&p=`: the history from `rev` back, newest
 * first, paged with a `Link: <…>; rel="next"` header (404 while a test turns the API off).
 * @internal
 */
export function listCommits(ctx: HubRouteContext, q: HubRouteRequest, r: HubRepo): HubReply {
  if (!ctx.commitsApi()) return notFound('EntryNotFound', 'Not found')
  const c = ctx.store.resolveRev(r, q.seg[5] ?? 'main')
  if (!c) return revisionNotFound()
  const history: HubCommit[] = []
  for (
    let k: HubCommit | undefined = c;
    k;
    k = k.parent ? r.commits.find((p) => p.oid === k!.parent) : undefined
  )
    history.push(k)
  const limit = Math.max(1, Number(q.url.searchParams.get('limit') ?? '100'))
  const page = Number(q.url.searchParams.get('p') ?? '0')
  const slice = history.slice(page * limit, (page + 1) * limit)
  const more = (page + 1) * limit < history.length
  const next = new URL(q.url.toString(), ctx.baseUrl())
  next.searchParams.set('p', String(page + 1))
  return json(
    200,
    slice.map((k) => ({
      id: k.oid,
      title: k.title,
      message: k.message,
      date: k.date,
      authors: [{ user: 'validator', avatar: '' }],
    })),
    more ? { Link: `<${next.toString()}>; rel="next"` } : {},
  )
}
