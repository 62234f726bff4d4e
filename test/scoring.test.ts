import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { defineProfile, e1, e3 } from '../src/protocol/profiles.js'
import { pyRound } from '../src/_utils/pyMath.js'
import type { WindowArchive } from '../src/window/archive/windowArchive.js'
import { Cooldown } from '../src/window/seal/cooldown.js'
import {
  U16_MAX,
  convertWeightsAndUidsForEmit,
  emaToWeights,
} from '../src/window/scoring/emaToWeights.js'
import { replayEma } from '../src/window/scoring/replayEma.js'
import { updateEma } from '../src/window/scoring/updateEma.js'
import { selectBatchAndDistribute } from '../src/window/seal/selectBatchAndDistribute.js'
import { sectionCases } from './_vectors.js'
import { expectInvalid } from './_errors.js'

const HOTKEYS = ['5Ha', '5Hb', '5Hc', '5Hd', '5He', '5Hf', '5Hg']
const rewardsArb = fc.dictionary(
  fc.constantFrom(...HOTKEYS),
  fc.double({ min: 0, max: 1 / 7, noNaN: true }),
  { maxKeys: 7 },
)
const windowsArb = fc.array(rewardsArb, { maxLength: 60 })

describe('updateEma', () => {
  it('is α·share + (1 − α)·ema over every hotkey seen, pruning at emaPruneBelow', () => {
    const a = e3.scoring.emaAlpha
    const once = updateEma(new Map(), { x: 0.5 })
    expect(once.get('x')).toBe(a * 0.5 + (1 - a) * 0)
    const twice = updateEma(once, { y: 0.25 })
    expect(twice.get('x')).toBe(a * 0 + (1 - a) * once.get('x')!)
    expect(twice.get('y')).toBe(a * 0.25 + (1 - a) * 0)
    const tiny = updateEma(new Map([['z', e3.scoring.emaPruneBelow]]), {})
    expect(tiny.has('z')).toBe(false)
    expect([...updateEma({ b: 0.1, a: 0.1 }, {}).keys()]).toEqual(['a', 'b'])
  })

  it('rejects negative or non-finite values', () => {
    expectInvalid(() => updateEma({ x: -0.1 }, {}))
    expectInvalid(() => updateEma({}, { x: Number.NaN }))
    expectInvalid(() => updateEma(null as never, {}))
  })
})

describe('replayEma', () => {
  it('equals the live EMA, whatever order the archives are listed in', () => {
    fc.assert(
      fc.property(
        windowsArb.chain((ws) =>
          fc.tuple(
            fc.constant(ws),
            fc.shuffledSubarray(
              ws.map((_, i) => i),
              { minLength: ws.length, maxLength: ws.length },
            ),
          ),
        ),
        ([windows, order]) => {
          let live = new Map<string, number>()
          for (const r of windows) live = updateEma(live, r)
          const archives: WindowArchive[] = order.map((i) => ({
            window_start: 1000 + i,
            rewards_by_hotkey: windows[i]!,
          }))
          expect(replayEma(archives)).toEqual(live)
        },
      ),
      { numRuns: 150 },
    )
  })

  it('replays the selection of every reference window like live updates', () => {
    const selection = sectionCases('selection')
    let live = new Map<string, number>()
    const archives: WindowArchive[] = []
    selection.forEach(({ c }, i) => {
      const profile = defineProfile(e3, {
        id: `e3-replay-${i}`,
        group: { batchSize: c.b },
        window: { cooldownWindows: c.cooldown_windows },
      })
      const subs = (c.submissions as Record<string, any>[]).map((s) => ({
        hotkey: s.hotkey,
        promptIdx: s.prompt_idx,
        merkleRoot: s.merkle_root,
        drandRound: s.drand_round,
      }))
      const { rewardsByHotkey } = selectBatchAndDistribute(subs, {
        currentWindow: c.current_window,
        cooldown: Cooldown.fromSnapshot(c.cooldown, { profile }),
        profile,
      })
      live = updateEma(live, rewardsByHotkey)
      archives.push({ window_start: i, rewards_by_hotkey: Object.fromEntries(rewardsByHotkey) })
    })
    expect(replayEma(archives.reverse())).toEqual(live)
  })

  it('E1/E2 archives pay pool/B per batch entry; aborted windows are skipped; maxWindows keeps the latest', () => {
    const slot = e1.scoring.pool / e1.group.batchSize
    const e1Archive = {
      window_start: 5,
      batch: [
        { hotkey: 'a', prompt_idx: 1 },
        { hotkey: 'a', prompt_idx: 2 },
        { hotkey: 'b', prompt_idx: 3 },
      ],
    }
    expect(replayEma([e1Archive], { profile: e1 })).toEqual(
      updateEma(new Map(), { a: 2 * slot, b: slot }, { profile: e1 }),
    )
    expect(
      replayEma(
        [e1Archive, { window_start: 6, window_status: 'aborted', rewards_by_hotkey: { c: 1 } }],
        { profile: e1 },
      ).has('c'),
    ).toBe(false)
    const latest = replayEma(
      [
        { window_start: 1, rewards_by_hotkey: { old: 1 } },
        { window_start: 2, rewards_by_hotkey: { new: 1 } },
      ],
      { maxWindows: 1 },
    )
    expect([...latest.keys()]).toEqual(['new'])
    expectInvalid(() => replayEma([{ window_start: 1.5 }]))
    expectInvalid(() => replayEma([], { maxWindows: -1 }))
    expectInvalid(() =>
      replayEma([{ window_start: 1, batch: [{ prompt_idx: 1 }] }], { profile: e1 }),
    )
  })
})

