// The properties of `npm run fuzz` on a few hundred inputs per parser, for CI: every wire and file
// parser either succeeds or throws a ReliquaryError, and no input takes seconds.
import { describe, expect, test } from 'vitest'
import { runFuzz } from '../bench/fuzz/runFuzz.js'
import { fuzzTargets } from '../bench/fuzz/targets.js'

const targets = await fuzzTargets()

describe('fuzzed parsers: no crash, no hang', () => {
  test.each(targets.map((t) => [t.name, t] as const))('%s', async (_name, target) => {
    // BLS pairings are ~10-30 ms each on CPU; the other parsers take well under a millisecond.
    const numRuns = target.name.includes('drand') ? 150 : 600
    const r = await runFuzz(target, { numRuns, seed: 42, maxMsPerInput: 5000 })
    expect(r.finding).toBeNull()
    expect(r.runs).toBe(numRuns)
    // The generators reach both sides: some inputs are accepted and some refused.
    expect(r.accepted).toBeGreaterThan(0)
    expect(Object.values(r.rejected).reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
  })
})
