/**
 * Crash-safe file writes: every write goes to a temporary file in the same directory, is flushed
 * to disk (`fsync`), then renamed (or hard-linked) into place, and the directory is flushed too,
 * so a reader (or a restarted process) sees either the old state or the new one, never a torn
 * file. "Once" writes never replace what is there: the same bytes are a no-op, other bytes are a
 * typed `STATE_CONFLICT`.
 * @internal
 */
import { randomBytes } from 'node:crypto'
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeFileSync,
} from 'node:fs'
import { link, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { ReliquaryError } from '../errors/base.js'

/** Points where {@link setWriteHook}'s hook runs (between the temporary write and the rename). */
export type WritePoint = 'file-partial' | 'file-staged' | 'dir-staged'

let hook: ((point: WritePoint, path: string) => Promise<void> | void) | null = null

/**
 * Test hook: runs when half of a temporary file is written (`file-partial`), when it is complete
 * and flushed (`file-staged`), and when a staged directory is flushed (`dir-staged`), each time
 * before the rename into place (crash tests park the process there and kill it). `null` removes it.
 * @internal
 */
export function setWriteHook(
  fn: ((point: WritePoint, path: string) => Promise<void> | void) | null,
): void {
  hook = fn
}

const isCode = (e: unknown, code: string): boolean =>
  typeof e === 'object' && e !== null && (e as { code?: unknown }).code === code

/** The error of a write that would replace different content. */
export function stateConflict(path: string, what: string): ReliquaryError<'STATE_CONFLICT'> {
  return new ReliquaryError(
    'STATE_CONFLICT',
    `${what} ${path} already exists with other content.`,
    {
      hints: [
        'Archives and checkpoints are written once and never replaced.',
        'Point the validator at its own state directory, or move the existing file away after checking it.',
      ],
      meta: { path },
    },
  )
}

/** Flushes a directory entry list to disk (no-op where directories cannot be opened). */
export async function syncDir(dir: string): Promise<void> {
  let fh: Awaited<ReturnType<typeof open>> | undefined
  try {
    fh = await open(dir, 'r')
    await fh.sync()
  } catch (e) {
    if (!isCode(e, 'EISDIR') && !isCode(e, 'EPERM') && !isCode(e, 'EINVAL')) throw e
  } finally {
    await fh?.close()
  }
}

/** A fresh temporary name next to `path` (same directory, so the rename stays atomic). */
function tempNameFor(path: string): string {
  return join(
    dirname(path),
    `.${basename(path)}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`,
  )
}

/** Writes `bytes[from, to)` at the file position `from`, looping over short writes. */
async function writeAll(
  fh: Awaited<ReturnType<typeof open>>,
  bytes: Uint8Array,
  from: number,
  to: number,
): Promise<void> {
  for (let at = from; at < to; ) {
    const { bytesWritten } = await fh.write(bytes, at, to - at, at)
    at += bytesWritten
  }
}

/** Writes `data` to a new temporary file next to `path` and flushes it; returns its name. */
async function writeTemp(path: string, data: Uint8Array | string, mode = 0o666): Promise<string> {
  await mkdir(dirname(path), { recursive: true })
  const tmp = tempNameFor(path)
  const fh = await open(tmp, 'wx', mode)
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
    const half = bytes.length >> 1
    await writeAll(fh, bytes, 0, half)
    await hook?.('file-partial', path)
    await writeAll(fh, bytes, half, bytes.length)
    await fh.sync()
  } finally {
    await fh.close()
  }
  await hook?.('file-staged', path)
  return tmp
}

/**
 * Replaces `path` with `data` atomically: temporary file, fsync, rename, fsync of the directory.
 *
 * @param path - The destination.
 * @param data - The new content.
 * @param mode - File mode of a new file (before the umask). @default 0o666
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  mode?: number,
): Promise<void> {
  const tmp = await writeTemp(path, data, mode)
  try {
    await rename(tmp, path)
  } catch (e) {
    await rm(tmp, { force: true })
    throw e
  }
  await syncDir(dirname(path))
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && Buffer.compare(a, b) === 0

/**
 * Writes `path` once: atomically when it does not exist; a no-op when it holds exactly `data`;
 * a `STATE_CONFLICT` otherwise (it is never replaced).
 *
 * @param path - The destination.
 * @param data - The content.
 * @param what - How the error names the file (`Archive`, `Checkpoint file`).
 * @returns `'written'` or `'unchanged'`.
 * @throws {ReliquaryError} `STATE_CONFLICT` when `path` holds other bytes.
 */
