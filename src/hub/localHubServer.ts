/**
 * A local stand-in for the Hugging Face Hub HTTP API, NOT the real service: the offline demo
 * publishes checkpoints to it, and the tests use it as a test double. It serves, on a loopback
 * port, the endpoints that `@huggingface/hub` 2.17 calls for `repoExists`, `createRepo`,
 * `commit`/`uploadFiles`, `listCommits`, `listFiles`, `pathsInfo`, `modelInfo` and
 * `downloadFile`/`fileDownloadInfo`, with payloads shaped as the library reads them
 * (node_modules/@huggingface/hub/src/lib/*.ts). Simplifications on purpose:
 *
 * - models only, one branch (`main`), commits kept in memory (and written through to `storeDir`
 *   when given); commit ids are SHA-1 of the commit
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
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRepo, modelRevision, repoExists } from './_hubRepoRoutes.js'
import { commitFiles, preupload } from './_hubCommitRoutes.js'
import { isLfsBatchPath, lfsBatch, uploadLfsObject } from './_hubLfsRoutes.js'
import { resolveFile } from './_hubResolveRoute.js'
import { listCommits, listTree, pathsInfo } from './_hubTreeRoutes.js'
import {
  type HubReply,
  type HubRouteContext,
  type HubRouteRequest,
  json,
  repoNotFound,
} from './_localHubReply.js'
import { createLocalHubStore, type LocalHubStore } from './_localHubStore.js'
import { writeFileAtomicSync } from '../_utils/atomicWrite.js'

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

/** A running local Hub (see {@link startHubServer}) with its test hooks. */
export type HubServer = {
  /** Base URL to pass as `hubUrl`. */
  readonly url: string
  /** The token the server accepts for writes (random per server unless `token` was given). */
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

/** Options of {@link startHubServer}. */
export type StartHubServerOptions = {
  /** Files of this size and above go through LFS. @default 10 MiB (the Hub's size rule) */
  lfsThresholdBytes?: number | undefined
  /** The write token. @default a random `hf_local_…` token, new for every server */
  token?: string | undefined
  /**
   * Keep the repositories in this directory: every commit and LFS object is written through
   * before it is served, and a server started on the same directory serves the same revisions
   * (a restarted `reliquary validator --hub local` keeps its checkpoint history). @default in memory
   */
  storeDir?: string | undefined
  /**
   * Port to listen on. @default with `storeDir`, the port the store's last server used (so a
   * restarted validator's local Hub keeps its URL and miners' `--hub-url` stays valid), else ephemeral
   */
  port?: number | undefined
}

/**
 * Starts the local Hub on 127.0.0.1 with an ephemeral port. Writes need `Bearer {token}`; the
 * token is random per server unless given, so no other process can write to it by guessing.
 */
export async function startHubServer(options: StartHubServerOptions = {}): Promise<HubServer> {
  const token = options.token ?? `hf_local_${randomBytes(24).toString('hex')}`
  const store = createLocalHubStore(options.storeDir)
  const requests: HubRequest[] = []
  let fault: (HubFault & { seen: number }) | null = null
  let commitsApi = true
  let base = ''
  const ctx: HubRouteContext = {
    store,
    baseUrl: () => base,
    lfsThresholdBytes: options.lfsThresholdBytes ?? 10 * 1024 * 1024,
    commitsApi: () => commitsApi,
    authorized: (req) => req.headers.authorization === `Bearer ${token}`,
  }
  /** The one-shot fault for this request, if it is the one the fault waits for. */
  const takeFault = (entry: HubRequest): HubFault | null => {
    if (!fault || !(fault.match ?? (() => true))({ method: entry.method, path: entry.path }))
      return null
    fault.seen++
    if (fault.seen !== fault.nth) return null
    const f = fault
    fault = null
    return f
  }
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    void serve(ctx, req, res, requests, takeFault)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? savedPort(options.storeDir), '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port
  base = `http://127.0.0.1:${port}`
  if (options.storeDir !== undefined)
    writeFileAtomicSync(join(options.storeDir, 'port'), `${port}\n`)
  return {
    url: base,
    token,
    requests,
    injectFault(f) {
      fault = { ...f, seen: 0 }
    },
    ...testHooks(store),
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

/** The port a store's last server listened on (0: none recorded). */
function savedPort(storeDir: string | undefined): number {
  if (storeDir === undefined) return 0
  try {
    const n = Number(readFileSync(join(storeDir, 'port'), 'utf8').trim())
    return Number.isSafeInteger(n) && n > 0 && n < 65_536 ? n : 0
  } catch {
    return 0
  }
}

/** Serves one request: logs it, applies an injected fault, routes it and writes the reply. */
async function serve(
  ctx: HubRouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  requests: HubRequest[],
  takeFault: (entry: HubRequest) => HubFault | null,
): Promise<void> {
  const url = new URL(req.url ?? '/', ctx.baseUrl())
  const entry: HubRequest = { method: req.method ?? 'GET', path: url.pathname, status: 'fault' }
  requests.push(entry)
  const injected = takeFault(entry)
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
  let reply: HubReply
  try {
    reply = route(ctx, { req, method: entry.method, url, body, seg: segments(url) })
  } catch (e) {
    reply = json(500, { error: String(e) })
  }
  if (injected && mode === 'lose-response') {
    req.socket.destroy()
    return
  }
  entry.status = reply.status
  const payload =
    reply.body === undefined || Buffer.isBuffer(reply.body) || typeof reply.body === 'string'
      ? reply.body
      : JSON.stringify(reply.body)
  res.writeHead(reply.status, {
    ...reply.headers,
    ...(payload !== undefined ? { 'Content-Length': String(Buffer.byteLength(payload)) } : {}),
  })
  res.end(req.method === 'HEAD' ? undefined : payload)
}

/** The route table: which handler answers which method and path. */
function route(ctx: HubRouteContext, q: HubRouteRequest): HubReply {
  const { method, seg, url } = q
  if (method === 'POST' && url.pathname === '/api/repos/create') return createRepo(ctx, q)
  if (method === 'PUT' && seg[0] === '__lfs' && seg.length === 4) return uploadLfsObject(ctx, q)
  if (method === 'POST' && isLfsBatchPath(seg)) return lfsBatch(ctx, q)
  if ((method === 'GET' || method === 'HEAD') && seg.length >= 5 && seg[2] === 'resolve')
    return resolveFile(ctx, q)
  const noRoute = json(404, { error: `no route ${method} ${url.pathname}` })
  if (seg[0] !== 'api' || seg[1] !== 'models' || seg.length < 4) return noRoute
  const id = `${seg[2]}/${seg[3]}`
  const r = ctx.store.repos.get(id)
  const action = seg[4]
  if (method === 'GET' && action === undefined) return repoExists(ctx, id, r)
  if (!r) return repoNotFound()
  if (method === 'POST' && action === 'preupload') return preupload(ctx, q)
  if (method === 'POST' && action === 'commit') return commitFiles(ctx, q, r)
  if (method === 'GET' && action === 'revision') return modelRevision(ctx, q, r)
  if (method === 'GET' && action === 'tree') return listTree(ctx, q, r)
  if (method === 'POST' && action === 'paths-info') return pathsInfo(ctx, q, r)
  if (method === 'GET' && action === 'commits') return listCommits(ctx, q, r)
  return noRoute
}

function segments(url: URL): string[] {
  return url.pathname.split('/').filter(Boolean).map(decodeURIComponent)
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const c of req) chunks.push(c as Buffer)
  return Buffer.concat(chunks)
}

/** The inspection and tampering hooks tests use on the stored repositories. */
function testHooks(
  store: LocalHubStore,
): Pick<HubServer, 'commits' | 'fileAt' | 'isLfs' | 'tamper' | 'retitle'> {
  const repoOf = (id: string) => {
    const r = store.repos.get(id)
    if (!r) throw new Error(`no repo ${id}`)
    return r
  }
  const fileOf = (id: string, rev: string, path: string) => {
    const r = repoOf(id)
    const c = store.resolveRev(r, rev)
    const f = c?.files.get(path)
    if (!c || !f) throw new Error(`no ${path} at ${id}@${rev}`)
    return { r, c, f }
  }
  return {
    commits(id) {
      return (store.repos.get(id)?.commits ?? []).map((c) => ({
        oid: c.oid,
        title: c.title,
        paths: [...c.files.keys()].sort(),
      }))
    },
    fileAt(id, rev, path) {
      const r = store.repos.get(id)
      const c = r && store.resolveRev(r, rev)
      const f = c?.files.get(path)
      return r && f ? store.bytesOf(r, f) : undefined
    },
    isLfs(id, rev, path) {
      return fileOf(id, rev, path).f.kind === 'lfs'
    },
    tamper(id, rev, path, mutate) {
      const { r, c, f } = fileOf(id, rev, path)
      if (f.kind === 'lfs') r.lfs.set(f.sha256, mutate(Buffer.from(store.bytesOf(r, f))))
      else c.files.set(path, { ...f, content: mutate(Buffer.from(f.content)) })
    },
    retitle(id, oid, title) {
      const c = repoOf(id).commits.find((k) => k.oid === oid)
      if (!c) throw new Error(`no commit ${oid}`)
      c.title = title
    },
  }
}
