// The local Hub's on-disk form (`startHubServer({ storeDir })`): one JSON file per repository
// listing its commits (`repos/<ns>__<name>.json`, rewritten atomically after each commit), the
// regular files' bytes by git blob id (`blobs/<oid>`) and the LFS objects by SHA-256
// (`lfs/<ns>__<name>/<sha256>`), each written once before the commit that names it.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as z from 'zod'
import { ReliquaryError } from '../errors/base.js'
import { writeFileAtomicSync, writeFileOnceSync } from '../_utils/atomicWrite.js'
import type { HubCommit, HubRepo, StoredFile } from './_localHubStore.js'

const hex = (n: number) => z.string().regex(new RegExp(`^[0-9a-f]{${n}}$`))
const fileSchema = z.union([
  z.strictObject({ kind: z.literal('regular'), oid: hex(40) }),
  z.strictObject({
    kind: z.literal('lfs'),
    sha256: hex(64),
    size: z.number().int().min(0),
    oid: hex(40),
  }),
])
const repoSchema = z.strictObject({
  id: z.string().regex(/^[\w.-]+\/[\w.-]+$/),
  commits: z.array(
    z.strictObject({
      oid: hex(40),
      title: z.string(),
      message: z.string(),
      parent: hex(40).nullable(),
      date: z.string(),
      files: z.array(z.tuple([z.string(), fileSchema])),
    }),
  ),
})

const repoFile = (dir: string, id: string): string =>
  join(dir, 'repos', `${id.replace('/', '__')}.json`)
const lfsPath = (dir: string, id: string, sha: string): string =>
  join(dir, 'lfs', id.replace('/', '__'), sha)

function invalid(path: string, cause: unknown): ReliquaryError {
  return new ReliquaryError('STATE_INVALID', `Local Hub store ${path} cannot be read.`, {
    hints: ['Remove the hub/ folder of the state directory to start with an empty local Hub.'],
    cause,
    meta: { path },
  })
}

/** Writes a new commit of `r` through to `dir`: its regular files' bytes, then the repo file. @internal */
export function saveHubCommit(dir: string, r: HubRepo, c: HubCommit): void {
  for (const f of c.files.values())
    if (f.kind === 'regular') writeFileOnceSync(join(dir, 'blobs', f.oid), f.content)
  const commits = [...r.commits, c].map((k) => ({
    oid: k.oid,
    title: k.title,
    message: k.message,
    parent: k.parent,
    date: k.date,
    files: [...k.files].map(([p, f]) => [
      p,
      f.kind === 'regular' ? { kind: f.kind, oid: f.oid } : { ...f },
    ]),
  }))
  writeFileAtomicSync(repoFile(dir, r.id), `${JSON.stringify({ id: r.id, commits })}\n`)
}

/** Writes an uploaded LFS object of `r` through to `dir`. @internal */
export function saveLfsObject(dir: string, r: HubRepo, sha: string, bytes: Buffer): void {
  writeFileOnceSync(lfsPath(dir, r.id, sha), bytes)
}

/** The repositories saved in `dir` (none when it does not exist yet). @internal */
export function loadHubRepos(dir: string): Map<string, HubRepo> {
  const repos = new Map<string, HubRepo>()
  const reposDir = join(dir, 'repos')
  if (!existsSync(reposDir)) return repos
  for (const name of readdirSync(reposDir)
    .filter((n) => n.endsWith('.json'))
    .sort()) {
    const path = join(reposDir, name)
    let saved: z.output<typeof repoSchema>
    try {
      saved = repoSchema.parse(JSON.parse(readFileSync(path, 'utf8')))
    } catch (e) {
      throw invalid(path, e)
    }
    const lfs = new Map<string, Buffer>()
    const commits: HubCommit[] = saved.commits.map((c) => {
      const files = new Map<string, StoredFile>()
      for (const [p, f] of c.files) {
        if (f.kind === 'regular')
          files.set(p, { ...f, content: readFileSync(join(dir, 'blobs', f.oid)) })
        else {
          const at = lfsPath(dir, saved.id, f.sha256)
          if (existsSync(at)) lfs.set(f.sha256, readFileSync(at))
          files.set(p, { ...f })
        }
      }
      return { ...c, files }
    })
    repos.set(saved.id, { id: saved.id, commits, lfs })
  }
  return repos
}
