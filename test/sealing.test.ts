// E3 seal rule and sealing (docs/protocol.md §5.1-§5.3): the trigger round, the boundary + grace
// schedule, selection/cooldown/dedup bookkeeping, order independence within a round, the E1 rule,
// the window state machine, and the window archive (§3.7) writer and reader.
import { gunzipSync, gzipSync } from 'node:zlib'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { drandRoundAt, drandRoundTime } from '../src/drand/round.js'
import { isReliquaryError } from '../src/errors/base.js'
import { defineProfile, e1, e3 } from '../src/protocol/profiles.js'
import { buildWindowArchive } from '../src/window/archive/buildWindowArchive.js'
import { Cooldown } from '../src/window/seal/cooldown.js'
import { decodeWindowArchive } from '../src/window/archive/decodeWindowArchive.js'
import { encodeWindowArchive, windowArchiveKey } from '../src/window/archive/encodeWindowArchive.js'
import { HashDedup, rolloutHash } from '../src/window/seal/hashDedup.js'
import { sealWindow, type SealableSubmission } from '../src/window/seal/sealWindow.js'
import { selectBatchAndDistribute } from '../src/window/seal/selectBatchAndDistribute.js'
import type { WindowArchiveRecord } from '../src/window/archive/windowArchive.js'
import type { ValidSubmission } from '../src/window/seal/validSubmission.js'
import { WindowBatcher } from '../src/window/seal/windowBatcher.js'
import { WindowStateMachine } from '../src/window/windowStateMachine.js'
import {
  HALF,
  RANDOMNESS,
  ROUND,
  T_ROUND,
  WINDOW,
  buildBody,
  fakeKey,
  makeEnvironment,
  okVerifier,
  setup,
  type Setup,
} from './_admission.js'

const chain = { genesisTime: e3.drand.genesisTime, periodSeconds: e3.drand.periodSeconds }
const timeOf = (round: number) => drandRoundTime(round, chain)

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn()
  } catch (e) {
    expect(isReliquaryError(e), String(e)).toBe(true)
    expect((e as { code: string }).code).toBe(code)
    return
  }
  throw new Error(`expected ${code}`)
}

const bodyCache = new Map<string, Promise<Record<string, any>>>()
/** An unsigned (worker-stage) body, cached: prompt, hotkey name, round, salt. */
function body(
  prompt: number,
  hk: string,
  round: number,
  salt = 0,
  windowStart = WINDOW,
): Promise<Record<string, any>> {
  const k = `${prompt}/${hk}/${round}/${salt}/${windowStart}`
  let b = bodyCache.get(k)
  if (!b) {
    b = buildBody({
      hotkey: fakeKey(hk),
      promptIdx: prompt,
      drandRound: round,
      salt: salt * 1000 + prompt * 37 + hk.length,
      windowStart,
      unsigned: true,
      nonce: k,
    })
    bodyCache.set(k, b)
  }
  return b
}

/** Admits through the worker stage at a time inside `round`; returns the verdict reason. */
async function admit(
  s: Setup,
  prompt: number,
  hk: string,
  round: number,
  salt = 0,
): Promise<string> {
  const t = timeOf(round) + 1
  const v = await s.pipeline.admitDirect(await body(prompt, hk, round, salt), {
    arrivalSeconds: t,
    nowSeconds: t + 0.2,
  })
  return v.reason
}

