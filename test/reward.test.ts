import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { defineProfile, e3 } from '../src/protocol/profiles.js'
import { createMathEnvironment, problemId } from '../src/reward/environment.js'
import {
  extractBoxedAnswer,
  lastBoxedOnlyString,
  stripBoxedWrapper,
} from '../src/reward/extractBoxedAnswer.js'
import { groupAdvantages, groupSigma, isBootstrapWindow, isInZone } from '../src/reward/groups.js'
import { mathReward } from '../src/reward/mathReward.js'
import { normalizeMathAnswer, normalizeOmiAnswer } from '../src/reward/normalizeMathAnswer.js'
import { omiReward } from '../src/reward/omiReward.js'
import { sectionCases, vnum } from './_vectors.js'
import { expectInvalid } from './_errors.js'

const TOL = 1e-12

/** CPython < 3.12 sums floats naively, 3.12+ with compensation: σ is bit-exact only against a 3.12+ reference. */
function compensatedSumReference(doc: Record<string, any>): boolean {
  const m = /^(\d+)\.(\d+)/.exec(String(doc.meta?.python ?? '3.12'))
  return m === null || Number(m[1]) > 3 || (Number(m[1]) === 3 && Number(m[2]) >= 12)
}

describe('reference vectors', () => {
  const math = sectionCases('math_reward')
  const groups = sectionCases('groups')
  const omi = sectionCases('omi_reward')

  it.runIf(math.length > 0)(
    `math_reward: every case (${math.length}) matches the reference`,
    () => {
      const bad = math.filter(
        ({ c }) => mathReward(c.completion, c.ground_truth) !== vnum(c.reward),
      )
      expect(bad.map(({ file, index }) => `${file}#${index}`)).toEqual([])
    },
  )

  it.runIf(omi.length > 0)(`omi_reward: every case (${omi.length}) matches the reference`, () => {
    const bad = omi.filter(({ c }) => omiReward(c.completion, c.ground_truth) !== vnum(c.reward))
    expect(bad.map(({ file, index }) => `${file}#${index}`)).toEqual([])
  })

  it.runIf(groups.length > 0)(
    `groups: σ, zones and advantages of every case (${groups.length}) match the reference`,
    () => {
      for (const { file, index, c, doc } of groups) {
        const where = `${file}#${index}`
        const rewards = (c.rewards as unknown[]).map(vnum)
        const sigma = groupSigma(rewards)
        if (compensatedSumReference(doc)) expect(sigma, where).toBe(vnum(c.sigma))
        else expect(Math.abs(sigma - vnum(c.sigma)), where).toBeLessThanOrEqual(TOL)
        expect(isInZone(sigma), where).toBe(c.in_zone)
        expect(isInZone(sigma, { bootstrap: true }), where).toBe(c.in_zone_bootstrap)
        const adv = groupAdvantages(rewards)
        const ref = (c.advantages as unknown[]).map(vnum)
        expect(adv.length, where).toBe(ref.length)
        adv.forEach((a, j) => {
          expect(Math.abs(a - ref[j]!), `${where} advantage ${j}`).toBeLessThanOrEqual(TOL)
        })
      }
    },
  )
})

describe('boxed extraction', () => {
  it('takes the later of the last \\boxed{ and the last \\fbox{, balancing braces', () => {
    expect(lastBoxedOnlyString('a \\fbox{1} b \\boxed{\\frac{1}{2}} c')).toBe(
      '\\boxed{\\frac{1}{2}}',
    )
    expect(lastBoxedOnlyString('a \\boxed{1} b \\fbox{2}')).toBe('\\fbox{2}')
    expect(extractBoxedAnswer('\\boxed{\\boxed{7}}')).toBe('7')
    expect(extractBoxedAnswer('\\boxed{1} and \\boxed{2')).toBeNull()
    expect(extractBoxedAnswer('\\boxed 7')).toBeNull()
    expect(extractBoxedAnswer('no answer')).toBeNull()
  })

  it('strips exactly one wrapper and only when it closes at the end', () => {
    expect(stripBoxedWrapper('\\boxed{\\boxed{7}}')).toBe('\\boxed{7}')
    expect(stripBoxedWrapper('\\boxed{7} ')).toBe('\\boxed{7} ')
    expect(stripBoxedWrapper('7')).toBe('7')
  })
})