describe('emaToWeights', () => {
  const uidMap = new Map(HOTKEYS.map((h, i) => [h, i + 1] as const))
  const uidOf = (h: string): number | undefined => uidMap.get(h)

  it('is deterministic: uids ascending, independent of the EMA insertion order', () => {
    fc.assert(
      fc.property(rewardsArb, (r) => {
        const ema = updateEma(new Map(), r)
        const reversed = new Map([...ema].reverse())
        const a = emaToWeights(ema, { uidOf })
        const b = emaToWeights(reversed, { uidOf })
        expect(b).toEqual(a)
        expect(a.uids).toEqual([...a.uids].sort((x, y) => x - y))
        expect(a.float.uids).toEqual([...a.float.uids].sort((x, y) => x - y))
      }),
      { numRuns: 150 },
    )
  })

  it('floats are the EMA plus burn = max(0, pool − Σ ema) at burnUid; the largest u16 is 65535', () => {
    fc.assert(
      fc.property(windowsArb, (windows) => {
        let ema = new Map<string, number>()
        for (const r of windows) ema = updateEma(ema, r)
        const w = emaToWeights(ema, { uidOf })
        const total = [...ema.values()].reduce((s, v) => s + v, 0)
        expect(Math.abs(w.burn - Math.max(0, e3.scoring.pool - total))).toBeLessThanOrEqual(1e-15)
        const i0 = w.float.uids.indexOf(e3.scoring.burnUid)
        if (w.burn > 0) expect(w.float.weights[i0]).toBe(w.burn)
        else expect(i0).toBe(-1)
        for (const [h, v] of ema) expect(w.float.weights[w.float.uids.indexOf(uidOf(h)!)]).toBe(v)
        expect(
          Math.abs(w.float.weights.reduce((s, v) => s + v, 0) - Math.max(total, e3.scoring.pool)),
        ).toBeLessThanOrEqual(1e-12)
        expect(Math.max(...w.weights)).toBe(U16_MAX)
        expect(w.weights.every((v) => Number.isInteger(v) && v > 0 && v <= U16_MAX)).toBe(true)
        expect(w.unregistered).toBe(0)
      }),
      { numRuns: 150 },
    )
  })

  it('E1–E3 drop unregistered mass; burnUnregistered burns it (HEAD)', () => {
    const ema = new Map([
      ['reg', 0.3],
      ['gone', 0.2],
    ])
    const only = (h: string): number | undefined => (h === 'reg' ? 4 : undefined)
    const legacy = emaToWeights(ema, { uidOf: only })
    expect(legacy.float).toEqual({ uids: [0, 4], weights: [e3.scoring.pool - (0.3 + 0.2), 0.3] })
    expect(legacy.unregistered).toBe(0.2)
    const head = emaToWeights(ema, { uidOf: only, burnUnregistered: true })
    expect(head.float).toEqual({ uids: [0, 4], weights: [e3.scoring.pool - 0.3, 0.3] })
    expect(head.burn).toBe(e3.scoring.pool - 0.3)
  })

  it('burn goes to profile.scoring.burnUid and merges with a miner on that uid', () => {
    const profile = defineProfile(e3, { id: 'burn-7', scoring: { burnUid: 7 } })
    const w = emaToWeights(new Map([['m', 0.25]]), { uidOf: () => 7, profile })
    expect(w.float).toEqual({ uids: [7], weights: [0.25 + 0.75] })
    expect(w).toMatchObject({ uids: [7], weights: [U16_MAX] })
  })

  it('rejects bad input', () => {
    expectInvalid(() => emaToWeights({ x: -1 }, { uidOf }))
    expectInvalid(() => emaToWeights({ [HOTKEYS[0]!]: 0.1 }, { uidOf: () => -1 }))
    expectInvalid(() => emaToWeights({ [HOTKEYS[0]!]: 0.1 }, { uidOf: () => 1.5 }))
    expectInvalid(() => emaToWeights({ [HOTKEYS[0]!]: 0.1 }, { uidOf: () => 70_000 }))
    expectInvalid(() => emaToWeights({}, {} as never))
  })
})

describe('convertWeightsAndUidsForEmit (Bittensor SDK)', () => {
  it('Python round() is half to even', () => {
    expect([0.5, 1.5, 2.5, 3.5, 2.4999999999999996, 65534.5].map(pyRound)).toEqual([
      0, 2, 2, 4, 2, 65534,
    ])
  })

  it('max-upscales float32 values, rounds, and drops zeros', () => {
    const out = convertWeightsAndUidsForEmit([0, 3, 9], [0.5, 1e-6, 0.25])
    expect(out.uids).toEqual([0, 9])
    expect(out.weights).toEqual([
      U16_MAX,
      pyRound((Math.fround(0.25) / Math.fround(0.5)) * U16_MAX),
    ])
    // float32 cast: 0.1 and 0.3 are not representable; the ratio is taken between the float32 values.
    const f = convertWeightsAndUidsForEmit([1, 2], [0.1, 0.3])
    expect(f.weights).toEqual([pyRound((Math.fround(0.1) / Math.fround(0.3)) * U16_MAX), U16_MAX])
    expect(convertWeightsAndUidsForEmit([1], [0])).toEqual({ uids: [], weights: [] })
    expectInvalid(() => convertWeightsAndUidsForEmit([1, 2], [0.5]))
    expectInvalid(() => convertWeightsAndUidsForEmit([-1], [0.5]))
    expectInvalid(() => convertWeightsAndUidsForEmit([1], [-0.5]))
  })
})