export async function writeFileOnce(
  path: string,
  data: Uint8Array,
  what = 'File',
): Promise<'written' | 'unchanged'> {
  const existing = await readFile(path).catch((e: unknown) => {
    if (isCode(e, 'ENOENT')) return null
    throw e
  })
  if (existing !== null) {
    if (sameBytes(existing, data)) return 'unchanged'
    throw stateConflict(path, what)
  }
  const tmp = await writeTemp(path, data)
  try {
    // link() never replaces an existing name, unlike rename().
    await link(tmp, path)
  } catch (e) {
    if (!isCode(e, 'EEXIST')) throw e
    if (!sameBytes(await readFile(path), data)) throw stateConflict(path, what)
    return 'unchanged'
  } finally {
    await unlink(tmp).catch(() => undefined)
  }
  await syncDir(dirname(path))
  return 'written'
}

/** Every regular file under `dir`, as paths relative to it (`/`-separated), sorted. */
export async function listTree(dir: string): Promise<string[]> {
  const out: string[] = []
  const walk = async (rel: string): Promise<void> => {
    for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name
      if (e.isDirectory()) await walk(r)
      else if (e.isFile()) out.push(r)
    }
  }
  await walk('')
  return out.sort()
}

/** Flushes every file and directory under `dir` (and `dir` itself) to disk. */
export async function syncTree(dir: string): Promise<void> {
  for (const rel of await listTree(dir)) {
    const fh = await open(join(dir, ...rel.split('/')), 'r')
    try {
      await fh.sync()
    } finally {
      await fh.close()
    }
  }
  const dirs = new Set<string>([dir])
  for (const rel of await listTree(dir)) {
    const parts = rel.split('/')
    for (let i = 1; i < parts.length; i++) dirs.add(join(dir, ...parts.slice(0, i)))
  }
  for (const d of dirs) await syncDir(d)
}

/** Whether two directory trees hold the same files with the same bytes. */
async function sameTree(a: string, b: string): Promise<boolean> {
  const [fa, fb] = [await listTree(a), await listTree(b)]
  if (fa.length !== fb.length || fa.some((p, i) => p !== fb[i])) return false
  for (const p of fa) {
    const parts = p.split('/')
    if (!sameBytes(await readFile(join(a, ...parts)), await readFile(join(b, ...parts))))
      return false
  }
  return true
}

/** Whether `path` exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch (e) {
    if (isCode(e, 'ENOENT')) return false
    throw e
  }
}

/**
 * Moves a complete staged directory to `to` once: flushes it, renames it into place and flushes
 * the parent. When `to` already holds the same files and bytes the staged copy is removed; when
 * it holds anything else, `STATE_CONFLICT` (it is never replaced).
 *
 * @param from - The staged directory (same file system as `to`).
 * @param to - The destination.
 * @param what - How the error names the directory.
 * @throws {ReliquaryError} `STATE_CONFLICT` when `to` holds other content.
 */
export async function moveDirOnce(from: string, to: string, what = 'Directory'): Promise<void> {
  if (await exists(to)) {
    if (!(await sameTree(from, to))) throw stateConflict(to, what)
    await rm(from, { recursive: true, force: true })
    return
  }
  await syncTree(from)
  await hook?.('dir-staged', to)
  await mkdir(dirname(to), { recursive: true })
  await rename(from, to)
  await syncDir(dirname(to))
  await syncDir(dirname(from))
}

/**
 * The synchronous form of {@link writeFileAtomic} (for stores whose callers are synchronous):
 * temporary file, fsync, rename, fsync of the directory.
 *
 * @param path - The destination.
 * @param data - The new content.
 */
export function writeFileAtomicSync(path: string, data: Uint8Array | string): void {
  mkdirSync(dirname(path), { recursive: true })
  const tmp = tempNameFor(path)
  const fd = openSync(tmp, 'wx')
  try {
    writeFileSync(fd, data)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)
  syncDirSync(dirname(path))
}

/** Flushes a directory entry list to disk, synchronously. */
function syncDirSync(dir: string): void {
  let fd: number | undefined
  try {
    fd = openSync(dir, 'r')
    fsyncSync(fd)
  } catch (e) {
    if (!isCode(e, 'EISDIR') && !isCode(e, 'EPERM') && !isCode(e, 'EINVAL')) throw e
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

/**
 * The synchronous form of {@link writeFileOnce}: writes `path` once, a no-op for the same bytes,
 * `STATE_CONFLICT` for others.
 *
 * @param path - The destination.
 * @param data - The content.
 * @param what - How the error names the file.
 * @throws {ReliquaryError} `STATE_CONFLICT` when `path` holds other bytes.
 */
export function writeFileOnceSync(path: string, data: Uint8Array, what = 'File'): void {
  if (existsSync(path)) {
    if (!sameBytes(readFileSync(path), data)) throw stateConflict(path, what)
    return
  }
  writeFileAtomicSync(path, data)
}
