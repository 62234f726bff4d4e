// The demo's miner threads from the CommonJS build: `require('reliquary/demo')` (dist/demo/index.cjs)
// must find the built miner thread module and mine in it, not fall back to one thread. One
// window, one honest miner mining one group per pass (the window closes after its passes), no
// evaluation: the smallest run in which a thread builds a miner and submits.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, test } from 'vitest'

const ROOT = join(import.meta.dirname, '..')
const built =
  existsSync(join(ROOT, 'dist/demo/index.cjs')) &&
  existsSync(join(ROOT, 'dist/demo/minerWorker.js'))

const SCRIPT = `
const { runDemo } = require('reliquary/demo')
const lines = []
runDemo({ windows: 1, miners: ['uniform'], groupsPerWindow: 1, evalPrompts: 0, out: null, log: (l) => lines.push(l) })
  .then((r) => {
    const m = r.miners[0]
    process.stdout.write(JSON.stringify({ lines, submitted: m.counts.submitted, windows: r.reports.length }))
  })
  .catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1) })
`

describe.skipIf(!built)('demo from the CommonJS build', () => {
  test('require("reliquary/demo") mines in a worker thread', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', SCRIPT], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000,
      maxBuffer: 16 << 20,
    })
    const out = JSON.parse(stdout) as { lines: string[]; submitted: number; windows: number }
    const text = out.lines.join('\n')
    expect(text).toContain('1 miner threads')
    expect(text).not.toMatch(/worker module was not found|miner thread .* failed|window failed/)
    expect(out.windows).toBe(1)
    // The miner in the thread generated, proved and sent at least one group.
    expect(out.submitted).toBeGreaterThan(0)
  }, 90_000)
})
