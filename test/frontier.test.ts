import { describe, expect, test } from 'vitest'
import { fitLogistic, logistic } from '../src/miner/fitLogistic.js'
import { createFrontierPicker } from '../src/miner/frontier.js'
import type { PromptPicker } from '../src/miner/promptPicker.js'
import { uniformPicker } from '../src/miner/uniformPicker.js'
import {
  betaBinomialZoneProbability,
  binomialZoneProbability,
  zoneSuccessCounts,
} from '../src/miner/zoneProbability.js'
import { createRng } from '../src/_utils/rng.js'
import { defineProfile, e1 } from '../src/protocol/profiles.js'
import { groupSigma, isInZone } from '../src/reward/groups.js'
import { Cooldown, type CooldownView } from '../src/window/seal/cooldown.js'

const group = (k: number, m = 8): number[] => Array.from({ length: m }, (_, i) => (i < k ? 1 : 0))

describe('zone probabilities', () => {
  test('zone counts follow the protocol thresholds', () => {
    expect(zoneSuccessCounts(8)).toEqual([2, 3, 4, 5, 6])
    expect(zoneSuccessCounts(8, { bootstrap: true })).toEqual([1, 2, 3, 4, 5, 6, 7])
    expect(zoneSuccessCounts(1)).toEqual([])
  })

  test('binomial P(k ∈ zone | p)', () => {
    const z = zoneSuccessCounts(8)
    expect(binomialZoneProbability(0.5, 8, z)).toBeCloseTo(238 / 256, 12)
    expect(binomialZoneProbability(0, 8, z)).toBe(0)
    expect(binomialZoneProbability(1, 8, z)).toBe(0)
    expect(binomialZoneProbability(0.3, 8, z)).toBeCloseTo(binomialZoneProbability(0.7, 8, z), 12)
    // Peaks at 0.5 and falls off towards both ends.
    expect(binomialZoneProbability(0.5, 8, z)).toBeGreaterThan(binomialZoneProbability(0.3, 8, z))
    expect(binomialZoneProbability(0.3, 8, z)).toBeGreaterThan(binomialZoneProbability(0.1, 8, z))
    expect(() => binomialZoneProbability(1.5, 8, z)).toThrow(/INVALID_ARGUMENT/)
  })

  test('Beta-binomial predictive', () => {
    const z = zoneSuccessCounts(8)
    expect(betaBinomialZoneProbability(1, 1, 8, z)).toBeCloseTo(5 / 9, 12)
    let total = 0
    for (let k = 0; k <= 8; k++) total += betaBinomialZoneProbability(2.5, 0.7, 8, [k])
    expect(total).toBeCloseTo(1, 12)
    // A sharp posterior tends to the binomial at its mean.
    expect(betaBinomialZoneProbability(5e5, 5e5, 8, z)).toBeCloseTo(
      binomialZoneProbability(0.5, 8, z),
      4,
    )
    expect(() => betaBinomialZoneProbability(0, 1, 8, z)).toThrow(/INVALID_ARGUMENT/)
  })
})

