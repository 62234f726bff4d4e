import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import fc from 'fast-check'
import {
  createTargetTokenEnvironment,
  DEFAULT_TARGET_ALPHABET,
  isTargetRewardDecided,
  parseTargetRule,
  targetReward,
} from '../src/demo/environment.js'
import { loadTokenizer } from '../src/model/loadTokenizer.js'
import { problemId } from '../src/reward/environment.js'

const TINY = join(import.meta.dirname, 'fixtures', 'reference', 'qwen3-tiny-s0')

describe('target-token environment', () => {
  test('is deterministic for a seed and spreads difficulty', () => {
    const a = createTargetTokenEnvironment({ seed: 3, size: 64 })
    const b = createTargetTokenEnvironment({ seed: 3, size: 64 })
    const c = createTargetTokenEnvironment({ seed: 4, size: 64 })
    expect(a.id).toBe('target-token')
    expect(a.size).toBe(64)
    for (let i = 0; i < 64; i++) expect(a.getProblem(i)).toEqual(b.getProblem(i))
    expect(a.getProblem(0)).not.toEqual(c.getProblem(0))
    // A larger set keeps the prefix.
    expect(createTargetTokenEnvironment({ seed: 3, size: 100 }).getProblem(63)).toEqual(
      a.getProblem(63),
    )
    const rules = Array.from({ length: 64 }, (_, i) => parseTargetRule(a.getProblem(i).groundTruth))
    const sizes = new Set(rules.map((r) => r.targets.length))
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(2)
    expect(Math.max(...sizes)).toBeLessThanOrEqual(16)
    expect(sizes.size).toBeGreaterThan(8)
    expect(new Set(rules.map((r) => r.window))).toEqual(new Set([8, 24, 64]))
    for (const r of rules) for (const ch of r.targets) expect(DEFAULT_TARGET_ALPHABET).toContain(ch)
    // Distinct prompts, ids as the protocol computes them, indices wrap like the reference.
    const problems = Array.from({ length: 64 }, (_, i) => a.getProblem(i))
    expect(new Set(problems.map((p) => p.id)).size).toBe(64)
    for (const p of problems) expect(p.id).toBe(problemId(p.prompt))
    expect(a.getProblem(64)).toBe(a.getProblem(0))
    expect(a.getProblem(-1)).toBe(a.getProblem(63))
    expect(() => a.getProblem(1.5)).toThrow(/INVALID_ARGUMENT/)
  })

  test('prompts round-trip through the tiny tokenizer exactly', async () => {
    const tok = await loadTokenizer(TINY)
    const env = createTargetTokenEnvironment({ tokenizer: tok, vocabSize: 459, seed: 0, size: 512 })
    for (let i = 0; i < env.size; i++) {
      const { prompt } = env.getProblem(i)
      const ids = tok.encode(prompt)
      expect(tok.decode(ids)).toBe(prompt)
      expect(tok.encode(tok.decode(ids))).toEqual(ids)
    }
    // A tokenizer that does not round-trip is refused.
    const lossy = {
      encode: (t: string) => tok.encode(t),
      decode: (ids: readonly number[]) => tok.decode(ids).toUpperCase(),
    }
    expect(() => createTargetTokenEnvironment({ tokenizer: lossy, size: 4 })).toThrow(/round-trip/)
    expect(() => createTargetTokenEnvironment({ tokenizer: tok, vocabSize: 50, size: 4 })).toThrow(
      /vocabSize/,
    )
  })

  test('rewards come from the completion text only', () => {
    const env = createTargetTokenEnvironment({ size: 8 })
    const p = env.getProblem(0)
    const { targets, window } = parseTargetRule(p.groundTruth)
    const miss = '\u0015'.repeat(window)
    expect(env.computeReward(p, '')).toBe(0)
    expect(env.computeReward(p, miss + targets[0])).toBe(0) // just past the window
    expect(env.computeReward(p, miss.slice(1) + targets[0])).toBe(1) // last position of the window
    expect(env.computeReward(p, `${targets.at(-1)}`)).toBe(1)
    // Special-token markup does not count and does not use up the window.
    expect(env.computeReward(p, '<|endoftext|>'.repeat(3))).toBe(0)
    expect(env.computeReward(p, `<|im_end|>${miss.slice(1)}${targets[0]}`)).toBe(1)
    // Windows count code points, not UTF-16 units.
    expect(targetReward({ targets: 'x', window: 2 }, '😀x')).toBe(1)
    expect(targetReward({ targets: 'x', window: 1 }, '😀x')).toBe(0)
    expect(() => env.computeReward({ prompt: 'q', groundTruth: '42', id: 'x' }, 'a')).toThrow(
      /INVALID_ARGUMENT/,
    )
    expect(() => targetReward({ targets: 'aa', window: 3 }, 'a')).toThrow(/INVALID_ARGUMENT/)
  })

  test('rejects bad options', () => {
    expect(() => createTargetTokenEnvironment({ size: 0 })).toThrow(/INVALID_ARGUMENT/)
    expect(() => createTargetTokenEnvironment({ alphabet: 'aab' })).toThrow(/INVALID_ARGUMENT/)
    expect(() => createTargetTokenEnvironment({ alphabet: 'ab c' })).toThrow(/INVALID_ARGUMENT/)
    expect(() => createTargetTokenEnvironment({ alphabet: 'abc', maxTargets: 4 })).toThrow(
      /INVALID_ARGUMENT/,
    )
    expect(() => createTargetTokenEnvironment({ minTargets: 5, maxTargets: 4 })).toThrow(
      /INVALID_ARGUMENT/,
    )
    expect(() => createTargetTokenEnvironment({ windows: [] })).toThrow(/INVALID_ARGUMENT/)
    expect(() => createTargetTokenEnvironment({ windows: [0] })).toThrow(/INVALID_ARGUMENT/)
    expect(() => createTargetTokenEnvironment({ seed: 0.5 })).toThrow(/INVALID_ARGUMENT/)
  })
})