describe('E3 seal trigger', () => {
  test('the trigger is the drand round in which the B-th distinct non-cooldown prompt lands', async () => {
    const s = setup({ verifier: okVerifier })
    for (let p = 0; p < 7; p++) expect(await admit(s, p, `hk${p}`, ROUND - 2)).toBe('accepted')
    // A second submission on an already-seen prompt does not add a distinct prompt.
    expect(await admit(s, 0, 'hkX', ROUND - 1)).toBe('accepted')
    expect(s.batcher.sealTriggerRound).toBeNull()
    expect(s.batcher.sealDueAt()).toBeNull()
    expect(await admit(s, 7, 'hk7', ROUND)).toBe('accepted')
    expect(s.batcher.sealTriggerRound).toBe(ROUND)
    expect(s.batcher.distinctEligiblePromptCount()).toBe(8)
    // Due at the first boundary after the trigger was recorded, plus the grace.
    expect(s.batcher.sealDueAt()).toBeCloseTo(timeOf(ROUND + 1) + e3.window.sealGraceSeconds, 9)
    // Same round: still accepted, including a 9th distinct prompt (the boundary round shares).
    expect(await admit(s, 8, 'hk8', ROUND)).toBe('accepted')
    expect(await admit(s, 7, 'hk9', ROUND)).toBe('accepted')
    // Later rounds: batch_filled, at the worker and at the handler.
    expect(await admit(s, 9, 'hk10', ROUND + 1)).toBe('batch_filled')
    expect(s.batcher.validCount).toBe(11)
    expect(s.batcher.sealTriggerRound).toBe(ROUND)
  })

  test('a prompt that went into cooldown does not count towards B', async () => {
    const s = setup({ verifier: okVerifier })
    for (let p = 0; p < 8; p++) {
      expect(await admit(s, p, `hk${p}`, ROUND)).toBe('accepted')
      if (p === 0) s.cooldown.record(0, WINDOW) // shared cooldown written by another window's seal
    }
    expect(s.batcher.distinctEligiblePromptCount()).toBe(7)
    expect(s.batcher.sealTriggerRound).toBeNull()
    expect(await admit(s, 8, 'hk8', ROUND + 1)).toBe('accepted')
    expect(s.batcher.sealTriggerRound).toBe(ROUND + 1)
  })

  test('without a worker time the seal is due at the end of the trigger round plus the grace', () => {
    const b = new WindowBatcher({ windowStart: WINDOW, randomness: RANDOMNESS })
    for (let p = 0; p < 8; p++) b.recordValid(validSub(p, `hk${p}`, ROUND))
    expect(b.sealDueAt()).toBeCloseTo(timeOf(ROUND + 1) + e3.window.sealGraceSeconds, 9)
  })

  test('a trigger recorded late (slow worker) waits for the boundary after it was recorded', () => {
    const b = new WindowBatcher({ windowStart: WINDOW, randomness: RANDOMNESS })
    for (let p = 0; p < 8; p++)
      b.recordValid(validSub(p, `hk${p}`, ROUND), { nowSeconds: timeOf(ROUND + 4) + 2.5 })
    expect(b.sealTriggerRound).toBe(ROUND)
    expect(b.sealDueAt()).toBeCloseTo(timeOf(ROUND + 5) + 0.05, 9)
  })
})

function validSub(
  prompt: number,
  hotkey: string,
  round: number,
  extra: Partial<ValidSubmission> = {},
): ValidSubmission {
  return {
    hotkey,
    promptIdx: prompt,
    merkleRoot: rolloutHash([prompt, hotkey.length, round]),
    drandRound: round,
    sigma: 0.5,
    rollouts: [],
    completionTexts: [],
    rolloutHashes: [rolloutHash([prompt, 1, hotkey.charCodeAt(hotkey.length - 1)])],
    claimedCheckpointHash: '',
    arrivalSeconds: undefined,
    acceptedAtSeconds: undefined,
    sketchDiffMax: null,
    lpDevMax: null,
    distQ10Min: null,
    ...extra,
  }
}

