// Hardening options (docs/protocol.md §4.5): each one refuses the forgery it targets when a
// profile derived with withHardening turns it on, and is off in the faithful e1 and e3 profiles,
// whose honest and forged outcomes stay the reference's.
import { beforeAll, describe, expect, test } from 'vitest'
import { parseCommand } from '../src/cli/_options.js'
import { VALIDATOR_COMMAND } from '../src/cli/networkOptions.js'
import { hardened } from '../src/cli/validatorCommand.js'
import type { Hotkey } from '../src/crypto/sr25519.js'
import { isReliquaryError } from '../src/errors/base.js'
import { challengeIndices, sketchChallengeCount } from '../src/grail/challenge.js'
import { computeSketch } from '../src/grail/computeSketch.js'
import { calibrateToleranceBase, sketchDrift } from '../src/grail/tolerance.js'
import { verifySketch } from '../src/grail/verifySketch.js'
import { e1, e3, type ProtocolProfile } from '../src/protocol/profiles.js'
import { publishedProfileId, withHardening } from '../src/protocol/withHardening.js'
import { E1_WORKER_CHECKS, E3_WORKER_CHECKS } from '../src/window/admission/admissionChecks.js'
import { admissionChecksFor } from '../src/window/admission/runAdmission.js'
import { selectBatchAndDistribute } from '../src/window/seal/selectBatchAndDistribute.js'
import {
  HIDDEN,
  RANDOMNESS,
  ROUND,
  T_ROUND,
  WINDOW,
  buildBody,
  hiddenRow,
  hotkeys,
  okVerifier,
  realVerifier,
  setup,
} from './_admission.js'

let alice: Hotkey
let bob: Hotkey
beforeAll(async () => {
  const keys = await hotkeys()
  alice = keys[0]!
  bob = keys[1]!
})

const AT = { arrivalSeconds: T_ROUND, nowSeconds: T_ROUND + 0.5 }

function e1Body(b: Record<string, any>): Record<string, any> {
  const { drand_round: _d, nonce: _n, envelope_signature: _e, ...rest } = b
  return { ...rest, signed_round: ROUND }
}

describe('faithful profiles keep every option off', () => {
  test.each([e1, e3])('$id: no option set, the reference lists and K', (p) => {
    expect(p.hardening).toEqual({ dedupeRepeats: false, sketchChallengeK: 0, baseProfileId: '' })
    expect(publishedProfileId(p)).toBe(p.id)
    expect(sketchChallengeCount(p)).toBe(32)
    expect(admissionChecksFor(p).worker).toBe(p === e3 ? E3_WORKER_CHECKS : E1_WORKER_CHECKS)
  })
})