describe('isTargetRewardDecided', () => {
  test('decided by a hit inside the window or a full window; undecided while either could change', () => {
    const rule = { targets: 'xQ', window: 5 }
    expect(isTargetRewardDecided(rule, '')).toBe(false)
    expect(isTargetRewardDecided(rule, 'abx')).toBe(true)
    expect(isTargetRewardDecided(rule, 'abcd')).toBe(false)
    expect(isTargetRewardDecided(rule, 'abcde')).toBe(true)
    expect(isTargetRewardDecided(rule, 'abcdex')).toBe(true)
    // Markup is removed before counting; its unterminated start and replacement characters may still change.
    expect(isTargetRewardDecided(rule, 'ab<|endoftext|>cd')).toBe(false)
    expect(isTargetRewardDecided(rule, 'abcd<|endo')).toBe(false)
    expect(isTargetRewardDecided(rule, 'abcd\uFFFD')).toBe(false)
    expect(isTargetRewardDecided(rule, 'abcd<')).toBe(false)
  })

  test('once decided, no continuation changes the reward (property)', () => {
    const piece = fc.oneof(
      fc.constantFrom(
        'x',
        'Q',
        'a',
        ' ',
        '<|endoftext|>',
        '<|im_end|>',
        '<|',
        '|>',
        '<',
        'endo',
        'ftext',
        '\uFFFD',
      ),
      fc.string({ maxLength: 3 }),
    )
    const text = fc.array(piece, { maxLength: 8 }).map((a) => a.join(''))
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), text, text, text, (window, prefix, e1, e2) => {
        const rule = { targets: 'xQ', window }
        if (!isTargetRewardDecided(rule, prefix)) return true
        return (
          targetReward(rule, prefix + e1) === targetReward(rule, prefix + e2) &&
          targetReward(rule, prefix + e1) === targetReward(rule, prefix)
        )
      }),
      { numRuns: 3000 },
    )
  })
})
