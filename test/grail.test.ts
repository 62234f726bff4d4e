import * as tf from '@tensorflow/tfjs-core'
// tfjs-core alone registers no backend and no gradients: the CPU backend for the 'cpu' runs.
import '@tensorflow/tfjs-backend-cpu'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  challengeIndices,
  computeSketch,
  computeSketchAsync,
  deriveSketchCoefficients,
  e1,
  logMagnitudeBucket,
  sketchTolerance,
  verifySketch,
  verifySketchAsync,
} from '../src/index.js'
import { filesWith, sectionCases, vnum } from './_vectors.js'

const Q = 2_147_483_647
const proofFiles = filesWith('proofs')

describe.each(proofFiles.map((f) => [f.file, f.doc] as const))(
  'GRAIL vectors of %s (judged with e1: tolerance base 1000)',
  (_file, doc) => {
    const proofs = doc.proofs as Record<string, any>[]
    const randomness: string = doc.randomness

    test.each(proofs.map((p, i) => [i, p] as const))(
      'proof %i: computeSketch over hidden_at_challenges equals the reference commitments',
      (_i, p) => {
        expect(challengeIndices({ tokens: p.tokens, randomness: p.randomness })).toEqual(
          p.challenge_indices,
        )
        const got = computeSketch(p.hidden_at_challenges, p.randomness)
        expect(got).toEqual((p.challenge_indices as number[]).map((j) => p.commitments[j]))
      },
    )

    test.each(proofs.map((p, i) => [i, p] as const))(
      'proof %i: verifySketch reproduces verify_self and the bf16-vs-fp32 verdict',
      (_i, p) => {
        const judge = (commitments: number[]) =>
          verifySketch({
            tokens: p.tokens,
            commitments,
            randomness,
            hidden: p.hidden_at_challenges,
            hiddenRows: 'challenges',
            profile: e1,
          })
        const self = judge(p.commitments)
        expect({
          ok: self.valid,
          passed: self.passed,
          checked: self.checked,
          max: self.sketchDiffMax,
        }).toEqual({
          ok: p.verify_self.all_passed,
          passed: p.verify_self.passed,
          checked: p.verify_self.checked,
          max: p.verify_self.sketch_diff_max,
        })
        const bf = judge(p.commitments_bf16_gpu)
        const ref = p.verify_bf16_against_fp32
        expect({
          ok: bf.valid,
          passed: bf.passed,
          checked: bf.checked,
          max: bf.sketchDiffMax,
        }).toEqual({
          ok: ref.all_passed,
          passed: ref.passed,
          checked: ref.checked,
          max: ref.sketch_diff_max,
        })
        for (const pos of bf.positions)
          expect(pos.tolerance).toBe(sketchTolerance(pos.position, { profile: e1 }))
      },
    )

    const attacks = (doc.attacks ?? []) as Record<string, any>[]
    const onSameTokens = attacks.filter((a) =>
      proofs.some((p) => JSON.stringify(p.tokens) === JSON.stringify(a.tokens)),
    )
    test.each(onSameTokens.map((a) => [a.name, a] as const))(
      'attack %s is rejected with the reference verdict',
      (_n, a) => {
        const proof = proofs.find((p) => JSON.stringify(p.tokens) === JSON.stringify(a.tokens))!
        const v = verifySketch({
          tokens: a.tokens,
          commitments: a.commitments,
          randomness,
          hidden: proof.hidden_at_challenges,
          hiddenRows: 'challenges',
          profile: e1,
        })
        expect(v.valid).toBe(false)
        expect({ ok: v.valid, passed: v.passed, checked: v.checked, max: v.sketchDiffMax }).toEqual(
          { ok: a.all_passed, passed: a.passed, checked: a.checked, max: a.sketch_diff_max },
        )
      },
    )
  },
)

describe('sketch_rows (both reference paths)', () => {
  test.each(
    sectionCases('sketch_rows').map(({ file, index, c }) => [`${file}#${index}`, c] as const),
  )('%s', (_n, c) => {
    const got = computeSketch(
      (c.hidden as unknown[][]).map((r) => Float32Array.from(r.map(vnum))),
      c.randomness,
    )
    expect(got).toEqual(c.batch)
    expect(got).toEqual(c.scalar)
  })
})

describe('buckets', () => {
  test('every bucket vector, scalar and vectorized path', () => {
    const rows = sectionCases('buckets')
    expect(rows.length).toBeGreaterThan(0)
    for (const { c } of rows) {
      const v = Math.fround(vnum(c.value_f32))
      expect(logMagnitudeBucket(v), String(c.value_f32)).toBe(c.scalar)
      expect(logMagnitudeBucket(v), String(c.value_f32)).toBe(c.vectorized)
    }
  })
})