describe('dedupeRepeats: a hotkey repeating an accepted group', () => {
  /** Alice sends the same honest group 8 times, Bob one group of his own, on one prompt. */
  async function run(profile: ProtocolProfile, shape = (b: Record<string, any>) => b) {
    const s = setup({ profile, verifier: okVerifier })
    const copy = shape(await buildBody({ hotkey: alice, promptIdx: 4, unsigned: true }))
    const verdicts = []
    for (let i = 0; i < 8; i++) verdicts.push(await s.pipeline.admitDirect(copy, AT))
    const own = shape(await buildBody({ hotkey: bob, promptIdx: 4, salt: 9, unsigned: true }))
    const bobs = await s.pipeline.admitDirect(own, AT)
    const { rewardsByHotkey } = selectBatchAndDistribute(s.batcher.validSubmissions(), {
      currentWindow: WINDOW,
      profile,
    })
    return { verdicts, bobs, rewards: rewardsByHotkey }
  }

  test('e3 (faithful): all 8 copies accepted and paid 8 shares to one', async () => {
    const { verdicts, bobs, rewards } = await run(e3)
    expect(verdicts.map((v) => v.reason)).toEqual(Array(8).fill('accepted'))
    expect(bobs.reason).toBe('accepted')
    expect(rewards.get(alice.address)! / rewards.get(bob.address)!).toBeCloseTo(8, 9)
  })

  test('e3 + dedupeRepeats: the first copy accepted, the 7 repeats refused, shares equal', async () => {
    const { verdicts, bobs, rewards } = await run(withHardening(e3, { dedupeRepeats: true }))
    expect(verdicts[0]!.reason).toBe('accepted')
    for (const v of verdicts.slice(1))
      expect([v.reason, v.check, v.detail]).toEqual([
        'hash_duplicate',
        'hotkey_repeat',
        expect.stringContaining('rollout 0 repeats'),
      ])
    expect(bobs.reason).toBe('accepted')
    expect(rewards.get(alice.address)).toBeCloseTo(rewards.get(bob.address)!, 12)
  })

  test('e1 already refuses a same-prompt repeat (superseded); the option runs after it', async () => {
    const hardened = withHardening(e1, { dedupeRepeats: true })
    expect(hardened.rejectReasons).toContain('hash_duplicate')
    for (const p of [e1, hardened]) {
      const { verdicts } = await run(p, e1Body)
      expect(verdicts.map((v) => v.reason)).toEqual(['accepted', ...Array(7).fill('superseded')])
    }
  })

  test('a repeat hidden by reordering or on another prompt is caught; fresh groups are not', async () => {
    const profile = withHardening(e3, { dedupeRepeats: true })
    const s = setup({ profile, verifier: okVerifier })
    const first = await buildBody({ hotkey: alice, promptIdx: 4, unsigned: true })
    expect((await s.pipeline.admitDirect(first, AT)).reason).toBe('accepted')
    const reordered = structuredClone(first)
    reordered.rollouts.reverse()
    const v = await s.pipeline.admitDirect(reordered, AT)
    expect([v.reason, v.detail]).toEqual(['hash_duplicate', expect.stringContaining('rollout 0')])
    // A group sampled afresh on the same prompt is an honest second submission.
    const fresh = await buildBody({ hotkey: alice, promptIdx: 4, salt: 5, unsigned: true })
    expect((await s.pipeline.admitDirect(fresh, AT)).reason).toBe('accepted')
    // Another hotkey's identical copy is the sybil case (split K ways, §5.3), not a repeat.
    const sybil = structuredClone(first)
    sybil.miner_hotkey = bob.address
    expect((await s.pipeline.admitDirect(sybil, AT)).reason).toBe('accepted')
  })
})

/** Honest commitments of a toy sequence under RANDOMNESS, from the fixture's hidden rows. */
function toyProof(length = 120): { tokens: number[]; hidden: Float32Array; sketches: number[] } {
  const tokens = Array.from({ length }, (_, i) => 10 + ((i * 37) % 400))
  const hidden = new Float32Array(length * HIDDEN)
  tokens.forEach((t, p) => {
    hidden.set(hiddenRow(t, p), p * HIDDEN)
  })
  const sketches = computeSketch({ data: hidden, hiddenSize: HIDDEN }, RANDOMNESS, { profile: e3 })
  return { tokens, hidden, sketches }
}

function judge(profile: ProtocolProfile, tokens: number[], hidden: Float32Array, c: number[]) {
  return verifySketch({
    tokens,
    commitments: c,
    randomness: RANDOMNESS,
    hidden: { data: hidden, hiddenSize: HIDDEN },
    profile,
  })
}

describe('sketchToleranceBase: a stricter sketch tolerance', () => {
  test('a near-miss proof (every sketch off by 3,000) passes e3, fails base 2,500', () => {
    const { tokens, hidden, sketches } = toyProof()
    const forged = sketches.map((s) => (s + 3000) % e3.grail.primeQ)
    const hardened = withHardening(e3, { sketchToleranceBase: 2500 })
    expect(judge(e3, tokens, hidden, forged).valid).toBe(true)
    expect(judge(hardened, tokens, hidden, forged).valid).toBe(false)
    expect(judge(hardened, tokens, hidden, sketches).valid).toBe(true)
    expect(hardened.grail.toleranceBase).toBe(2500)
    expect(e3.grail.toleranceBase).toBe(5000)
  })

  test('calibration: the smallest base refusing at most the allowed share of honest drifts', () => {
    expect(calibrateToleranceBase([120, 900, 2400, 4100], { maxFalseRejectRate: 0.25 })).toBe(2400)
    expect(calibrateToleranceBase([120, 900, 2400, 4100], { maxFalseRejectRate: 0 })).toBe(4100)
    expect(calibrateToleranceBase([0.5], { maxFalseRejectRate: 0 })).toBe(1)
    expect(() => calibrateToleranceBase([], { maxFalseRejectRate: 0 })).toThrow(/drifts/)
    expect(() => calibrateToleranceBase([1], { maxFalseRejectRate: 1 })).toThrow(/Rate/)
    // Drift: diff minus trunc(5·√p); a proof passes a base exactly when its drift is at most it.
    const positions = [
      { position: 100, diff: 1100 }, // 1100 − 50
      { position: 7, diff: 1060 }, // 1060 − trunc(13.2) = 1047
    ]
    expect(sketchDrift(positions)).toBe(1050)
  })
})

