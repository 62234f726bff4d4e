import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { ProtocolProfile } from '../src/protocol/profiles.js'
import { defineProfile, e1, e3 } from '../src/protocol/profiles.js'
import { Cooldown } from '../src/window/seal/cooldown.js'
import { HashDedup, rolloutHash } from '../src/window/seal/hashDedup.js'
import { selectBatchAndDistribute } from '../src/window/seal/selectBatchAndDistribute.js'
import type { WindowSubmission } from '../src/window/seal/selectBatchAndDistribute.js'
import { sectionCases, vnum } from './_vectors.js'
import { expectInvalid } from './_errors.js'

const TOL = 1e-12

function profileWith(base: ProtocolProfile, b: number, cooldownWindows: number): ProtocolProfile {
  return defineProfile(base, {
    id: `${base.id}-test-${b}-${cooldownWindows}`,
    group: { batchSize: b },
    window: { cooldownWindows },
  })
}

function sum(values: Iterable<number>): number {
  let s = 0
  for (const v of values) s += v
  return s
}

describe('reference vectors: selection', () => {
  const selection = sectionCases('selection')

  it.runIf(selection.length > 0)(
    `every case (${selection.length}) gives the reference batch, order and rewards`,
    () => {
      for (const { file, index, c } of selection) {
        const where = `${file}#${index}`
        const profile = profileWith(e3, c.b, c.cooldown_windows)
        const cooldown = Cooldown.fromSnapshot(c.cooldown, { profile })
        const subs = (c.submissions as Record<string, any>[]).map((s) => ({
          hotkey: s.hotkey as string,
          promptIdx: s.prompt_idx as number,
          merkleRoot: s.merkle_root as string,
          drandRound: s.drand_round as number,
          wire: s,
        }))
        const r = selectBatchAndDistribute(subs, {
          currentWindow: c.current_window,
          cooldown,
          profile,
        })
        expect(
          r.batch.map((s) => s.wire),
          where,
        ).toEqual(c.batch)
        expect(r.winningPrompts, where).toEqual(
          (c.batch as Record<string, any>[]).map((s) => s.prompt_idx),
        )
        const ref = c.rewards_by_hotkey as Record<string, unknown>
        expect([...r.rewardsByHotkey.keys()].sort(), where).toEqual(Object.keys(ref).sort())
        for (const [hk, v] of r.rewardsByHotkey)
          expect(Math.abs(v - vnum(ref[hk])), `${where} ${hk}`).toBeLessThanOrEqual(TOL)
        expect(
          Math.abs(r.burn - ((c.b - c.batch.length) * e3.scoring.pool) / c.b),
          where,
        ).toBeLessThanOrEqual(TOL)
      }
    },
  )
})

// ---------------------------------------------------------------------------------------------
// Properties of E3 selection
// ---------------------------------------------------------------------------------------------

type Sub = WindowSubmission & { readonly drandRound: number }

const hex32 = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((b) => Buffer.from(b).toString('hex'))
const subArb: fc.Arbitrary<Sub> = fc.record({
  hotkey: fc.constantFrom('5Ha', '5Hb', '5Hc', '5Hd', '5He', '5Hf'),
  promptIdx: fc.integer({ min: 0, max: 24 }),
  merkleRoot: hex32,
  drandRound: fc.integer({ min: 4_000_000, max: 4_000_005 }),
})
const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  subs: fc.array(subArb, { maxLength: 40 }),
  b: fc.constantFrom(1, 2, 3, 4, 8, 16),
  cooldownWindows: fc.constantFrom(0, 50, 1_000_000),
  cooldown: fc.dictionary(
    fc.integer({ min: 0, max: 24 }).map(String),
    fc.integer({ min: 0, max: 200 }),
    { maxKeys: 8 },
  ),
  currentWindow: fc.integer({ min: 100, max: 250 }),
})

type Scenario = {
  subs: Sub[]
  b: number
  cooldownWindows: number
  cooldown: Record<string, number>
  currentWindow: number
}

function run(s: Scenario, subs: readonly Sub[] = s.subs) {
  const profile = profileWith(e3, s.b, s.cooldownWindows)
  const cooldown = Cooldown.fromSnapshot(s.cooldown, { profile })
  return {
    result: selectBatchAndDistribute(subs, { currentWindow: s.currentWindow, cooldown, profile }),
    cooldown,
    profile,
  }
}

