/**
 * Loads reference vector files for tests. Tests read whatever set RELIQUARY_VECTORS_DIR points at
 * (default: test/fixtures/reference) and find sections by content, never by file name or by one
 * file's numbers, so any set of the same shape (another seed) runs through the same tests.
 */
import { readFileSync, readdirSync, existsSync } from 'node:fs'
import { join, resolve } from 'node:path'

export const VECTORS_DIR = resolve(
  process.env.RELIQUARY_VECTORS_DIR ?? join(import.meta.dirname, 'fixtures/reference'),
)

const cache = new Map<string, Record<string, any>>()

/** Every JSON vector file of the set, parsed, with its name. */
export function vectorFiles(): { file: string; doc: Record<string, any> }[] {
  return readdirSync(VECTORS_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((file) => {
      if (!cache.has(file))
        cache.set(file, JSON.parse(readFileSync(join(VECTORS_DIR, file), 'utf8')))
      return { file, doc: cache.get(file)! }
    })
}

/** All cases of a section key across the files that carry it, tagged with the file name. */
export function sectionCases(
  key: string,
): { file: string; index: number; c: Record<string, any>; doc: Record<string, any> }[] {
  const out: { file: string; index: number; c: Record<string, any>; doc: Record<string, any> }[] =
    []
  for (const { file, doc } of vectorFiles()) {
    const v = doc[key]
    if (Array.isArray(v))
      v.forEach((c, index) => {
        out.push({ file, index, c, doc })
      })
  }
  return out
}

/** Files that carry a given top-level key. */
export function filesWith(key: string): { file: string; doc: Record<string, any> }[] {
  return vectorFiles().filter(({ doc }) => doc[key] !== undefined)
}

/** Absolute path of a model directory named by a vector file (`model_dir`). */
export function modelDir(doc: Record<string, any>): string | null {
  const d = doc.model_dir
  if (typeof d !== 'string') return null
  const p = join(VECTORS_DIR, d)
  return existsSync(p) ? p : null
}

/** Reads "nan"/"inf"/"-inf" vector numbers (the conformance runner's reader). */
export { vnum } from '../src/conformance/recorder.js'