describe('sketchChallengeK: more challenged positions', () => {
  test('a proof honest only at the 32 positions e3 challenges fails with K = 64', () => {
    const { tokens, hidden, sketches } = toyProof()
    const kept = new Set(challengeIndices({ tokens, randomness: RANDOMNESS, profile: e3 }))
    expect(kept.size).toBe(32)
    const forged = sketches.map((s, p) => (kept.has(p) ? s : (s + 1_000_000) % e3.grail.primeQ))
    const k64 = withHardening(e3, { sketchChallengeK: 64 })
    expect(judge(e3, tokens, hidden, forged).valid).toBe(true)
    const v = judge(k64, tokens, hidden, forged)
    expect([v.valid, v.checked, v.required]).toEqual([false, 64, 64])
    expect(judge(k64, tokens, hidden, sketches).valid).toBe(true)
  })

  test('the logprob check and the schema keep K = 32: an honest 40-token completion is accepted', async () => {
    const profile = withHardening(e3, { sketchChallengeK: 64 })
    const s = setup({ profile, verifier: realVerifier() })
    const body = await buildBody({ hotkey: alice, promptIdx: 3, prove: true, unsigned: true })
    const v = await s.pipeline.admitDirect(body, AT)
    expect([v.reason, v.check]).toEqual(['accepted', 'accept'])
  })
})

describe('withHardening', () => {
  test('ids name the options; no option returns the base; looser settings are refused', () => {
    expect(withHardening(e3, { dedupeRepeats: true, sketchToleranceBase: 2500 }).id).toBe(
      'e3+dedupe+tol2500',
    )
    expect(withHardening(e3, { sketchChallengeK: 64, id: 'mine' }).id).toBe('mine')
    expect(withHardening(e3, {})).toBe(e3)
    expect(() => withHardening(e3, { sketchToleranceBase: 6000 })).toThrow(/sketchToleranceBase/)
    expect(() => withHardening(e3, { sketchToleranceBase: 2.5 })).toThrow(/sketchToleranceBase/)
    expect(() => withHardening(e3, { sketchChallengeK: 16 })).toThrow(/sketchChallengeK/)
    expect(() => withHardening(e3, { sketchChallengeK: 5000 })).toThrow(/sketchChallengeK/)
    const twice = withHardening(withHardening(e3, { dedupeRepeats: true }), {
      sketchChallengeK: 64,
    })
    expect(twice.hardening).toEqual({
      dedupeRepeats: true,
      sketchChallengeK: 64,
      baseProfileId: 'e3',
    })
    // Hardening is the validator's admission policy: it publishes checkpoints under the era's id.
    expect(publishedProfileId(twice)).toBe('e3')
    expect(Object.isFrozen(twice.hardening)).toBe(true)
  })
})

describe('reliquary validator: the hardening flags', () => {
  const profileOf = (argv: string[], env: Record<string, string> = {}) =>
    hardened(e3, parseCommand(VALIDATOR_COMMAND, argv, env).values)

  test('none given: the faithful e3 itself', () => {
    expect(profileOf([])).toBe(e3)
  })

  test('flags and environment variables derive the hardened profile', () => {
    const p = profileOf(['--dedupe-repeats', '--sketch-challenge-k', '64'], {
      RELIQUARY_SKETCH_TOLERANCE_BASE: '3324',
    })
    expect(p.id).toBe('e3+dedupe+tol3324+k64')
    expect([p.hardening.dedupeRepeats, p.grail.toleranceBase, sketchChallengeCount(p)]).toEqual([
      true,
      3324,
      64,
    ])
  })

  test('a looser tolerance is a usage error', () => {
    let error: unknown
    try {
      profileOf(['--sketch-tolerance-base', '6000'])
    } catch (e) {
      error = e
    }
    expect(isReliquaryError(error, 'CLI_USAGE')).toBe(true)
  })
})
