/**
 * A local stand-in for the Hugging Face Hub HTTP API, NOT the real service: the offline demo
 * publishes checkpoints to it, and the tests use it as a test double. It serves, on a loopback
 * port, the endpoints that `@huggingface/hub` 2.17 calls for `repoExists`, `createRepo`,
 * `commit`/`uploadFiles`, `listCommits`, `listFiles`, `pathsInfo`, `modelInfo` and
 * `downloadFile`/`fileDownloadInfo`, with payloads shaped as the library reads them
 * (node_modules/@huggingface/hub/src/lib/*.ts). Simplifications on purpose:
 *
 * - models only, one branch (`main`), commits kept in memory; commit ids are SHA-1 of the commit
 *   content (40 hex) but not real git objects;
 * - LFS routing is by size alone (`lfsThresholdBytes`, 10 MiB like the Hub's size rule; the real
 *   Hub also routes paths that `.gitattributes` marks, such as `*.safetensors`); LFS uses the
 *   `basic` transfer (one PUT per object, no multipart, no Xet);
 * - LFS files are served directly from `resolve` (the real Hub redirects to a CDN);
 * - new repos get an `initial commit` holding `.gitattributes`, as the real Hub does.
 *
 * Test hooks: a request log, one-shot fault injection on the Nth (matching) request, and
 * tampering with stored bytes or commit titles after publishing.
 */
import { createHash } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

type StoredFile =
  | { kind: 'regular'; content: Buffer; oid: string }
  | { kind: 'lfs'; sha256: string; size: number; oid: string }
type Commit = {
  oid: string
  title: string
  message: string
  parent: string | null
  date: string
  files: Map<string, StoredFile>
}
type Repo = { id: string; commits: Commit[]; lfs: Map<string, Buffer> }
type Reply = { status: number; headers?: Record<string, string>; body?: Buffer | string | object }

/** One request the server saw. */
export type HubRequest = { method: string; path: string; status: number | 'fault' }

/** A one-shot fault: the `nth` request (1-based) that `match`es fails instead of being served. */
export type HubFault = {
  nth: number
  match?: ((r: { method: string; path: string }) => boolean) | undefined
  /**
   * `status`: answer `status` without doing anything; `reset`: drop the connection without doing
   * anything; `lose-response`: do the work, then drop the connection (the client never learns).
   */
  mode?: 'status' | 'reset' | 'lose-response' | undefined
  status?: number | undefined
}

export type HubServer = {
  /** Base URL to pass as `hubUrl`. */
  readonly url: string
  /** The token the server accepts for writes. */
  readonly token: string
  /** Every request served, in order. */
  readonly requests: HubRequest[]
  injectFault(fault: HubFault): void
  /** Commits of a repo, oldest first (empty for an unknown repo). */
  commits(repoId: string): readonly { oid: string; title: string; paths: string[] }[]
  /** The bytes of `path` at `revision` (`main` or a commit id), or undefined. */
  fileAt(repoId: string, revision: string, path: string): Buffer | undefined
  /** Whether `path` at `revision` is stored through LFS. */
  isLfs(repoId: string, revision: string, path: string): boolean
  /** Replaces the stored bytes of `path` at `revision` (for LFS files, the object itself), keeping the listed size and oids. */
  tamper(repoId: string, revision: string, path: string, mutate: (b: Buffer) => Buffer): void
  /** Rewrites a commit's title. */
  retitle(repoId: string, oid: string, title: string): void
  /** Serve 404 on the commits endpoint (a Hub that does not offer commit titles). */
  disableCommitsApi(disabled: boolean): void
  close(): Promise<void>
}

const sha1 = (b: Buffer | string) => createHash('sha1').update(b).digest('hex')
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex')
const gitBlobOid = (b: Buffer) => sha1(Buffer.concat([Buffer.from(`blob ${b.length}\0`), b]))
const GITATTRIBUTES = Buffer.from(
  '*.safetensors filter=lfs diff=lfs merge=lfs -text\n*.bin filter=lfs diff=lfs merge=lfs -text\n',
)

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { 'Content-Type': 'application/json', ...headers },
  body: JSON.stringify(body),
})
const notFound = (code: string, message: string): Reply =>
  json(404, { error: message }, { 'X-Error-Code': code })

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