describe('seal schedule', () => {
  async function triggered(): Promise<Setup> {
    const s = setup({ verifier: okVerifier, openedAtSeconds: timeOf(ROUND - 100) })
    for (let p = 0; p < 8; p++) expect(await admit(s, p, `hk${p}`, ROUND)).toBe('accepted')
    return s
  }

  test('due after the boundary + grace, only with an empty queue; sealing early or twice is WINDOW_STATE_INVALID', async () => {
    const s = await triggered()
    const due = s.batcher.sealDueAt()!
    expect(s.batcher.isSealDue(due - 0.01)).toBe(false)
    expect(s.batcher.isSealDue(due, { queueDepth: 1 })).toBe(false)
    expect(s.batcher.isSealDue(due, { queueDepth: 0 })).toBe(true)
    expectCode(() => s.batcher.seal(due - 0.01), 'WINDOW_STATE_INVALID')
    expectCode(() => s.batcher.seal(due, { queueDepth: 2 }), 'WINDOW_STATE_INVALID')
    expect(s.batcher.isClosed).toBe(false)
    const r = s.batcher.seal(due)
    expect(r.trained).toBe(true)
    expect(s.batcher.isClosed && s.batcher.isSealed).toBe(true)
    expectCode(() => s.batcher.seal(due + 1), 'WINDOW_STATE_INVALID')
    expect(s.batcher.isSealDue(due + 1)).toBe(false)
    expect(await admit(s, 9, 'late', ROUND)).toBe('batch_filled')
    expectCode(() => s.batcher.recordValid(validSub(9, 'x', ROUND)), 'WINDOW_STATE_INVALID')
  })

  test('the window timeout makes a partial seal due; force seals any time', async () => {
    const s = setup({ verifier: okVerifier, openedAtSeconds: 1_000 })
    expect(await admit(s, 3, 'hk', ROUND)).toBe('accepted')
    expect(s.batcher.isSealDue(1_000 + e3.window.windowTimeoutSeconds - 1)).toBe(false)
    expect(s.batcher.isSealDue(1_000 + e3.window.windowTimeoutSeconds, { queueDepth: 5 })).toBe(
      true,
    )
    const r = s.batcher.seal(1_000 + e3.window.windowTimeoutSeconds)
    expect(r.trained).toBe(false)
    expect(r.batch).toHaveLength(1)
    expect(r.burn).toBeCloseTo(7 / 8, 15)
    expect([...r.rewardsByHotkey]).toEqual([['hk', 1 / 8]])
    const f = setup()
    expect(f.batcher.seal(0, { force: true }).burn).toBe(1)
  })
})

describe('sealing: selection, cooldown and hash dedup', () => {
  test('boundary round split, cooldown of the winning prompts, dedup of every submission on them', async () => {
    const s = setup({ verifier: okVerifier })
    for (let p = 0; p < 7; p++) expect(await admit(s, p, `a${p}`, ROUND - 1)).toBe('accepted')
    // Round ROUND: three new prompts (only one slot left) with 1, 2 and 3 submitters; prompt 0 again.
    for (const [p, hk] of [
      [20, 'b1'],
      [21, 'b2'],
      [21, 'b3'],
      [22, 'b4'],
      [22, 'b5'],
      [22, 'b6'],
      [0, 'b7'],
    ] as const)
      expect(await admit(s, p, hk, ROUND)).toBe('accepted')
    expect(s.batcher.sealTriggerRound).toBe(ROUND)
    const valid = s.batcher.validSubmissions()
    const r = s.batcher.seal(s.batcher.sealDueAt()!)
    const direct = selectBatchAndDistribute(valid, { currentWindow: WINDOW, profile: e3 })
    expect(r.batch.map((x) => [x.promptIdx, x.hotkey])).toEqual(
      direct.batch.map((x) => [x.promptIdx, x.hotkey]),
    )
    expect(r.batch).toHaveLength(8)
    expect(r.burn).toBe(0)
    const total = [...r.rewardsByHotkey.values()].reduce((a, b) => a + b, 0)
    expect(total).toBeCloseTo(1, 12)
    // Boundary: the three new prompts share one slot (1/8) equally, split by their submitters.
    expect(r.rewardsByHotkey.get('b1')).toBeCloseTo(1 / 24, 15)
    expect(r.rewardsByHotkey.get('b2')).toBeCloseTo(1 / 48, 15)
    expect(r.rewardsByHotkey.get('b6')).toBeCloseTo(1 / 72, 15)
    expect(r.rewardsByHotkey.has('b7')).toBe(false) // prompt 0 was claimed in an earlier round
    const boundaryWinner = r.batch.find((x) => x.promptIdx >= 20)!.promptIdx
    // Cooldown: exactly the trained prompts, at this window.
    expect(s.cooldown.inCooldown(WINDOW + 1)).toEqual([...r.winningPrompts].sort((a, b) => a - b))
    expect(s.cooldown.isInCooldown(boundaryWinner, WINDOW + 1)).toBe(true)
    // Dedup: every rollout of every valid submission on a winning prompt (not only the representative).
    for (const v of valid) {
      for (const h of v.rolloutHashes)
        expect(s.hashDedup.has(h), `${v.promptIdx}/${v.hotkey}`).toBe(
          r.winningPrompts.includes(v.promptIdx),
        )
    }
    // Next window: the same rollouts are duplicates and the prompts are cooling down.
    const next = new WindowBatcher({
      windowStart: WINDOW + 1,
      randomness: RANDOMNESS,
      cooldown: s.cooldown,
      hashDedup: s.hashDedup,
    })
    s.pipeline.setActiveBatcher(next)
    const again = await s.pipeline.admitDirect(await body(0, 'b7', ROUND, 0, WINDOW + 1), {
      nowSeconds: T_ROUND,
    })
    expect([again.reason, again.check]).toEqual(['prompt_in_cooldown', 'cooldown'])
    const loser = [20, 21, 22].find((p) => p !== boundaryWinner)!
    const b = await body(loser, 'b9', ROUND, 0, WINDOW + 1)
    const donor = valid.find((v) => v.promptIdx === 1)!
    // A copied rollout (outer and commit tokens alike: a split would be tokens_mismatch first).
    b.rollouts[4] = {
      ...b.rollouts[4],
      tokens: [...(donor.rollouts[4]!.commit.tokens as number[])],
      commit: {
        ...b.rollouts[4].commit,
        tokens: [...(donor.rollouts[4]!.commit.tokens as number[])],
      },
    }
    const dup = await s.pipeline.admitDirect(b, { nowSeconds: T_ROUND })
    expect([dup.reason, dup.check]).toEqual(['hash_duplicate', 'hash_duplicate'])
  })

  test('hash dedup entries expire after the retention', () => {
    const profile = defineProfile(e3, {
      id: 'e3-short-retention',
      window: { hashDedupRetentionWindows: 2 },
    })
    const hashDedup = new HashDedup({ profile })
    sealWindow({ submissions: [validSub(1, 'a', 5)], windowStart: 10, hashDedup, profile })
    expect(hashDedup.size).toBe(1)
    sealWindow({ submissions: [], windowStart: 12, hashDedup, profile })
    expect(hashDedup.size).toBe(0)
  })
})