describe('E3 selection properties', () => {
  it('rewards sum to filled slots / B of the pool (never more than the pool) and the rest burns', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const { result, profile } = run(s)
        const paid = sum(result.rewardsByHotkey.values())
        const pool = profile.scoring.pool
        expect(paid).toBeLessThanOrEqual(pool + TOL)
        expect(Math.abs(paid - (result.batch.length * pool) / s.b)).toBeLessThanOrEqual(TOL)
        expect(Math.abs(paid + result.burn - pool)).toBeLessThanOrEqual(TOL)
        for (const v of result.rewardsByHotkey.values()) expect(v).toBeGreaterThan(0)
      }),
      { numRuns: 300 },
    )
  })

  it('selects at most B distinct prompts, each from a real submission', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const { result } = run(s)
        const prompts = result.batch.map((x) => x.promptIdx)
        expect(new Set(prompts).size).toBe(prompts.length)
        expect(prompts.length).toBeLessThanOrEqual(s.b)
        expect(result.winningPrompts).toEqual(prompts)
        for (const x of result.batch) expect(s.subs).toContain(x)
      }),
      { numRuns: 300 },
    )
  })

  it('never selects or pays a prompt in cooldown', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const { result, cooldown } = run(s)
        for (const x of result.batch)
          expect(cooldown.isInCooldown(x.promptIdx, s.currentWindow)).toBe(false)
        // Removing every cooldown submission changes nothing: they carried no weight.
        const eligible = s.subs.filter((x) => !cooldown.isInCooldown(x.promptIdx, s.currentWindow))
        const without = run(s, eligible).result
        expect(without.batch).toEqual(result.batch)
        expect([...without.rewardsByHotkey]).toEqual([...result.rewardsByHotkey])
      }),
      { numRuns: 200 },
    )
  })

  it('does not depend on the order submissions arrived in', () => {
    fc.assert(
      fc.property(
        scenarioArb.chain((s) =>
          fc.tuple(
            fc.constant(s),
            fc.shuffledSubarray(s.subs, { minLength: s.subs.length, maxLength: s.subs.length }),
          ),
        ),
        ([s, shuffled]) => {
          const a = run(s).result
          const b = run(s, shuffled).result
          expect(b.batch).toEqual(a.batch)
          expect([...b.rewardsByHotkey.keys()].sort()).toEqual([...a.rewardsByHotkey.keys()].sort())
          for (const [hk, v] of a.rewardsByHotkey)
            expect(Math.abs(b.rewardsByHotkey.get(hk)! - v)).toBeLessThanOrEqual(TOL)
          expect(b.burn).toBe(a.burn)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('N hotkeys on one prompt in one round earn together what one hotkey would', () => {
    fc.assert(
      fc.property(
        scenarioArb,
        fc.integer({ min: 2, max: 6 }),
        fc.integer({ min: 4_000_000, max: 4_000_005 }),
        fc.array(hex32, { minLength: 6, maxLength: 6 }),
        (s, n, round, roots) => {
          const prompt = 1000 // never in the base set nor in cooldown
          const solo: Sub = {
            hotkey: '5Solo',
            promptIdx: prompt,
            merkleRoot: roots[0]!,
            drandRound: round,
          }
          const sybils: Sub[] = Array.from({ length: n }, (_, i) => ({
            hotkey: `5Sybil${i}`,
            promptIdx: prompt,
            merkleRoot: roots[i]!,
            drandRound: round,
          }))
          const one = run(s, [...s.subs, solo]).result
          const many = run(s, [...s.subs, ...sybils]).result
          const soloEarned = one.rewardsByHotkey.get('5Solo') ?? 0
          const sybilEarned = sum(sybils.map((x) => many.rewardsByHotkey.get(x.hotkey) ?? 0))
          expect(Math.abs(sybilEarned - soloEarned)).toBeLessThanOrEqual(TOL)
          for (const [hk, v] of one.rewardsByHotkey)
            if (hk !== '5Solo')
              expect(Math.abs((many.rewardsByHotkey.get(hk) ?? 0) - v)).toBeLessThanOrEqual(TOL)
          expect(many.winningPrompts.slice().sort()).toEqual(one.winningPrompts.slice().sort())
        },
      ),
      { numRuns: 200 },
    )
  })
})

describe('E3 selection, worked cases', () => {
  const root = (i: number): string => i.toString(16).padStart(2, '0').repeat(32)
  const promptHash = (p: number): string =>
    createHash('sha256')
      .update(Buffer.from(BigInt(p).toString(16).padStart(16, '0'), 'hex'))
      .digest('hex')

  it('earlier rounds fill first; the boundary round splits the remaining slots across all its prompts', () => {
    const profile = profileWith(e3, 3, 0)
    const subs: Sub[] = [
      { hotkey: 'early', promptIdx: 1, merkleRoot: root(1), drandRound: 10 },
      { hotkey: 'early', promptIdx: 2, merkleRoot: root(2), drandRound: 10 },
      { hotkey: 'late1', promptIdx: 3, merkleRoot: root(3), drandRound: 11 },
      { hotkey: 'late2', promptIdx: 4, merkleRoot: root(4), drandRound: 11 },
      { hotkey: 'late2', promptIdx: 1, merkleRoot: root(5), drandRound: 11 }, // already claimed in round 10
      { hotkey: 'later', promptIdx: 5, merkleRoot: root(6), drandRound: 12 },
    ]
    const r = selectBatchAndDistribute(subs, { currentWindow: 1, profile })
    const slot = profile.scoring.pool / 3
    expect(r.rewardsByHotkey.get('early')).toBeCloseTo(2 * slot, 15)
    expect(r.rewardsByHotkey.get('late1')).toBeCloseTo(slot / 2, 15)
    expect(r.rewardsByHotkey.get('late2')).toBeCloseTo(slot / 2, 15)
    expect(r.rewardsByHotkey.has('later')).toBe(false)
    const boundaryPick = promptHash(3) < promptHash(4) ? 3 : 4
    expect(r.winningPrompts.slice(0, 2).sort()).toEqual([1, 2])
    expect(r.winningPrompts[2]).toBe(boundaryPick)
    expect(r.burn).toBe(0)
  })

  it('the representative is the submission with the smallest SHA256(hotkey ‖ BE64(prompt) ‖ merkle)', () => {
    const key = (s: Sub): string =>
      createHash('sha256')
        .update(
          Buffer.concat([
            Buffer.from(s.hotkey, 'utf8'),
            Buffer.from(BigInt(s.promptIdx).toString(16).padStart(16, '0'), 'hex'),
            Buffer.from(s.merkleRoot as string, 'hex'),
          ]),
        )
        .digest('hex')
    const subs: Sub[] = ['a', 'b', 'c', 'd'].map((h, i) => ({
      hotkey: h,
      promptIdx: 9,
      merkleRoot: root(i + 7),
      drandRound: 5,
    }))
    const r = selectBatchAndDistribute(subs, { currentWindow: 1, profile: profileWith(e3, 8, 0) })
    const best = subs.reduce((m, s) => (key(s) < key(m) ? s : m))
    expect(r.batch).toEqual([best])
    for (const s of subs) expect(r.rewardsByHotkey.get(s.hotkey)).toBe(e3.scoring.pool / 8 / 4)
    expect(r.burn).toBeCloseTo((7 / 8) * e3.scoring.pool, 15)
  })

  it('accepts merkle roots as bytes and returns nothing for no submissions', () => {
    const r = selectBatchAndDistribute(
      [{ hotkey: 'x', promptIdx: 0, merkleRoot: new Uint8Array(32), drandRound: 1 }],
      { currentWindow: 0 },
    )
    expect(r.batch).toHaveLength(1)
    const empty = selectBatchAndDistribute([], { currentWindow: 0 })
    expect(empty.batch).toEqual([])
    expect(empty.rewardsByHotkey.size).toBe(0)
    expect(empty.burn).toBe(e3.scoring.pool)
  })

  it('rejects malformed submissions with INVALID_ARGUMENT', () => {
    const ok = { hotkey: 'x', promptIdx: 0, merkleRoot: 'ab', drandRound: 1 }
    expectInvalid(() =>
      selectBatchAndDistribute([{ ...ok, merkleRoot: 'abc' }], { currentWindow: 0 }),
    )
    expectInvalid(() =>
      selectBatchAndDistribute([{ ...ok, merkleRoot: 'zz' }], { currentWindow: 0 }),
    )
    expectInvalid(() => selectBatchAndDistribute([{ ...ok, promptIdx: -1 }], { currentWindow: 0 }))
    expectInvalid(() => selectBatchAndDistribute([{ ...ok, promptIdx: 1.5 }], { currentWindow: 0 }))
    expectInvalid(() =>
      selectBatchAndDistribute([{ hotkey: 'x', promptIdx: 0, merkleRoot: 'ab' }], {
        currentWindow: 0,
      }),
    )
    expectInvalid(() =>
      selectBatchAndDistribute([{ ...ok, hotkey: 5 as unknown as string }], { currentWindow: 0 }),
    )
    expectInvalid(() => selectBatchAndDistribute([ok], { currentWindow: Number.NaN }))
    expectInvalid(() => selectBatchAndDistribute('nope' as never, { currentWindow: 0 }))
    expectInvalid(() => selectBatchAndDistribute([ok], { currentWindow: 0, cooldown: {} as never }))
  })
})

describe('E1 (legacy) selection', () => {
  const tiebreak = (s: { hotkey: string; promptIdx: number; merkleRoot: string }): string =>
    createHash('sha256')
      .update(
        Buffer.concat([
          Buffer.from(s.hotkey),
          Buffer.from(BigInt(s.promptIdx).toString(16).padStart(16, '0'), 'hex'),
          Buffer.from(s.merkleRoot, 'hex'),
        ]),
      )
      .digest('hex')

  it('orders by (signedRound, tiebreak), skips taken and cooldown prompts, pays pool/B per member', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            hotkey: fc.constantFrom('a', 'b', 'c'),
            promptIdx: fc.integer({ min: 0, max: 10 }),
            merkleRoot: hex32,
            signedRound: fc.integer({ min: 0, max: 4 }),
          }),
          { maxLength: 30 },
        ),
        fc.constantFrom(1, 4, 8),
        fc.dictionary(
          fc.integer({ min: 0, max: 10 }).map(String),
          fc.integer({ min: 0, max: 120 }),
          { maxKeys: 4 },
        ),
        (subs, b, cdMap) => {
          const profile = defineProfile(e1, { id: `e1-test-${b}`, group: { batchSize: b } })
          const cooldown = Cooldown.fromSnapshot(cdMap, { profile })
          const r = selectBatchAndDistribute(subs, { currentWindow: 120, cooldown, profile })
          const ordered = [...subs].sort(
            (x, y) =>
              x.signedRound - y.signedRound ||
              (tiebreak(x) < tiebreak(y) ? -1 : tiebreak(x) > tiebreak(y) ? 1 : 0),
          )
          const expected: typeof subs = []
          for (const s of ordered) {
            if (expected.length >= b) break
            if (
              expected.some((e) => e.promptIdx === s.promptIdx) ||
              cooldown.isInCooldown(s.promptIdx, 120)
            )
              continue
            expected.push(s)
          }
          expect(r.batch).toEqual(expected)
          for (const hk of new Set(expected.map((s) => s.hotkey))) {
            expect(r.rewardsByHotkey.get(hk)).toBeCloseTo(
              (expected.filter((s) => s.hotkey === hk).length * profile.scoring.pool) / b,
              14,
            )
          }
          expect(r.burn).toBeCloseTo(((b - expected.length) * profile.scoring.pool) / b, 14)
        },
      ),
      { numRuns: 150 },
    )
  })

  it('needs signedRound under the E1 profile', () => {
    expectInvalid(() =>
      selectBatchAndDistribute([{ hotkey: 'x', promptIdx: 0, merkleRoot: 'ab', drandRound: 1 }], {
        currentWindow: 0,
        profile: e1,
      }),
    )
  })
})

