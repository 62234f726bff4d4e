// Differential tests against CPython itself: the protocol depends on CPython's `random.Random`
// seeding and sampling and on `json.dumps` formatting, so the port is checked against the real
// interpreter on generated inputs (skipped only where no python3 exists).
import { spawnSync } from 'node:child_process'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { PyRandom } from '../src/grail/index.js'
import { pyFloat, pyJsonDumps } from '../src/_utils/pyJson.js'

const PY = ['python3', '/usr/bin/python3'].find(
  (p) => spawnSync(p, ['-c', 'import random, json'], { stdio: 'ignore' }).status === 0,
)

function python(script: string, input: unknown): unknown {
  const r = spawnSync(PY!, ['-c', script], {
    input: JSON.stringify(input),
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  })
  if (r.status !== 0) throw new Error(r.stderr)
  return JSON.parse(r.stdout)
}

describe.skipIf(!PY)('CPython differential', () => {
  test('random.Random(bytes): getrandbits, sample (both branches) and shuffle', () => {
    const cases = fc
      .sample(
        fc.record({
          seed: fc.uint8Array({ minLength: 0, maxLength: 40 }),
          n: fc.integer({ min: 1, max: 5000 }),
          kFrac: fc.double({ min: 0, max: 1, noNaN: true }),
          bits: fc.integer({ min: 1, max: 32 }),
        }),
        { numRuns: 300, seed: 42 },
      )
      .map((c) => ({
        ...c,
        seed: Buffer.from(c.seed).toString('hex'),
        k: Math.max(0, Math.min(c.n, Math.round(c.kFrac * (c.kFrac < 0.5 ? 40 : c.n)))),
      }))
    const script = `
import json, sys, random
out = []
for c in json.load(sys.stdin):
    s = bytes.fromhex(c['seed'])
    r1 = random.Random(s); a = [r1.getrandbits(c['bits']) for _ in range(5)]
    r2 = random.Random(s); b = r2.sample(range(c['n']), c['k'])
    r3 = random.Random(s); x = list(range(min(c['n'], 600))); r3.shuffle(x)
    out.append([a, b, x])
print(json.dumps(out))`
    const want = python(script, cases) as number[][][]
    cases.forEach((c, i) => {
      const seed = Buffer.from(c.seed, 'hex')
      const r1 = PyRandom.fromBytes(seed)
      const a = Array.from({ length: 5 }, () => r1.getrandbits(c.bits))
      const b = PyRandom.fromBytes(seed).sample(c.n, c.k)
      const x = PyRandom.fromBytes(seed).shuffle(
        Array.from({ length: Math.min(c.n, 600) }, (_, j) => j),
      )
      expect([a, b, x], JSON.stringify(c)).toEqual(want[i])
    })
  })

  test('random.Random(int) seeding', () => {
    const seeds = [0, 1, 42, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]
    const want = python(
      `import json,sys,random\nout = []\nfor s in json.load(sys.stdin):\n    r = random.Random(s)\n    out.append([r.getrandbits(32) for _ in range(3)])\nprint(json.dumps(out))`,
      seeds,
    ) as number[][]
    seeds.forEach((s, i) => {
      const r = PyRandom.fromInt(s)
      expect([r.getrandbits(32), r.getrandbits(32), r.getrandbits(32)]).toEqual(want[i])
    })
  })

  test('json.dumps of floats (repr), ints, unicode strings and sorted keys', () => {
    const floats = [
      ...fc.sample(fc.double({ noNaN: true, noDefaultInfinity: true }), { numRuns: 400, seed: 7 }),
      0,
      -0,
      1,
      1e16,
      1e15,
      123456789.0,
      1e-5,
      1e-4,
      0.0001234,
      2.5e-7,
      0.30000000000000004,
      -3.0,
      5e-324,
      1.7976931348623157e308,
    ]
    // Sent as text so -0.0 survives the trip (JSON.stringify(-0) is "0").
    const texts = floats.map((f) => (Object.is(f, -0) ? '-0.0' : String(f)))
    const want = python(
      `import json,sys\nprint(json.dumps([json.dumps(float(x)) for x in json.load(sys.stdin)]))`,
      texts,
    ) as string[]
    floats.forEach((f, i) => {
      expect(pyJsonDumps(pyFloat(f)), String(f)).toBe(want[i])
    })

    const objs = fc
      .sample(
        fc.dictionary(
          fc.string({ unit: 'binary', maxLength: 6 }),
          fc.oneof(
            fc.string({ unit: 'binary', maxLength: 8 }),
            fc.integer(),
            fc.array(fc.integer(), { maxLength: 3 }),
          ),
          { maxKeys: 5 },
        ),
        { numRuns: 200, seed: 9 },
      )
      .filter((o) => !JSON.stringify(o).includes('\\ud8') && !JSON.stringify(o).includes('\\udc'))
    const wantObjs = python(
      `import json,sys\nprint(json.dumps([json.dumps(o, sort_keys=True, separators=(",",":")) for o in json.load(sys.stdin)]))`,
      objs,
    ) as string[]
    objs.forEach((o, i) => {
      expect(pyJsonDumps(o, { sortKeys: true }), JSON.stringify(o)).toBe(wantObjs[i])
    })
  })
})