describe('order independence', () => {
  type Entry = { prompt: number; hk: number; round: number; salt: number }
  const entries = fc
    .array(
      fc.record({
        prompt: fc.integer({ min: 0, max: 11 }),
        hk: fc.integer({ min: 0, max: 5 }),
        round: fc.integer({ min: 0, max: 2 }),
        salt: fc.integer({ min: 0, max: 1 }),
      }),
      { minLength: 1, maxLength: 26 },
    )
    .filter((es) =>
      [...Array(12).keys()].every(
        (p) => es.filter((e) => e.prompt === p).length <= e3.window.maxSubmissionsPerPrompt,
      ),
    )

  /** Sorted by round; inside each round, shuffled by `seed`. */
  function order(es: Entry[], seed: number): Entry[] {
    let x = seed >>> 0 || 1
    const rand = () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0
      return x / 2 ** 32
    }
    const out: Entry[] = []
    for (const r of [0, 1, 2]) {
      const group = es.filter((e) => e.round === r)
      for (let i = group.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1))
        ;[group[i], group[j]] = [group[j]!, group[i]!]
      }
      out.push(...group)
    }
    return out
  }

  async function run(es: Entry[]) {
    const s = setup({ verifier: okVerifier })
    const reasons: string[] = []
    for (const e of es) reasons.push(await admit(s, e.prompt, `hk${e.hk}`, ROUND + e.round, e.salt))
    const trigger = s.batcher.sealTriggerRound
    const r = s.batcher.seal(timeOf(ROUND + 10), { force: true })
    return {
      trigger,
      reasons: reasons.sort(),
      batch: r.batch.map((x) => [x.promptIdx, x.hotkey, x.merkleRoot]),
      rewards: [...r.rewardsByHotkey],
      burn: r.burn,
      winning: r.winningPrompts,
      cooldown: s.cooldown.snapshot(),
      dedup: s.hashDedup.snapshot(),
    }
  }

  test('the seal result does not depend on the submission order within a round (through admission)', async () => {
    await fc.assert(
      fc.asyncProperty(entries, fc.integer(), fc.integer(), async (es, s1, s2) => {
        expect(await run(order(es, s2))).toEqual(await run(order(es, s1)))
      }),
      { numRuns: 40, seed: 7 },
    )
  }, 60_000)

  test('sealWindow gives identical results (amounts, batch, key order) for any permutation', () => {
    const sub = fc.record({
      prompt: fc.integer({ min: 0, max: 15 }),
      hk: fc.integer({ min: 0, max: 7 }),
      round: fc.integer({ min: 0, max: 3 }),
      m: fc.integer({ min: 0, max: 3 }),
    })
    fc.assert(
      fc.property(
        fc.array(sub, { maxLength: 40 }),
        fc.integer(),
        fc.constantFrom(1, 3, 8),
        (raw, seed, b) => {
          const profile = defineProfile(e3, { id: `e3-b${b}`, group: { batchSize: b } })
          const subs: SealableSubmission[] = raw.map((x) => ({
            hotkey: `hk${x.hk}`,
            promptIdx: x.prompt,
            merkleRoot: rolloutHash([x.m, x.hk, x.prompt]),
            drandRound: 100 + x.round,
            rolloutHashes: [rolloutHash([x.prompt, x.hk, x.m, 7])],
          }))
          let y = seed >>> 0 || 1
          const shuffled = [...subs].sort(() => {
            y = (Math.imul(y, 48271) + 11) >>> 0
            return y & 1 ? 1 : -1
          })
          const seal = (list: SealableSubmission[]) => {
            const cooldown = new Cooldown({ profile })
            cooldown.record(3, 40)
            const hashDedup = new HashDedup({ profile })
            const r = sealWindow({
              submissions: list,
              windowStart: 41,
              cooldown,
              hashDedup,
              profile,
            })
            return {
              batch: r.batch.map((x) => [x.promptIdx, x.hotkey, x.merkleRoot]),
              rewards: [...r.rewardsByHotkey],
              burn: r.burn,
              trained: r.trained,
              c: cooldown.snapshot(),
              d: hashDedup.snapshot(),
            }
          }
          expect(seal(shuffled)).toEqual(seal(subs))
        },
      ),
      { numRuns: 300, seed: 11 },
    )
  })
})

