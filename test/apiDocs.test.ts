// The API reference: TypeDoc builds it from the TSDoc comments with zero warnings (typedoc.json
// treats warnings as errors), and every entry point the README links has its page.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from 'vitest'

const ROOT = join(import.meta.dirname, '..')
const DOCS_URL = 'https://reliquary-sdk.github.io/reliquary/'

test('typedoc builds the API reference with zero warnings; the README links every entry point', () => {
  const out = mkdtempSync(join(tmpdir(), 'reliquary-docs-'))
  try {
    let log = ''
    try {
      execFileSync(join(ROOT, 'node_modules/.bin/typedoc'), ['--out', out, '--logLevel', 'Warn'], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 300_000,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
    } catch (e) {
      const { stdout, stderr } = e as { stdout?: string; stderr?: string }
      log = `${stdout ?? ''}${stderr ?? ''}` || String(e)
    }
    expect(log).toBe('')
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      exports: Record<string, unknown>
    }
    const entries = Object.keys(pkg.exports).filter((k) => !k.endsWith('.json'))
    for (const entry of entries) {
      const spec = entry === '.' ? 'reliquary' : `reliquary/${entry.slice(2)}`
      const page = `modules/${entry === '.' ? 'index' : entry.slice(2)}.html`
      expect(readme, spec).toContain(`[\`${spec}\`](${DOCS_URL}${page})`)
      expect(existsSync(join(out, page)), page).toBe(true)
    }
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
})
