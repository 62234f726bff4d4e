// Structural rules of src/ that review alone does not keep: internal files stay inside their
// folder, source files stay short, and the root entry stays TF.js-free.
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { build } from 'esbuild'
import { describe, expect, test } from 'vitest'

const ROOT = join(import.meta.dirname, '..')
const SRC = join(ROOT, 'src')

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name)
    if (e.isDirectory()) return sourceFiles(p)
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [p] : []
  })
}

const files = sourceFiles(SRC)
const rel = (p: string): string => relative(ROOT, p).split(sep).join('/')

/** Relative specifiers of every static import/export-from and dynamic `import()` in `code`. */
function relativeSpecifiers(code: string): string[] {
  const out: string[] = []
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s*)['"](\.{1,2}\/[^'"]+)['"]/gm
  for (const m of code.matchAll(re)) out.push(m[1]!)
  return out
}

describe('internal files', () => {
  test('the scanner sees imports (guards the check below against matching nothing)', () => {
    const specs = relativeSpecifiers(readFileSync(join(SRC, 'model/generate.ts'), 'utf8'))
    expect(specs).toContain('./_sampling.js')
    expect(relativeSpecifiers("const m = await import('../x/_y.js')")).toEqual(['../x/_y.js'])
  })

  test("no file imports another folder's _-prefixed file", () => {
    const crossings: string[] = []
    for (const file of files) {
      for (const spec of relativeSpecifiers(readFileSync(file, 'utf8'))) {
        const target = resolve(dirname(file), spec)
        const base = target.slice(target.lastIndexOf(sep) + 1)
        if (base.startsWith('_') && dirname(target) !== dirname(file))
          crossings.push(`${rel(file)} → ${spec}`)
      }
    }
    expect(crossings).toEqual([])
  })
})

describe('the root entry', () => {
  test('its import graph (static and dynamic) reaches no @tensorflow package', async () => {
    const result = await build({
      entryPoints: [join(SRC, 'index.ts')],
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      logLevel: 'silent',
    })
    const inputs = result.metafile.inputs
    const reached = Object.keys(inputs)
    // Guard: the graph really spans the protocol core.
    expect(reached).toContain('src/grail/computeSketch.ts')
    const tf = Object.entries(inputs).flatMap(([file, info]) =>
      info.imports
        .filter((i) => i.path.startsWith('@tensorflow/'))
        .map((i) => `${file} → ${i.path}`),
    )
    expect(tf).toEqual([])
  })
})