describe('Cooldown', () => {
  it('is half-open: ineligible while current − W < N, eligible at W + N', () => {
    const cd = new Cooldown({ profile: e1 })
    const n = e1.window.cooldownWindows
    cd.record(7, 100)
    expect(cd.isInCooldown(7, 100)).toBe(true)
    expect(cd.isInCooldown(7, 100 + n - 1)).toBe(true)
    expect(cd.isInCooldown(7, 100 + n)).toBe(false)
    expect(cd.isInCooldown(8, 100)).toBe(false)
    expect(cd.inCooldown(100)).toEqual([7])
  })

  it('N = 0 disables it', () => {
    const cd = new Cooldown({ profile: profileWith(e3, 8, 0) })
    cd.record(1, 5)
    expect(cd.isInCooldown(1, 5)).toBe(false)
  })

  it('rebuilds from archives (latest window per prompt, expired windows skipped) and snapshots round-trip', () => {
    const cd = new Cooldown({ profile: e1 })
    cd.record(99, 1)
    cd.rebuildFromArchives(
      [
        { window_start: 140, batch: [{ prompt_idx: 3 }, { prompt_idx: 4 }] },
        { window_start: 120, batch: [{ prompt_idx: 3 }] },
        { window_start: 130, batch: [{ prompt_idx: 5 }] }, // 180 − 50: expired, skipped
        { window_start: 179 },
      ],
      180,
    )
    expect(cd.snapshot()).toEqual({ cooldownWindows: 50, lastBatched: { '3': 140, '4': 140 } })
    cd.applyArchives([{ window_start: 160, batch: [{ prompt_idx: 9 }] }], 180)
    const back = Cooldown.fromSnapshot(cd.snapshot(), { profile: e1 })
    expect(back.snapshot()).toEqual(cd.snapshot())
    expect(back.size).toBe(3)
  })

  it('rebuild then live recording equals recording live throughout', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 0, max: 30 }), { maxLength: 8 }), { maxLength: 80 }),
        (windows) => {
          const live = new Cooldown({ profile: e1 })
          windows.forEach((prompts, w) => {
            live.recordAll(prompts, w)
          })
          const rebuilt = new Cooldown({ profile: e1 })
          const current = windows.length
          rebuilt.rebuildFromArchives(
            windows.map((prompts, w) => ({
              window_start: w,
              batch: prompts.map((p) => ({ prompt_idx: p })),
            })),
            current,
          )
          for (let p = 0; p <= 30; p++)
            expect(rebuilt.isInCooldown(p, current)).toBe(live.isInCooldown(p, current))
        },
      ),
      { numRuns: 100 },
    )
  })

  it('rejects bad input', () => {
    const cd = new Cooldown()
    expectInvalid(() => cd.record(-1, 0))
    expectInvalid(() => cd.record(1, 0.5))
    expectInvalid(() => cd.isInCooldown(Number.NaN, 0))
    expectInvalid(() => Cooldown.fromSnapshot({ '01': 3 }))
    expectInvalid(() => Cooldown.fromSnapshot({ '1': -3 }))
    expectInvalid(() => cd.rebuildFromArchives([{ window_start: -1 }], 10))
    expectInvalid(() =>
      cd.rebuildFromArchives([{ window_start: 1, batch: [{ prompt_idx: 'x' as never }] }], 10),
    )
  })
})

