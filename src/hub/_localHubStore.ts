// The local Hub's in-memory repositories: models only, one branch (`main`), commits whose ids
// are SHA-1 of their content (not real git objects), LFS objects kept by SHA-256.
import { createHash } from 'node:crypto'
import { loadHubRepos, saveHubCommit, saveLfsObject } from './_localHubDisk.js'

/** A stored file: inline bytes, or an LFS pointer to an object of the repo. @internal */
export type StoredFile =
  | { kind: 'regular'; content: Buffer; oid: string }
  | { kind: 'lfs'; sha256: string; size: number; oid: string }

/** One commit on `main`. @internal */
export type HubCommit = {
  oid: string
  title: string
  message: string
  parent: string | null
  date: string
  files: Map<string, StoredFile>
}

/** One model repository. @internal */
export type HubRepo = { id: string; commits: HubCommit[]; lfs: Map<string, Buffer> }

/** @internal */
export const sha1 = (b: Buffer | string): string => createHash('sha1').update(b).digest('hex')
/** @internal */
export const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
/** The git blob id of `b` (what the Hub lists as a regular file's `oid`). @internal */
export const gitBlobOid = (b: Buffer): string =>
  sha1(Buffer.concat([Buffer.from(`blob ${b.length}\0`), b]))

/** The repositories of one local Hub, and the operations every route shares. @internal */
export type LocalHubStore = {
  readonly repos: Map<string, HubRepo>
  /** The newest commit of `main`, or null for an empty repo. */
  head(r: HubRepo): HubCommit | null
  /** `main`/`HEAD` or a commit id, or null when the repo has no such revision. */
  resolveRev(r: HubRepo, rev: string): HubCommit | null
  /** The bytes of a stored file (an LFS object that was never uploaded reads as empty). */
  bytesOf(r: HubRepo, f: StoredFile): Buffer
  /** Appends a commit to `main`; each commit is dated one minute after the previous one. */
  addCommit(r: HubRepo, title: string, message: string, files: Map<string, StoredFile>): HubCommit
  /** Stores an uploaded LFS object of `r`. */
  putLfs(r: HubRepo, sha: string, bytes: Buffer): void
}

/**
 * A store whose clock starts at 2026-01-01T00:00Z: empty, or, with `dir`, the repositories
 * saved there (every commit and LFS object is written through to `dir` before it is visible, so a
 * restarted server serves the same revisions).
 * @internal
 */
export function createLocalHubStore(dir?: string): LocalHubStore {
  const repos = dir === undefined ? new Map<string, HubRepo>() : loadHubRepos(dir)
  let clock = Date.UTC(2026, 0, 1)
  for (const r of repos.values())
    for (const c of r.commits) clock = Math.max(clock, Date.parse(c.date))
  const head = (r: HubRepo): HubCommit | null => r.commits.at(-1) ?? null
  return {
    repos,
    head,
    resolveRev: (r, rev) =>
      rev === 'main' || rev === 'HEAD' ? head(r) : (r.commits.find((c) => c.oid === rev) ?? null),
    bytesOf: (r, f) =>
      f.kind === 'regular' ? f.content : (r.lfs.get(f.sha256) ?? Buffer.alloc(0)),
    addCommit(r, title, message, files) {
      const parent = head(r)?.oid ?? null
      clock += 60_000
      const date = new Date(clock).toISOString()
      const oid = sha1(
        JSON.stringify({
          parent,
          title,
          message,
          date,
          files: [...files].map(([p, f]) => [p, f.oid]),
        }),
      )
      const c: HubCommit = { oid, title, message, parent, date, files }
      if (dir !== undefined) saveHubCommit(dir, r, c)
      r.commits.push(c)
      return c
    },
    putLfs(r, sha, bytes) {
      if (dir !== undefined) saveLfsObject(dir, r, sha, bytes)
      r.lfs.set(sha, bytes)
    },
  }
}