describe('normalisation follows Python semantics', () => {
  it('applies the reference steps in order', () => {
    expect(normalizeMathAnswer('\\left( 1 ,\\; 2 \\right)')).toBe('(1,2)')
    expect(normalizeMathAnswer('\\tfrac{1}{2}')).toBe('\\frac{1}{2}')
    expect(normalizeMathAnswer('\\text{ odd }')).toBe('odd')
    expect(normalizeMathAnswer('\\$ 10 .')).toBe('10')
    expect(normalizeMathAnswer('3. .')).toBe('3.') // strip, rstrip('.'), strip: the inner dot survives
  })

  it('uses CPython whitespace, not JS whitespace', () => {
    // U+001C..U+001F and U+0085 are whitespace to Python only; U+FEFF to JS only.
    expect(normalizeMathAnswer('\x1c5\x85')).toBe('5')
    expect(normalizeMathAnswer('\u00a05\u3000')).toBe('5')
    expect(normalizeMathAnswer('\ufeff5')).toBe('\ufeff5')
    expect(mathReward('\\boxed{\x1f42\x1f}', '42')).toBe(1)
    expect(mathReward('\\boxed{\ufeff42}', '42')).toBe(0)
  })

  it('OMI: leading plus, trailing zero decimals, Unicode digits', () => {
    expect(normalizeOmiAnswer('+5')).toBe('5')
    expect(normalizeOmiAnswer('+')).toBe('+')
    expect(normalizeOmiAnswer('-3.000')).toBe('-3')
    expect(normalizeOmiAnswer('3.10')).toBe('3.10')
    expect(normalizeOmiAnswer('\u0663.0')).toBe('\u0663') // Arabic-Indic 3: Python \d matches it
  })
})