/** Starts the test double on 127.0.0.1 with an ephemeral port. */
export async function startHubServer(
  options: { lfsThresholdBytes?: number; token?: string } = {},
): Promise<HubServer> {
  const lfsThreshold = options.lfsThresholdBytes ?? 10 * 1024 * 1024
  const token = options.token ?? 'hf_test_token_reliquary'
  const repos = new Map<string, Repo>()
  const requests: HubRequest[] = []
  let fault: (HubFault & { seen: number }) | null = null
  let commitsApi = true
  let clock = Date.UTC(2026, 0, 1)
  let base = ''

  const head = (r: Repo) => r.commits.at(-1) ?? null
  const resolveRev = (r: Repo, rev: string): Commit | null =>
    rev === 'main' || rev === 'HEAD' ? head(r) : (r.commits.find((c) => c.oid === rev) ?? null)
  const authorized = (req: IncomingMessage) => req.headers.authorization === `Bearer ${token}`
  const bytesOf = (r: Repo, f: StoredFile): Buffer =>
    f.kind === 'regular' ? f.content : (r.lfs.get(f.sha256) ?? Buffer.alloc(0))

  function addCommit(
    r: Repo,
    title: string,
    message: string,
    files: Map<string, StoredFile>,
  ): Commit {
    const parent = head(r)?.oid ?? null
    const date = new Date((clock += 60_000)).toISOString()
    const oid = sha1(
      JSON.stringify({
        parent,
        title,
        message,
        date,
        files: [...files].map(([p, f]) => [p, f.oid]),
      }),
    )
    const c: Commit = { oid, title, message, parent, date, files }
    r.commits.push(c)
    return c
  }

  function treeEntries(c: Commit, prefix: string, recursive: boolean) {
    const dirs = new Set<string>()
    const out: object[] = []
    for (const [path, f] of [...c.files].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (prefix && !path.startsWith(`${prefix}/`)) continue
      const rel = prefix ? path.slice(prefix.length + 1) : path
      const parts = rel.split('/')
      for (let i = 1; i < parts.length; i++)
        dirs.add([prefix, ...parts.slice(0, i)].filter(Boolean).join('/'))
      if (!recursive && parts.length > 1) continue
      const size = f.kind === 'regular' ? f.content.length : f.size
      out.push({
        type: 'file',
        oid: f.oid,
        size,
        path,
        ...(f.kind === 'lfs' ? { lfs: { oid: f.sha256, size: f.size, pointerSize: 134 } } : {}),
      })
    }
    const dirEntries = [...dirs]
      .filter(
        (d) => recursive || d.split('/').length === (prefix ? prefix.split('/').length + 1 : 1),
      )
      .map((d) => ({ type: 'directory', oid: sha1(d), size: 0, path: d }))
    return [...dirEntries, ...out]
  }

  async function handle(req: IncomingMessage, url: URL, body: Buffer): Promise<Reply> {
    const method = req.method ?? 'GET'
    const seg = url.pathname.split('/').filter(Boolean).map(decodeURIComponent)

    // POST /api/repos/create
    if (method === 'POST' && url.pathname === '/api/repos/create') {
      if (!authorized(req)) return json(401, { error: 'Invalid credentials' })
      const b = JSON.parse(body.toString('utf8')) as {
        name: string
        organization?: string
        type?: string
      }
      if (b.type !== undefined && b.type !== 'model') return json(400, { error: 'only models' })
      const id = `${b.organization}/${b.name}`
      if (repos.has(id)) return json(409, { error: 'You already created this model repo' })
      const r: Repo = { id, commits: [], lfs: new Map() }
      addCommit(
        r,
        'initial commit',
        'initial commit',
        new Map([
          [
            '.gitattributes',
            { kind: 'regular', content: GITATTRIBUTES, oid: gitBlobOid(GITATTRIBUTES) },
          ],
        ]),
      )
      repos.set(id, r)
      return json(200, { url: `${base}/${id}`, name: id, id })
    }

    // PUT /__lfs/{ns}/{name}/{oid}: the basic-transfer upload target handed out by the batch API.
    if (method === 'PUT' && seg[0] === '__lfs' && seg.length === 4) {
      const r = repos.get(`${seg[1]}/${seg[2]}`)
      if (!r) return notFound('RepoNotFound', 'Repository not found')
      if (sha256(body) !== seg[3]) return json(400, { error: 'sha256 mismatch' })
      r.lfs.set(seg[3]!, body)
      return { status: 200, headers: { ETag: `"${seg[3]}"` } }
    }

    // POST /{ns}/{name}.git/info/lfs/objects/batch
    if (
      method === 'POST' &&
      seg.length === 6 &&
      seg[1]!.endsWith('.git') &&
      seg.slice(2).join('/') === 'info/lfs/objects/batch'
    ) {
      if (!authorized(req)) return json(401, { message: 'Invalid credentials' })
      const id = `${seg[0]}/${seg[1]!.slice(0, -4)}`
      const r = repos.get(id)
      if (!r) return notFound('RepoNotFound', 'Repository not found')
      const b = JSON.parse(body.toString('utf8')) as {
        operation: string
        objects: { oid: string; size: number }[]
      }
      if (b.operation !== 'upload') return json(400, { message: 'upload only' })
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
                  actions: { upload: { href: `${base}/__lfs/${id}/${o.oid}`, expires_in: 3600 } },
                },
          ),
        }),
      }
    }

    // GET /{ns}/{name}/resolve/{rev}/{path...}
    if ((method === 'GET' || method === 'HEAD') && seg.length >= 5 && seg[2] === 'resolve') {
      const r = repos.get(`${seg[0]}/${seg[1]}`)
      if (!r) return notFound('RepoNotFound', 'Repository not found')
      const c = resolveRev(r, seg[3]!)
      if (!c) return notFound('RevisionNotFound', 'Invalid rev id')
      const path = seg.slice(4).join('/')
      const f = c.files.get(path)
      if (!f) return notFound('EntryNotFound', 'Entry not found')
      const data = bytesOf(r, f)
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
      const range = /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? ''))
      if (range) {
        if (data.length === 0)
          return {
            status: 206,
            headers: { ...headers, 'Content-Range': 'bytes */0' },
            body: Buffer.alloc(0),
          }
        const start = Number(range[1])
        const end = Math.min(range[2] ? Number(range[2]) : data.length - 1, data.length - 1)
        if (start > end)
          return { status: 416, headers: { 'Content-Range': `bytes */${data.length}` } }
        return {
          status: 206,
          headers: { ...headers, 'Content-Range': `bytes ${start}-${end}/${data.length}` },
          body: data.subarray(start, end + 1),
        }
      }
      return { status: 200, headers, body: data }
    }

    if (seg[0] !== 'api' || seg[1] !== 'models' || seg.length < 4)
      return json(404, { error: `no route ${method} ${url.pathname}` })
    const id = `${seg[2]}/${seg[3]}`
    const r = repos.get(id)
    const action = seg[4]

    // GET /api/models/{ns}/{name} (repoExists)
    if (method === 'GET' && action === undefined) {
      return r
        ? json(200, { _id: sha1(id).slice(0, 24), id, private: false, sha: head(r)?.oid })
        : notFound('RepoNotFound', 'Repository not found')
    }
    if (!r) return notFound('RepoNotFound', 'Repository not found')

    // POST /api/models/{ns}/{name}/preupload/{rev}
    if (method === 'POST' && action === 'preupload') {
      if (!authorized(req)) return json(401, { error: 'Invalid credentials' })
      const b = JSON.parse(body.toString('utf8')) as { files: { path: string; size: number }[] }
      return json(200, {
        files: b.files.map((f) => ({
          path: f.path,
          uploadMode: f.size >= lfsThreshold ? 'lfs' : 'regular',
        })),
      })
    }

    // POST /api/models/{ns}/{name}/commit/{branch}: NDJSON header + file / lfsFile / deletedFile lines.
    if (method === 'POST' && action === 'commit') {
      if (!authorized(req)) return json(401, { error: 'Invalid credentials' })
      if (seg[5] !== 'main') return json(400, { error: 'only main' })
      const lines = body
        .toString('utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { key: string; value: Record<string, unknown> })
      const header = lines[0]
      if (header?.key !== 'header') return json(400, { error: 'missing header' })
      const parentCommit = header.value.parentCommit as string | undefined
      if (parentCommit !== undefined && parentCommit !== head(r)?.oid)
        return json(412, { error: 'A commit has happened since. Please refresh and try again.' })
      const files = new Map(head(r)?.files ?? [])
      for (const { key, value } of lines.slice(1)) {
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
      }
      const summary = String(header.value.summary ?? '')
      const c = addCommit(
        r,
        summary,
        [summary, header.value.description ?? ''].filter(Boolean).join('\n\n'),
        files,
      )
      return json(200, {
        success: true,
        commitOid: c.oid,
        commitUrl: `${base}/${id}/commit/${c.oid}`,
        hookOutput: '',
      })
    }

    // GET /api/models/{ns}/{name}/revision/{rev} (modelInfo, snapshotDownload)
    if (method === 'GET' && action === 'revision') {
      const c = resolveRev(r, seg[5] ?? 'main')
      if (!c) return notFound('RevisionNotFound', 'Invalid rev id')
      return json(200, {
        _id: sha1(id).slice(0, 24),
        id,
        private: false,
        sha: c.oid,
        downloads: 0,
        likes: 0,
        gated: false,
        lastModified: c.date,
        siblings: [...c.files.keys()].map((rfilename) => ({ rfilename })),
      })
    }

    // GET /api/models/{ns}/{name}/tree/{rev}[/{path}]?recursive=&expand=
    if (method === 'GET' && action === 'tree') {
      const c = resolveRev(r, seg[5] ?? 'main')
      if (!c) return notFound('RevisionNotFound', 'Invalid rev id')
      return json(
        200,
        treeEntries(c, seg.slice(6).join('/'), url.searchParams.get('recursive') === 'true'),
      )
    }

    // POST /api/models/{ns}/{name}/paths-info/{rev}
    if (method === 'POST' && action === 'paths-info') {
      const c = resolveRev(r, seg[5] ?? 'main')
      if (!c) return notFound('RevisionNotFound', 'Invalid rev id')
      const b = JSON.parse(body.toString('utf8')) as { paths: string[]; expand?: boolean }
      return json(
        200,
        b.paths.flatMap((path) => {
          const f = c.files.get(path)
          if (!f) return []
          // The commit that introduced this version of the file: walk back while the parent holds the same blob.
          let last = c
          for (
            let q = r.commits.find((k) => k.oid === last.parent);
            q && q.files.get(path)?.oid === f.oid;
            q = r.commits.find((k) => k.oid === last.parent)
          )
            last = q
          return [
            {
              type: 'file',
              path,
              oid: f.oid,
              size: f.kind === 'regular' ? f.content.length : f.size,
              ...(f.kind === 'lfs'
                ? { lfs: { oid: f.sha256, size: f.size, pointerSize: 134 } }
                : {}),
              ...(b.expand
                ? {
                    lastCommit: { id: last.oid, title: last.title, date: last.date },
                    securityFileStatus: { status: 'safe' },
                  }
                : {}),
            },
          ]
        }),
      )
    }

    // GET /api/models/{ns}/{name}/commits/{rev}?limit=&p=
    if (method === 'GET' && action === 'commits') {
      if (!commitsApi) return notFound('EntryNotFound', 'Not found')
      const c = resolveRev(r, seg[5] ?? 'main')
      if (!c) return notFound('RevisionNotFound', 'Invalid rev id')
      const history: Commit[] = []
      for (
        let k: Commit | undefined = c;
        k;
        k = k.parent ? r.commits.find((q) => q.oid === k!.parent) : undefined
      )
        history.push(k)
      const limit = Math.max(1, Number(url.searchParams.get('limit') ?? '100'))
      const page = Number(url.searchParams.get('p') ?? '0')
      const slice = history.slice(page * limit, (page + 1) * limit)
      const more = (page + 1) * limit < history.length
      const next = new URL(url.toString(), base)
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

    return json(404, { error: `no route ${method} ${url.pathname}` })
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void (async () => {
      const url = new URL(req.url ?? '/', base)
      const entry: HubRequest = { method: req.method ?? 'GET', path: url.pathname, status: 'fault' }
      requests.push(entry)
      let injected: HubFault | null = null
      if (fault && (fault.match ?? (() => true))({ method: entry.method, path: entry.path })) {
        fault.seen++
        if (fault.seen === fault.nth) {
          injected = fault
          fault = null
        }
      }
      const mode = injected?.mode ?? 'status'
      if (injected && mode === 'reset') {
        req.socket.destroy()
        return
      }
      const body = await readBody(req)
      if (injected && mode === 'status') {
        const reply = json(injected.status ?? 500, { error: 'injected fault' })
        entry.status = reply.status
        res.writeHead(reply.status, reply.headers).end(reply.body as string)
        return
      }
      let reply: Reply
      try {
        reply = await handle(req, url, body)
      } catch (e) {
        reply = json(500, { error: String(e) })
      }
      if (injected && mode === 'lose-response') {
        req.socket.destroy()
        return
      }
      entry.status = reply.status
      const payload =
        reply.body === undefined
          ? undefined
          : Buffer.isBuffer(reply.body)
            ? reply.body
            : typeof reply.body === 'string'
              ? reply.body
              : JSON.stringify(reply.body)
      res.writeHead(reply.status, {
        ...reply.headers,
        ...(payload !== undefined ? { 'Content-Length': String(Buffer.byteLength(payload)) } : {}),
      })
      res.end(req.method === 'HEAD' ? undefined : payload)
    })()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

  const repoOf = (id: string) => {
    const r = repos.get(id)
    if (!r) throw new Error(`no repo ${id}`)
    return r
  }
  const fileOf = (id: string, rev: string, path: string) => {
    const r = repoOf(id)
    const c = resolveRev(r, rev)
    const f = c?.files.get(path)
    if (!c || !f) throw new Error(`no ${path} at ${id}@${rev}`)
    return { r, c, f }
  }

  return {
    url: base,
    token,
    requests,
    injectFault(f) {
      fault = { ...f, seen: 0 }
    },
    commits(id) {
      return (repos.get(id)?.commits ?? []).map((c) => ({
        oid: c.oid,
        title: c.title,
        paths: [...c.files.keys()].sort(),
      }))
    },
    fileAt(id, rev, path) {
      const r = repos.get(id)
      const c = r && resolveRev(r, rev)
      const f = c?.files.get(path)
      return r && f ? bytesOf(r, f) : undefined
    },
    isLfs(id, rev, path) {
      return fileOf(id, rev, path).f.kind === 'lfs'
    },
    tamper(id, rev, path, mutate) {
      const { r, c, f } = fileOf(id, rev, path)
      if (f.kind === 'lfs') r.lfs.set(f.sha256, mutate(Buffer.from(bytesOf(r, f))))
      else c.files.set(path, { ...f, content: mutate(Buffer.from(f.content)) })
    },
    retitle(id, oid, title) {
      const c = repoOf(id).commits.find((k) => k.oid === oid)
      if (!c) throw new Error(`no commit ${oid}`)
      c.title = title
    },
    disableCommitsApi(disabled) {
      commitsApi = !disabled
    },
    close() {
      server.closeAllConnections()
      return new Promise<void>((resolve, reject) =>
        server.close((e) => (e ? reject(e) : resolve())),
      )
    },
  }
}