describe('HashDedup', () => {
  const be32Hash = (tokens: number[]): string => {
    const b = Buffer.alloc(tokens.length * 4)
    tokens.forEach((t, i) => {
      b.writeUInt32BE(t, i * 4)
    })
    return createHash('sha256').update(b).digest('hex')
  }

  it('rolloutHash is SHA-256 over BE32 token ids', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: 50 }), (t) => {
        expect(rolloutHash(t)).toBe(be32Hash(t))
      }),
    )
    expectInvalid(() => rolloutHash([-1]))
    expectInvalid(() => rolloutHash([2 ** 32]))
  })

  it('remembers hashes with half-open retention and finds duplicates within and across groups', () => {
    const dedup = new HashDedup()
    const r = e3.window.hashDedupRetentionWindows
    const h1 = rolloutHash([1, 2, 3])
    const h2 = rolloutHash([4])
    dedup.add(h1, 10)
    expect(dedup.findDuplicate([h2, h1])).toBe(1)
    expect(dedup.findDuplicate([h2, h2])).toBe(1)
    expect(dedup.findDuplicate([h2])).toBe(-1)
    dedup.prune(10 + r - 1)
    expect(dedup.has(h1)).toBe(true)
    dedup.prune(10 + r)
    expect(dedup.has(h1)).toBe(false)
    const off = new HashDedup({ profile: e1 })
    off.add(h1, 1)
    off.prune(1)
    expect(off.size).toBe(0)
  })

  it('rebuilds from archives, checking stored hashes against tokens', () => {
    const dedup = new HashDedup()
    const tokens = [5, 6, 7]
    dedup.rebuildFromArchives(
      [
        {
          window_start: 3,
          batch: [
            { prompt_idx: 1, rollouts: [{ tokens, hash: rolloutHash(tokens) }, { tokens: [8] }] },
          ],
        },
      ],
      4,
    )
    expect(dedup.snapshot()).toEqual({ [rolloutHash(tokens)]: 3, [rolloutHash([8])]: 3 })
    expectInvalid(() =>
      dedup.rebuildFromArchives(
        [
          {
            window_start: 3,
            batch: [{ prompt_idx: 1, rollouts: [{ tokens, hash: rolloutHash([9]) }] }],
          },
        ],
        4,
      ),
    )
    expect(dedup.size).toBe(2) // unchanged after a failed rebuild
    expectInvalid(() => dedup.add('XYZ', 1))
  })
})