describe('tie-break and properties', () => {
  test('equal magnitudes at the top-k boundary: the lower index wins', () => {
    // 20 equal magnitudes (mixed signs): the 16 lowest indices are kept, whatever their sign.
    const row = new Float32Array(64)
    for (let i = 0; i < 20; i++) row[10 + i] = i % 2 ? -500 : 500
    const r = deriveSketchCoefficients('ab')
    const expected = Array.from({ length: 16 }, (_, j) => ((10 + j) % 2 ? -7 : 7)).reduce(
      (s, b, j) => s + b * r[j]!,
      0,
    )
    expect(computeSketch([row], r)).toEqual([((expected % Q) + Q) % Q])
  })

  test('sketches lie in [0, Q) and a fresh proof always verifies, on both profiles', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 32, max: 80 }),
        fc.integer({ min: 16, max: 48 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 0, max: 2 ** 31 }),
        (T, d, rnd, seed) => {
          let x = seed
          const data = new Float32Array(T * d).map(() => {
            x = (Math.imul(x, 1664525) + 1013904223) >>> 0
            return (x / 2 ** 32 - 0.5) * Math.exp(((x >>> 7) % 1000) / 120)
          })
          const randomness = Buffer.from(rnd).toString('hex')
          const hidden = { data, hiddenSize: d }
          const sketches = computeSketch(hidden, randomness)
          const tokens = Array.from({ length: T }, (_, i) => (i * 31 + seed) % 150_000)
          for (const s of sketches) if (!(Number.isInteger(s) && s >= 0 && s < Q)) return false
          for (const profile of [e1, undefined]) {
            const v = verifySketch({
              tokens,
              commitments: sketches.map((sketch) => ({ sketch })),
              randomness,
              hidden,
              profile,
            })
            if (!v.valid || v.checked !== 32 || v.sketchDiffMax !== 0) return false
          }
          return true
        },
      ),
      { numRuns: 60 },
    )
  })

  test('a proof under another randomness or with one tampered commitment fails with diagnostics', () => {
    const T = 64,
      d = 32
    const data = new Float32Array(T * d).map((_, i) => Math.sin(i * 1.7) * Math.exp((i % 13) / 2))
    const hidden = { data, hiddenSize: d }
    const tokens = Array.from({ length: T }, (_, i) => i + 5)
    const sketches = computeSketch(hidden, 'aa'.repeat(32))
    const wrong = verifySketch({
      tokens,
      commitments: sketches,
      randomness: 'bb'.repeat(32),
      hidden,
      profile: e1,
    })
    expect(wrong.valid).toBe(false)
    const idx = challengeIndices({ tokens, randomness: 'aa'.repeat(32) })
    const tampered = [...sketches]
    tampered[idx[3]!] = ((tampered[idx[3]!]! + Q / 2) % Q) | 0
    const v = verifySketch({ tokens, commitments: tampered, randomness: 'aa'.repeat(32), hidden })
    expect(v.valid).toBe(false)
    expect(v.passed).toBe(31)
    const bad = v.positions.find((p) => !p.pass)!
    expect(bad.position).toBe(idx[3])
    expect(bad.diff).toBeGreaterThan(bad.tolerance)
    // Out-of-range commitments fail closed instead of wrapping around.
    const huge = [...sketches]
    huge[idx[0]!] = sketches[idx[0]!]! + 5 * Q
    expect(
      verifySketch({ tokens, commitments: huge, randomness: 'aa'.repeat(32), hidden }).valid,
    ).toBe(false)
  })
})

describe('TensorFlow.js tensors', () => {
  let start = 0
  beforeAll(async () => {
    await tf.setBackend('cpu')
    await tf.ready()
    start = tf.memory().numTensors
  })
  afterAll(() => {
    expect(tf.memory().numTensors).toBe(start)
  })

  test.each(['cpu', 'wasm'])(
    'a tf.Tensor2D on %s gives the same sketches as the Float32Array',
    async (backend) => {
      if (backend === 'wasm') {
        const { setWasmPaths } = await import('@tensorflow/tfjs-backend-wasm')
        const { dirname, join } = await import('node:path')
        const { createRequire } = await import('node:module')
        setWasmPaths(
          join(
            dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm')),
            '/',
          ),
        )
      }
      expect(await tf.setBackend(backend)).toBe(true)
      const before = tf.memory().numTensors
      const T = 48,
        d = 40
      const data = new Float32Array(T * d).map(
        (_, i) => Math.cos(i * 0.37) * Math.exp((i % 17) / 3),
      )
      const t = tf.tensor2d(data, [T, d])
      const rnd = 'cd'.repeat(32)
      const plain = computeSketch({ data, hiddenSize: d }, rnd)
      expect(computeSketch(t, rnd)).toEqual(plain)
      expect(await computeSketchAsync(t, rnd)).toEqual(plain)
      const tokens = Array.from({ length: T }, (_, i) => i)
      expect(
        (await verifySketchAsync({ tokens, commitments: plain, randomness: rnd, hidden: t })).valid,
      ).toBe(true)
      t.dispose()
      expect(tf.memory().numTensors).toBe(before)
      await tf.setBackend('cpu')
    },
  )
})