describe('frontier picker', () => {
  test('prefers prompts whose estimated p is near 0.5', () => {
    const picker = createFrontierPicker({ size: 5, seed: 1, explore: 0 })
    const outcomes: Record<number, number> = { 0: 0, 1: 8, 2: 4, 3: 1, 4: 7 }
    for (let round = 0; round < 3; round++)
      for (const [p, k] of Object.entries(outcomes)) picker.observe(Number(p), group(k))
    const z = (p: number) => picker.estimate(p).zoneProbability
    expect(z(2)).toBeGreaterThan(z(3))
    expect(z(3)).toBeGreaterThan(z(0))
    expect(z(4)).toBeGreaterThan(z(1))
    expect(picker.estimate(2).mean).toBeCloseTo(0.5, 2)
    // predict() is the in-zone probability the miner logs with each group.
    expect(picker.predict(2)).toBe(z(2))
    expect(picker.predict(0)).toBeLessThan(picker.predict(3))
    expect(() => picker.predict(5)).toThrow(/promptIdx/)
    expect(picker.pickPrompts(1)).toEqual([2])
    const next = picker.pickPrompts(2).sort()
    expect(next).toEqual([3, 4])
    // Dead prompts come last.
    expect(picker.pickPrompts(5).sort()).toEqual([0, 1])
  })

  test('the point estimator ranks the same way', () => {
    const picker = createFrontierPicker({ size: 3, seed: 1, explore: 0, estimator: 'point' })
    picker.observe(0, group(0))
    picker.observe(1, group(4))
    picker.observe(2, group(8))
    expect(picker.estimate(1).zoneProbability).toBeCloseTo(
      binomialZoneProbability(picker.estimate(1).mean, 8, picker.zoneCounts),
      12,
    )
    expect(picker.pickPrompts(1)).toEqual([1])
  })

  test('unseen prompts rank below known frontier prompts and above known dead ones with a pooled prior', () => {
    const picker = createFrontierPicker({ size: 50, seed: 3, explore: 0 })
    for (let p = 0; p < 10; p++) picker.observe(p, group(p === 7 ? 4 : 0))
    const unseen = picker.estimate(20).zoneProbability
    expect(picker.estimate(7).zoneProbability).toBeGreaterThan(unseen)
    expect(picker.estimate(0).zoneProbability).toBeLessThan(unseen)
    const picks = picker.pickPrompts(4)
    expect(picks[0]).toBe(7)
    for (const p of picks.slice(1)) expect(p).toBeGreaterThanOrEqual(10)
  })

  test('skips cooldown prompts, in-flight prompts and exclusions', () => {
    const cooldown = new Cooldown({ profile: e1 })
    cooldown.record(2, 10)
    const picker = createFrontierPicker({ size: 6, seed: 5, explore: 0, cooldown })
    for (let p = 0; p < 6; p++) picker.observe(p, group(4))
    const first = picker.pickPrompts(2, { window: 11, exclude: [3] })
    expect(first).not.toContain(2)
    expect(first).not.toContain(3)
    expect(picker.inFlight()).toEqual([...first].sort((a, b) => a - b))
    const second = picker.pickPrompts(10, { window: 11, exclude: [3] })
    expect(new Set([...first, ...second]).size).toBe(first.length + second.length)
    expect([...first, ...second].sort()).toEqual([0, 1, 4, 5])
    expect(picker.pickPrompts(1, { window: 11, exclude: [3] })).toEqual([])
    // Cooldown ends at W + 50; observing or releasing ends the in-flight state.
    picker.observe(first[0]!, group(3))
    picker.release(first[1]!)
    expect(picker.pickPrompts(10, { window: 60 }).sort()).toEqual(
      [2, 3, first[0]!, first[1]!].sort(),
    )
    // Without a window the cooldown is not consulted; a per-call cooldown overrides the option.
    const none: CooldownView = { isInCooldown: () => true }
    const other = createFrontierPicker({ size: 3, seed: 1, cooldown: none })
    expect(other.pickPrompts(3, { window: 1 })).toEqual([])
    expect(
      other.pickPrompts(3, { window: 1, cooldown: { isInCooldown: () => false } }),
    ).toHaveLength(3)
  })

  test('uniform picker honours the same eligibility rules', () => {
    const cooldown = new Cooldown({ profile: e1 })
    cooldown.record(1, 0)
    const picker = uniformPicker({ size: 4, seed: 9, cooldown })
    const picks = picker.pickPrompts(10, { window: 5 })
    expect(picks.sort()).toEqual([0, 2, 3])
    expect(picker.pickPrompts(1, { window: 5 })).toEqual([])
    picker.observe(2, group(1))
    expect(picker.pickPrompts(3, { window: 5 })).toEqual([2])
  })

  test('is deterministic for a seed', () => {
    const run = (seed: number) => {
      const picker = createFrontierPicker({ size: 1000, seed })
      const seq: number[] = []
      for (let w = 0; w < 20; w++) {
        const ps = picker.pickPrompts(4)
        seq.push(...ps)
        for (const p of ps) picker.observe(p, group(p % 9))
      }
      return seq
    }
    expect(run(4)).toEqual(run(4))
    expect(run(4)).not.toEqual(run(5))
  })

  test('rejects bad arguments', () => {
    expect(() => createFrontierPicker({ size: 0 })).toThrow(/INVALID_ARGUMENT/)
    expect(() => createFrontierPicker({ size: 4, decay: 0 })).toThrow(/INVALID_ARGUMENT/)
    expect(() => createFrontierPicker({ size: 4, priorMean: 1 })).toThrow(/INVALID_ARGUMENT/)
    const picker = createFrontierPicker({ size: 4 })
    expect(() => picker.observe(4, group(1))).toThrow(/INVALID_ARGUMENT/)
    expect(() => picker.observe(0, [])).toThrow(/INVALID_ARGUMENT/)
    expect(() => picker.pickPrompts(-1)).toThrow(/INVALID_ARGUMENT/)
  })
})

/**
 * Simulated market: `size` prompts with fixed true success rates (most dead, some always solved,
 * a band in between); each window the miner picks `perWindow` prompts, draws k ~ Binomial(M, p),
 * and an in-zone group is "accepted" and puts its prompt in cooldown. Returns the zone hit-rate.
 */