describe('mathReward / omiReward', () => {
  it('never rewards an empty normalised ground truth', () => {
    expect(mathReward('\\boxed{}', '')).toBe(0)
    expect(mathReward('\\boxed{$ $}', '$$')).toBe(0)
    expect(omiReward('\\boxed{}', ' ')).toBe(0)
  })

  it('OMI falls back to a leading number on the last line only when there is no box', () => {
    expect(omiReward('blah\n  7/8 apples  ', '7/8')).toBe(1)
    expect(omiReward('7\nthe answer', '7')).toBe(0)
    expect(omiReward('\\boxed{3}\n12', '12')).toBe(0)
    expect(omiReward('so\r\n12', '12')).toBe(1)
    expect(omiReward('x\n\u0661\u0662', '\u0661\u0662')).toBe(1)
  })

  it('OMI compares strings, not values (E3 rule)', () => {
    expect(omiReward('\\boxed{1/2}', '0.5')).toBe(0)
    expect(omiReward('\\boxed{\\dfrac{1}{2}}', '\\frac{1}{2}')).toBe(1)
  })

  it('reports wrongly typed calls', () => {
    expectInvalid(() => mathReward(undefined as unknown as string, '1'))
    expectInvalid(() => mathReward('1', 1 as unknown as string))
    expectInvalid(() => omiReward(null as unknown as string, '1'))
    expectInvalid(() => normalizeMathAnswer(3 as unknown as string))
    expectInvalid(() => extractBoxedAnswer({} as unknown as string))
  })

  it('property: a completion boxing the ground truth is rewarded iff the ground truth normalises to non-empty', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 20 }).filter((s) => !s.includes('{') && !s.includes('}')),
        (gt) => {
          expect(mathReward(`So \\boxed{${gt}}.`, gt)).toBe(normalizeMathAnswer(gt) === '' ? 0 : 1)
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('groups', () => {
  it('σ is the population std and 0 below two rewards', () => {
    expect(groupSigma([])).toBe(0)
    expect(groupSigma([0.7])).toBe(0)
    expect(groupSigma([1, 0])).toBe(0.5)
  })

  it('zone thresholds come from the profile', () => {
    const k2 = groupSigma([1, 1, 0, 0, 0, 0, 0, 0])
    const k1 = groupSigma([1, 0, 0, 0, 0, 0, 0, 0])
    expect(isInZone(k2)).toBe(true)
    expect(isInZone(k1)).toBe(false)
    expect(isInZone(k1, { bootstrap: true })).toBe(true)
    expect(isInZone(0, { bootstrap: true })).toBe(false)
    const strict = defineProfile(e3, { id: 'strict', group: { sigmaMin: 0.45 } })
    expect(isInZone(k2, { profile: strict })).toBe(false)
    expectInvalid(() => isInZone(Number.NaN))
    expectInvalid(() => isInZone(-1))
  })

  it('bootstrap is 0 ≤ window − start < bootstrapWindows', () => {
    expect(isBootstrapWindow(0)).toBe(true)
    expect(isBootstrapWindow(e3.group.bootstrapWindows - 1)).toBe(true)
    expect(isBootstrapWindow(e3.group.bootstrapWindows)).toBe(false)
    expect(isBootstrapWindow(5, { subnetStart: 10 })).toBe(false)
    expect(isBootstrapWindow(10, { subnetStart: 10 })).toBe(true)
    expectInvalid(() => isBootstrapWindow(1.5))
  })

  it('advantages: zeros for zero variance, empty for an empty group', () => {
    expect(groupAdvantages([])).toEqual([])
    expect(groupAdvantages([0.3, 0.3, 0.3])).toEqual([0, 0, 0])
    expectInvalid(() => groupAdvantages([1, Number.NaN]))
    expectInvalid(() => groupSigma('x' as unknown as number[]))
  })

  it('property: advantages have mean 0 and population std 1, or are all zero', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -10, max: 10, noNaN: true }), { minLength: 1, maxLength: 32 }),
        (rewards) => {
          const adv = groupAdvantages(rewards)
          expect(adv).toHaveLength(rewards.length)
          const sigma = groupSigma(rewards)
          if (rewards.length < 2 || sigma < e3.group.sigmaEpsilon) {
            expect(adv.every((a) => a === 0)).toBe(true)
            return
          }
          const mean = adv.reduce((s, a) => s + a, 0) / adv.length
          const std = Math.sqrt(adv.reduce((s, a) => s + (a - mean) ** 2, 0) / adv.length)
          expect(Math.abs(mean)).toBeLessThan(1e-9)
          expect(Math.abs(std - 1)).toBeLessThan(1e-6)
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('createMathEnvironment', () => {
  const env = createMathEnvironment()

  it('serves the bundled set with reference-style ids and ground truths', () => {
    expect(env.id).toBe('math')
    expect(env.size).toBe(40)
    for (let i = 0; i < env.size; i++) {
      const p = env.getProblem(i)
      expect(p.id).toBe(createHash('sha256').update(p.prompt, 'utf8').digest('hex').slice(0, 16))
      expect(p.groundTruth).not.toBe('')
      expect(env.computeReward(p, `Reasoning... the answer is $\\boxed{${p.groundTruth}}$.`)).toBe(
        1,
      )
      expect(env.computeReward(p, 'I give up.')).toBe(0)
    }
  })

  it('wraps indices like Python `index % len`', () => {
    expect(env.getProblem(env.size + 3)).toBe(env.getProblem(3))
    expect(env.getProblem(-1)).toBe(env.getProblem(env.size - 1))
    expectInvalid(() => env.getProblem(1.5))
  })

  it('accepts a caller-provided set and validates it', () => {
    const custom = createMathEnvironment({
      problems: [
        { problem: 'p', solution: 'x \\fbox{\\frac{1}{2}}' },
        { problem: 'q', solution: 'no box' },
      ],
    })
    expect(custom.getProblem(0).groundTruth).toBe('\\frac{1}{2}')
    expect(custom.getProblem(1).groundTruth).toBe('')
    expect(custom.computeReward(custom.getProblem(1), '\\boxed{}')).toBe(0)
    expect(problemId('p')).toHaveLength(16)
    expectInvalid(() => createMathEnvironment({ problems: [] }))
    expectInvalid(() => createMathEnvironment({ problems: [{ problem: 1 } as never] }))
  })
})
