// The properties of `npm run fuzz` on a few hundred inputs per parser, for CI: every wire and file
// parser either succeeds or throws a ReliquaryError, and no input takes seconds.
import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { runFuzz } from '../bench/fuzz/runFuzz.js'
import { fuzzTargets } from '../bench/fuzz/targets.js'
import { verifyBeacon } from '../src/drand/verifyBeacon.js'
import { expectCode } from './_errors.js'

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

describe('findings of the fuzzer, pinned', () => {
  test('verifyBeacon: a chain "hash" that is not a string is a typed error, not a crash', () => {
    const fixture = JSON.parse(
      readFileSync(new URL('./fixtures/reference/drand-beacons.json', import.meta.url), 'utf8'),
    )
    const b = fixture.beacons.find((x: { chain: string }) => x.chain === 'mainnet-quicknet')
    const chain = fixture.chains['mainnet-quicknet']
    const beacon = { round: b.round, signature: b.signature }
    expect(verifyBeacon(beacon, chain).round).toBe(b.round)
    let deep: unknown = 0
    for (let i = 0; i < 12_000; i++) deep = [deep]
    // Before: RangeError (String() of a deep array) and TypeError (String() of a null-prototype object).
    for (const hash of [deep, Object.create(null), { toString: 1 }, 7])
      expectCode(() => verifyBeacon(beacon, { ...chain, hash }), 'DRAND_CHAIN_INFO_INVALID')
  })
})
