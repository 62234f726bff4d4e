// How the package's worker threads start: from this package's build, or from the TypeScript
// sources through tsx (tests, notebooks). Shared by the validator's model worker and /submit
// parsing threads and the demo's miner threads.
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'

/**
 * The `new Worker(filename, { eval })` arguments for a thread entry.
 *
 * @param callerFile - The calling module's own path (`__filename` or `import.meta.url`'s path).
 * @param sourceEntry - The entry's file name beside the caller, used when the caller is a `.ts`
 *   source (loaded through tsx's ESM API).
 * @param built - The entry under the package root when running from the build (e.g.
 *   `dist/validator/modelWorker.js`), found by walking up to the `reliquary` package.json.
 * @returns The arguments, or `null` when the built entry is missing.
 * @internal
 */
export function threadEntry(
  callerFile: string,
  sourceEntry: string,
  built: string,
): { filename: string | URL; eval: boolean } | null {
  if (callerFile.endsWith('.ts')) {
    // tsx's ESM API (the `import` condition of its `./esm/api` export).
    const tsx = createRequire(callerFile)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs')
    const entry = pathToFileURL(join(dirname(callerFile), sourceEntry)).href
    const code = `import(${JSON.stringify(pathToFileURL(tsx).href)}).then((api) => api.tsImport(${JSON.stringify(entry)}, ${JSON.stringify(pathToFileURL(callerFile).href)}))`
    return { filename: code, eval: true }
  }
  for (let dir = dirname(callerFile); dir !== dirname(dir); dir = dirname(dir)) {
    const pkg = join(dir, 'package.json')
    if (!existsSync(pkg)) continue
    let name: unknown
    try {
      name = (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name
    } catch {
      continue
    }
    if (name !== 'reliquary') continue
    const entry = join(dir, built)
    if (existsSync(entry)) return { filename: pathToFileURL(entry), eval: false }
  }
  return null
}