function simulate(
  makePicker: (cooldown: Cooldown) => PromptPicker,
  opts: { windows: number; seed: number; bootstrap?: boolean },
): number {
  const size = 400
  const rng = createRng(opts.seed)
  const trueP = Array.from({ length: size }, () => {
    const u = rng()
    if (u < 0.55) return rng() * 0.03
    if (u < 0.7) return 0.97 + rng() * 0.03
    return 0.1 + rng() * 0.8
  })
  const profile = defineProfile(e1, { id: 'sim', window: { cooldownWindows: 30 } })
  const cooldown = new Cooldown({ profile })
  const picker = makePicker(cooldown)
  let hits = 0
  let groups = 0
  for (let w = 0; w < opts.windows; w++) {
    for (const p of picker.pickPrompts(8, { window: w })) {
      const rewards = Array.from({ length: 8 }, () => (rng() < trueP[p]! ? 1 : 0))
      groups++
      if (isInZone(groupSigma(rewards), { bootstrap: opts.bootstrap ?? false })) {
        hits++
        cooldown.record(p, w)
      }
      picker.observe(p, rewards)
    }
  }
  return hits / groups
}

test('simulated Bernoulli prompts: the frontier picker beats uniform on zone hit-rate', () => {
  for (const seed of [1, 2, 3]) {
    const frontier = simulate((cooldown) => createFrontierPicker({ size: 400, seed, cooldown }), {
      windows: 300,
      seed,
    })
    const uniform = simulate((cooldown) => uniformPicker({ size: 400, seed, cooldown }), {
      windows: 300,
      seed,
    })
    expect(frontier).toBeGreaterThan(uniform + 0.2)
    expect(uniform).toBeLessThan(0.35)
  }
  const frontierBoot = simulate(
    (cooldown) => createFrontierPicker({ size: 400, seed: 7, cooldown, bootstrap: true }),
    { windows: 200, seed: 7, bootstrap: true },
  )
  const uniformBoot = simulate((cooldown) => uniformPicker({ size: 400, seed: 7, cooldown }), {
    windows: 200,
    seed: 7,
    bootstrap: true,
  })
  expect(frontierBoot).toBeGreaterThan(uniformBoot + 0.15)
})

describe('duplicate groups', () => {
  test('a duplicate lowers only the usable probability, and the picker prefers the usable prompt', () => {
    const picker = createFrontierPicker({ size: 10, seed: 3, explore: 0 })
    expect(picker.estimate(0).usableProbability).toBe(1)
    picker.observe(0, group(4))
    picker.observe(1, group(4), { duplicate: true })
    const [a, b] = [picker.estimate(0), picker.estimate(1)]
    expect(b.zoneProbability).toBe(a.zoneProbability)
    expect(b.usableProbability).toBeLessThan(a.usableProbability)
    expect(b.score).toBeCloseTo(b.zoneProbability * b.usableProbability, 12)
    expect(picker.pickPrompts(1)).toEqual([0])
    // Without any duplicate, scores are the zone probabilities (the picker ranks as before).
    const plain = createFrontierPicker({ size: 10, seed: 3 })
    plain.observe(0, group(4), { duplicate: false })
    expect(plain.estimate(0).score).toBe(plain.estimate(0).zoneProbability)
    expect(() => picker.observe(2, group(1), { duplicate: 1 as never })).toThrow(/INVALID_ARGUMENT/)
    expect(() => uniformPicker({ size: 3 }).observe(0, group(1), null as never)).toThrow(
      /INVALID_ARGUMENT/,
    )
  })

  test('a group is given up once its kept completions carry the give-up mass, and counts as not sent', () => {
    const picker = createFrontierPicker({ size: 10, seed: 3, explore: 0, giveUpMass: 0.6 })
    const progress = (seenMass: number) => ({
      rewards: [1],
      rolloutsPerGroup: 8,
      seenMass,
      repeats: 0,
    })
    expect(picker.keepGenerating(0, progress(0.59))).toBe(true)
    expect(picker.keepGenerating(0, progress(0.6))).toBe(false)
    expect(
      createFrontierPicker({ size: 10, giveUpMass: Infinity }).keepGenerating(0, progress(1)),
    ).toBe(true)
    expect(() => createFrontierPicker({ size: 10, giveUpMass: 0 })).toThrow(/INVALID_ARGUMENT/)
    expect(uniformPicker({ size: 10 }).keepGenerating).toBeUndefined()
    picker.observe(0, group(4))
    picker.observe(1, group(4), { givenUp: true })
    expect(picker.estimate(1).usableProbability).toBeLessThan(picker.estimate(0).usableProbability)
  })

  /**
   * The demo's trap: some in-band prompts give groups whose rollouts keep repeating (never
   * submitted, so never in cooldown, while their partial rewards look in the zone). Returns the
   * rate of admissible groups (in the zone and not duplicate).
   */
  function simulateTraps(picker: PromptPicker, seed: number, tell: boolean): number {
    const size = 200
    const rng = createRng(seed + 100)
    const trueP = Array.from({ length: size }, () =>
      rng() < 0.5 ? rng() * 0.03 : 0.2 + rng() * 0.6,
    )
    const trap = Array.from({ length: size }, () => rng() < 0.3)
    const profile = defineProfile(e1, { id: 'sim', window: { cooldownWindows: 1_000_000 } })
    const cooldown = new Cooldown({ profile })
    let ok = 0
    let groups = 0
    for (let w = 0; w < 120; w++) {
      for (const p of picker.pickPrompts(4, { window: w, cooldown })) {
        const rewards = Array.from({ length: 8 }, () => (rng() < trueP[p]! ? 1 : 0))
        const duplicate = trap[p]! && rng() < 0.95
        groups++
        if (!duplicate && isInZone(groupSigma(rewards), { bootstrap: true })) {
          ok++
          if (rng() < 0.5) cooldown.record(p, w) // won by someone: one-shot cooldown
        }
        picker.observe(p, duplicate ? rewards.slice(0, 5) : rewards, tell ? { duplicate } : {})
      }
    }
    return ok / groups
  }

  test('simulated duplicate traps: told about duplicates, the frontier picker avoids them', () => {
    let toldSum = 0
    let uniformSum = 0
    for (const seed of [1, 2, 3]) {
      const make = () => createFrontierPicker({ size: 200, seed, bootstrap: true })
      const told = simulateTraps(make(), seed, true)
      const blind = simulateTraps(make(), seed, false)
      const uniform = simulateTraps(uniformPicker({ size: 200, seed }), seed, true)
      // Blind, it keeps returning to the traps and falls below uniform (0.09-0.19 vs 0.24-0.27).
      expect(told).toBeGreaterThan(blind + 0.05)
      toldSum += told
      uniformSum += uniform
    }
    expect(toldSum).toBeGreaterThan(uniformSum)
  })
})

