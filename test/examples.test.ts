// Every example in examples/ runs offline against the built package.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'

const ROOT = join(import.meta.dirname, '..')
const examples = readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.ts'))

describe.skipIf(!existsSync(join(ROOT, 'dist/index.js')))('examples', () => {
  test.each(examples)('%s runs', (file) => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'examples', file)], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 })
    expect(out.length).toBeGreaterThan(0)
  })
})
