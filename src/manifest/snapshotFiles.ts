import { ReliquaryError, invalidArgument } from '../errors/base.js'
import { parseCustodyManifest, type CustodyFileEntry } from './custodyManifest.js'

/**
 * Paths skipped by default when hashing a snapshot: the `.cache/huggingface/` metadata that
 * `hf download --local-dir` writes next to the files.
 */
export const SNAPSHOT_DEFAULT_IGNORE: readonly string[] = /*#__PURE__*/ Object.freeze([
  '.cache/huggingface/',
])

/** Options of {@link hashSnapshotFiles} and {@link verifySnapshotFiles}. */
export type SnapshotFilesOptions = {
  /**
   * Relative paths to skip: an entry ending in `/` skips a directory, any other entry one file
   * (e.g. the custody manifest itself when it is stored inside the snapshot).
   * @default SNAPSHOT_DEFAULT_IGNORE
   */
  ignore?: readonly string[] | undefined
}

function ignored(path: string, ignore: readonly string[]): boolean {
  return ignore.some((i) => (i.endsWith('/') ? path.startsWith(i) : path === i))
}

type Found = { path: string; abs: string; size: number }

// node: modules are loaded on first use so `reliquary/manifest` stays importable where there is no fs.
async function walk(dir: string, ignore: readonly string[]): Promise<Found[]> {
  const fs = await import('node:fs/promises')
  const nodePath = await import('node:path')
  const root = nodePath.resolve(dir)
  const out: Found[] = []
  const visited = new Set<string>()
  const visit = async (absDir: string, rel: string): Promise<void> => {
    const real = await fs.realpath(absDir)
    if (visited.has(real)) return // a symlinked directory loop
    visited.add(real)
    for (const entry of await fs.readdir(absDir, { withFileTypes: true })) {
      const relPath = rel ? `${rel}/${entry.name}` : entry.name
      const abs = nodePath.join(absDir, entry.name)
      let isDir = entry.isDirectory()
      let isFile = entry.isFile()
      if (entry.isSymbolicLink()) {
        // The Hugging Face cache stores snapshot files as symlinks into blobs/: follow them. A
        // dangling link is no file (a listed path behind it is reported missing).
        const st = await fs.stat(abs).catch(() => null)
        if (!st) continue
        isDir = st.isDirectory()
        isFile = st.isFile()
      }
      if (isDir) {
        if (!ignored(`${relPath}/`, ignore)) await visit(abs, relPath)
      } else if (isFile && !ignored(relPath, ignore)) {
        out.push({ path: relPath, abs, size: (await fs.stat(abs)).size })
      }
    }
  }
  await visit(root, '')
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

async function sha256File(abs: string): Promise<string> {
  const { createHash } = await import('node:crypto')
  const { createReadStream } = await import('node:fs')
  const h = createHash('sha256')
  for await (const chunk of createReadStream(abs, { highWaterMark: 1 << 20 }))
    h.update(chunk as Buffer)
  return h.digest('hex')
}

function ignoreOf(options: SnapshotFilesOptions): readonly string[] {
  const ignore = options.ignore ?? SNAPSHOT_DEFAULT_IGNORE
  if (!Array.isArray(ignore) || ignore.some((i) => typeof i !== 'string'))
    throw invalidArgument('ignore', 'an array of relative paths', ignore)
  return ignore
}

/**
 * Hashes every file under `dir` (recursively, following symlinks) into the sorted `files` list a
 * custody manifest carries: `{ path, size, sha256 }` with POSIX relative paths. Node only.
 *
 * @param dir - The snapshot directory.
 * @param options - {@link SnapshotFilesOptions}.
 * @returns Entries sorted by path.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a bad `dir` or `ignore`; file-system errors
 *   (missing directory, permissions) propagate as Node's errors.
 * @example
 * ```ts
 * import { hashSnapshotFiles } from 'reliquary/manifest'
 * const files = await hashSnapshotFiles('state/checkpoints/ckpt_7')
 * ```
 */
export async function hashSnapshotFiles(
  dir: string,
  options: SnapshotFilesOptions = {},
): Promise<CustodyFileEntry[]> {
  if (typeof dir !== 'string' || dir.length === 0)
    throw invalidArgument('dir', 'a directory path', dir)
  const found = await walk(dir, ignoreOf(options))
  const out: CustodyFileEntry[] = []
  for (const f of found) out.push({ path: f.path, size: f.size, sha256: await sha256File(f.abs) })
  return out
}

/**
 * Checks a downloaded snapshot against a custody manifest: the directory must hold exactly the
 * files the manifest lists (after `ignore`), each with the listed size and SHA-256. Sizes are
 * compared before anything is hashed. This checks files only; the manifest's signature and chain
 * are `verifyChain`'s job. Node only.
 *
 * @param manifest - A custody manifest (validated first).
 * @param dir - The snapshot directory.
 * @param options - {@link SnapshotFilesOptions}.
 * @returns The number of files and bytes checked.
 * @throws {ReliquaryError} `MANIFEST_FILES_MISMATCH` when any file is missing, extra, or differs
 *   (`meta.missing`, `meta.extra`, `meta.mismatched` list up to 100 paths each);
 *   `SCHEMA_INVALID` for a malformed manifest.
 * @example
 * ```ts
 * import { verifyChain, verifySnapshotFiles } from 'reliquary/manifest'
 * const chain = await verifyChain(head, options)
 * if (chain.valid) await verifySnapshotFiles(chain.links[0]!, snapshotDir)
 * ```
 */
export async function verifySnapshotFiles(
  manifest: unknown,
  dir: string,
  options: SnapshotFilesOptions = {},
): Promise<{ files: number; bytes: number }> {
  const m = parseCustodyManifest(manifest)
  if (typeof dir !== 'string' || dir.length === 0)
    throw invalidArgument('dir', 'a directory path', dir)
  const found = await walk(dir, ignoreOf(options))
  const onDisk = new Map(found.map((f) => [f.path, f]))
  const listed = new Map(m.files.map((f) => [f.path, f]))
  const missing = m.files.filter((f) => !onDisk.has(f.path)).map((f) => f.path)
  const extra = found.filter((f) => !listed.has(f.path)).map((f) => f.path)
  const mismatched: string[] = []
  let bytes = 0
  for (const f of found) {
    const want = listed.get(f.path)
    if (!want) continue
    if (want.size !== f.size || (await sha256File(f.abs)) !== want.sha256) mismatched.push(f.path)
    else bytes += f.size
  }
  if (missing.length || extra.length || mismatched.length) {
    throw filesMismatchError({ subject: 'The snapshot', missing, extra, mismatched }, [
      'Download the whole snapshot at the manifest revision (sharded weights included), then check again.',
      'Do not load a snapshot that fails this check.',
    ])
  }
  return { files: found.length, bytes }
}

/** What differs between a snapshot and its manifest. */
export type FilesMismatch = {
  /** The sentence's subject, e.g. `The snapshot` or `The snapshot owner/name@rev`. */
  subject: string
  missing: readonly string[]
  extra: readonly string[]
  mismatched: readonly string[]
}

/**
 * The `MANIFEST_FILES_MISMATCH` error for a snapshot whose files differ from its manifest: counts
 * in the message, at most 20 paths in the details and 100 per list in `meta`.
 * @internal
 */
export function filesMismatchError(
  { subject, missing, extra, mismatched }: FilesMismatch,
  hints: string[],
): ReliquaryError {
  const cap = (xs: readonly string[]) => xs.slice(0, 100)
  return new ReliquaryError(
    'MANIFEST_FILES_MISMATCH',
    `${subject} does not match its manifest: ${missing.length} missing, ${extra.length} extra, ${mismatched.length} differing file(s).`,
    {
      hints,
      details: [
        ...cap(missing).map((p) => `missing ${p}`),
        ...cap(extra).map((p) => `extra ${p}`),
        ...cap(mismatched).map((p) => `differs ${p}`),
      ]
        .slice(0, 20)
        .join('; '),
      meta: { missing: cap(missing), extra: cap(extra), mismatched: cap(mismatched) },
    },
  )
}