describe('legacy E1 seal rule', () => {
  test('the window closes the moment the B-th distinct prompt is accepted', () => {
    const b = new WindowBatcher({ windowStart: WINDOW, randomness: RANDOMNESS, profile: e1 })
    for (let p = 0; p < 7; p++)
      b.recordValid(validSub(p, `hk${p}`, 0, { drandRound: undefined, signedRound: 100 + p }), {
        nowSeconds: 50 + p,
      })
    expect(b.isClosed).toBe(false)
    expect(b.sealDueAt()).toBeNull()
    b.recordValid(validSub(7, 'hk7', 0, { drandRound: undefined, signedRound: 90 }), {
      nowSeconds: 60,
    })
    expect(b.isClosed).toBe(true)
    expect(b.sealTriggerRound).toBeNull()
    expect(b.sealDueAt()).toBe(60)
    const r = b.seal(60)
    // E1 order: by signed round; each batch member earns 1/B.
    expect(r.batch[0]!.promptIdx).toBe(7)
    expect([...r.rewardsByHotkey.values()].every((v) => v === 1 / 8)).toBe(true)
  })
})

describe('WindowStateMachine', () => {
  test('the E1-E3 loop with typed events', () => {
    const w = new WindowStateMachine()
    const seen: string[] = []
    w.on('transition', (e) => seen.push(`${e.from}>${e.to}@${e.windowN}${e.aborted ? '!' : ''}`))
    const off = w.on('training', (e) => seen.push(`sealed ${e.windowN} at ${e.atSeconds}`))
    w.open(501, 10)
    w.startTraining(20)
    w.startPublishing()
    w.finish()
    off()
    w.open(502)
    w.startTraining()
    w.abort(99)
    expect(seen).toEqual([
      'ready>open@501',
      'open>training@501',
      'sealed 501 at 20',
      'training>publishing@501',
      'publishing>ready@501',
      'ready>open@502',
      'open>training@502',
      'training>ready@502!',
    ])
    expect(w.phase).toBe('ready')
  })

  test('illegal transitions and non-increasing windows are WINDOW_STATE_INVALID and change nothing', () => {
    const w = new WindowStateMachine({ lastWindowN: 10 })
    expectCode(() => w.startTraining(), 'WINDOW_STATE_INVALID')
    expectCode(() => w.finish(), 'WINDOW_STATE_INVALID')
    expectCode(() => w.open(10), 'WINDOW_STATE_INVALID')
    expect(w.phase).toBe('ready')
    w.open(11)
    expectCode(() => w.open(12), 'WINDOW_STATE_INVALID')
    expectCode(() => w.startPublishing(), 'WINDOW_STATE_INVALID')
    expectCode(() => w.transition('ready'), 'WINDOW_STATE_INVALID')
    expect([w.phase, w.windowN]).toEqual(['open', 11])
    expect(w.canTransition('training')).toBe(true)
  })

  test('a throwing listener does not stop the others nor the transition', () => {
    const w = new WindowStateMachine()
    let second = 0
    w.on('open', () => {
      throw new Error('listener bug')
    })
    w.on('open', () => second++)
    expect(() => w.open(1)).toThrow('listener bug')
    expect([w.phase, second]).toEqual(['open', 1])
  })

  test('drives the pipeline phase', async () => {
    const s = setup({ verifier: okVerifier })
    const w = new WindowStateMachine({ lastWindowN: WINDOW - 1 })
    w.on('transition', (e) => s.pipeline.setPhase(e.to))
    w.open(WINDOW)
    expect(s.pipeline.phase).toBe('open')
    w.startTraining()
    expect(s.pipeline.phase).toBe('training')
  })
})