describe('prompt features', () => {
  test('fitLogistic: an intercept-only fit is the log-odds of the mean (3 of 4 → ln 3)', () => {
    const [w0] = fitLogistic([[1], [1], [1], [1]], [1, 1, 1, 0])
    expect(w0).toBeCloseTo(Math.log(3), 6)
    // A feature that separates the outcomes gets a positive weight; ridge keeps it finite.
    const w = fitLogistic(
      [
        [1, 0],
        [1, 0],
        [1, 1],
        [1, 1],
      ],
      [0, 0, 1, 1],
    )
    expect(w[1]).toBeGreaterThan(0.5)
    expect(Number.isFinite(w[1])).toBe(true)
    expect(logistic(w, [1, 1])).toBeGreaterThan(logistic(w, [1, 0]))
  })

  test('with promptFeatures the picker learns which unseen prompts tend to be admissible', () => {
    // Odd prompts land in the zone, even ones never do; the feature is the parity.
    const inZone = [1, 0, 1, 0, 1, 0, 0, 0]
    const dead = [0, 0, 0, 0, 0, 0, 0, 0]
    const oddPicks = (promptFeatures?: (i: number) => number[]): number => {
      const picker = createFrontierPicker({
        size: 400,
        seed: 3,
        bootstrap: true,
        explore: 0,
        promptFeatures,
      })
      let odd = 0
      // Every picked prompt is excluded afterwards, as a won prompt's cooldown would: only
      // unseen prompts are left to choose from.
      const picked: number[] = []
      for (let i = 0; i < 50; i++) {
        const [p] = picker.pickPrompts(1, { exclude: picked })
        picked.push(p!)
        if (i >= 10 && p! % 2 === 1) odd++
        picker.observe(p!, p! % 2 === 1 ? inZone : dead)
      }
      return odd
    }
    expect(oddPicks((i) => [i % 2])).toBe(40)
    // Without features every unseen prompt looks the same: about half are odd.
    const blind = oddPicks()
    expect(blind).toBeGreaterThan(8)
    expect(blind).toBeLessThan(32)
    expect(() =>
      createFrontierPicker({ size: 4, promptFeatures: 3 as unknown as () => number[] }),
    ).toThrow(/promptFeatures/)
    expect(() => createFrontierPicker({ size: 4, featureCandidates: 0 })).toThrow(
      /featureCandidates/,
    )
  })
})
