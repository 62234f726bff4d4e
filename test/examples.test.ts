// Every example in examples/ runs offline against the built package.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'

const ROOT = join(import.meta.dirname, '..')
const examples = readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.ts'))
/** What an example's output must show, where it has a definite outcome. */
const EXPECT: Record<string, RegExp> = {
  // The local validator's worker judges the miner's proofs: at least one group is accepted.
  'custom-miner.ts': /verdict [0-9a-f]{12}…: accepted/,
  // No miner: the window opens and ends on its timeout.
  'minimal-validator.ts': /window 1: timeout, batch 0, trained false/,
}

describe.skipIf(!existsSync(join(ROOT, 'dist/index.js')))('examples', () => {
  test.each(examples)('%s runs', (file) => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'examples', file)], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
    })
    expect(out.length).toBeGreaterThan(0)
    if (EXPECT[file]) expect(out).toMatch(EXPECT[file])
  })
})