describe('window archive (E3 record)', () => {
  async function sealedWindow() {
    const s = setup({ verifier: okVerifier, openedAtSeconds: timeOf(ROUND - 5) })
    for (let p = 0; p < 8; p++) expect(await admit(s, p, `hk${p}`, ROUND)).toBe('accepted')
    expect(await admit(s, 2, 'second', ROUND)).toBe('accepted') // runner-up
    expect(await admit(s, 3, 'loser', ROUND, 1)).toBe('accepted') // runner-up
    const zoneless = await buildBody({
      hotkey: fakeKey('zoneless'),
      promptIdx: 4,
      unsigned: true,
      rollouts: HALF.map(() => ({ correct: true })),
    })
    expect((await s.pipeline.admitDirect(zoneless, { nowSeconds: T_ROUND })).reason).toBe(
      'out_of_zone',
    )
    await s.pipeline.submit({ nope: 1 }, { arrivalSeconds: T_ROUND })
    s.batcher.seal(s.batcher.sealDueAt()!)
    const lateDrops = { hkZ: { rate_limited: 2 } }
    const record = buildWindowArchive({
      batcher: s.batcher,
      validatorHotkey: '5Validator',
      environment: makeEnvironment(),
      eosTokenId: 2,
      lateDrops,
    })
    return { s, record }
  }

  test('build: the reference field names and values', async () => {
    const { s, record } = await sealedWindow()
    expect(Object.keys(record)).toEqual([
      'window_start',
      'validator_hotkey',
      'randomness',
      'environment',
      'batch',
      'runners_up',
      'reject_summary',
      'rejected',
      'rewards_by_hotkey',
      'late_drops',
    ])
    expect(record.window_start).toBe(WINDOW)
    expect(record.randomness).toBe(RANDOMNESS)
    expect(record.environment).toBe('toy')
    expect(record.batch).toHaveLength(8)
    const b0 = record.batch[0]!
    expect(Object.keys(b0)).toEqual([
      'hotkey',
      'prompt_idx',
      'sigma',
      'prompt',
      'ground_truth',
      'rollouts',
      'response_time',
      'merkle_root',
      'claimed_checkpoint_hash',
      'sketch_diff_max',
      'lp_dev_max',
      'dist_q10_min',
    ])
    expect(Object.keys(b0.rollouts[0]!)).toEqual([
      'tokens',
      'reward',
      'completion_length',
      'eos_terminated',
      'hash',
      'completion_text',
    ])
    expect(b0.sigma).toBe(0.5)
    expect(b0.response_time).toBeCloseTo(5 * 3 + 1.2, 6) // accepted 1.2 s into ROUND, opened 5 rounds (15 s) earlier
    expect(
      b0.rollouts.every(
        (r) => r.eos_terminated && r.completion_length === 40 && r.hash === rolloutHash(r.tokens),
      ),
    ).toBe(true)
    expect(record.runners_up.map((r) => [r.hotkey, r.prompt_idx])).toEqual(
      expect.arrayContaining([['second', 2]]),
    )
    expect(record.reject_summary).toEqual({ out_of_zone: 1 })
    expect(record.rejected).toEqual([
      {
        hotkey: 'zoneless',
        prompt_idx: 4,
        reason: 'out_of_zone',
        sketch_diff_max: null,
        lp_dev_max: null,
        dist_q10_min: null,
      },
    ])
    expect(Object.values(record.rewards_by_hotkey).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12)
    expect(record.late_drops).toEqual({ hkZ: { rate_limited: 2 } })
    expect(s.batcher.isSealed).toBe(true)
    expectCode(
      () =>
        buildWindowArchive({
          batcher: new WindowBatcher({ windowStart: 1, randomness: '' }),
          validatorHotkey: 'v',
          environment: makeEnvironment(),
          eosTokenId: null,
        }),
      'WINDOW_STATE_INVALID',
    )
  })

  test('encode → decode round trip; compact JSON with Python floats; key', async () => {
    const { record } = await sealedWindow()
    const bytes = await encodeWindowArchive(record)
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b])
    const text = gunzipSync(bytes).toString('utf8')
    expect(text.startsWith('{"window_start":500,"validator_hotkey":"5Validator"')).toBe(true)
    expect(text).toContain('"reward":1.0,')
    expect(text).toContain('"sigma":0.5,')
    expect(text).not.toMatch(/": /)
    const back = await decodeWindowArchive(bytes)
    expect(back).toEqual(record)
    expect(await decodeWindowArchive(new TextEncoder().encode(text))).toEqual(record) // plain JSON too
    expect(windowArchiveKey(WINDOW)).toBe('reliquary/dataset/window-500.json.gz')
    // The readers of cooldown and hash dedup accept the decoded record.
    const cd = new Cooldown()
    cd.rebuildFromArchives([back], WINDOW + 1)
    expect(cd.inCooldown(WINDOW + 1)).toEqual(
      record.batch.map((b) => b.prompt_idx).sort((a, b) => a - b),
    )
    const dd = new HashDedup()
    dd.rebuildFromArchives([back], WINDOW + 1)
    expect(dd.size).toBe(64)
  })

  test('the reader rejects bombs, junk and schema violations with typed errors', async () => {
    const { record } = await sealedWindow()
    const codeOf = async (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e) => (isReliquaryError(e) ? e.code : `untyped ${String(e)}`),
      )
    const bomb = gzipSync(Buffer.from(`{"window_start":1,"x":"${'0'.repeat(5_000_000)}"}`))
    expect(bomb.length).toBeLessThan(20_000)
    expect(await codeOf(decodeWindowArchive(bomb, { maxBytes: 1_000_000 }))).toBe(
      'PAYLOAD_TOO_LARGE',
    )
    expect(
      await codeOf(decodeWindowArchive(new Uint8Array(2_000), { maxCompressedBytes: 1_000 })),
    ).toBe('PAYLOAD_TOO_LARGE')
    expect(await codeOf(decodeWindowArchive(new Uint8Array([0x1f, 0x8b, 1, 2, 3, 4, 5])))).toBe(
      'JSON_INVALID',
    )
    expect(
      await codeOf(decodeWindowArchive(new TextEncoder().encode('{"window_start": NaN}'))),
    ).toBe('JSON_INVALID')
    expect(await codeOf(decodeWindowArchive(new Uint8Array([0xff, 0xfe])))).toBe('JSON_INVALID')
    expect(
      await codeOf(
        decodeWindowArchive(gzipSync(Buffer.from(JSON.stringify({ ...record, window_start: -1 })))),
      ),
    ).toBe('SCHEMA_INVALID')
    expect(
      await codeOf(
        decodeWindowArchive(gzipSync(Buffer.from(JSON.stringify({ ...record, batch: 'x' })))),
      ),
    ).toBe('SCHEMA_INVALID')
    expect(await codeOf(decodeWindowArchive('nope' as never))).toBe('INVALID_ARGUMENT')
    // Fields of other reference versions are kept, not rejected.
    const extra = await decodeWindowArchive(
      gzipSync(Buffer.from(JSON.stringify({ ...record, window_status: 'ok' }))),
    )
    expect((extra as WindowArchiveRecord & { window_status: string }).window_status).toBe('ok')
    // The writer validates too.
    expect(
      await codeOf(encodeWindowArchive({ ...record, rewards_by_hotkey: { a: Number.NaN } })),
    ).toBe('SCHEMA_INVALID')
  })

  test('the seal-time drand helpers agree with the protocol rounds', () => {
    expect(drandRoundAt(timeOf(ROUND) + 2.999, chain)).toBe(ROUND)
    expect(drandRoundAt(timeOf(ROUND + 1), chain)).toBe(ROUND + 1)
  })
})
