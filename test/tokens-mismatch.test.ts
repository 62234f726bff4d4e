// Attack #27 of docs/protocol.md §10 (token split): prove an honest sequence in commit.tokens, send
// edited outer tokens with invented rewards. E1-E3 scored the outer tokens, so such a group was
// accepted; `tokens_mismatch` now refuses it in every profile, before the reward step.
import { beforeAll, describe, expect, test } from 'vitest'
import type { Hotkey } from '../src/crypto/sr25519.js'
import { e1, e3, type ProtocolProfile } from '../src/protocol/profiles.js'
import { parseSubmitResponse } from '../src/protocol/schemas.js'
import type { RolloutVerifier } from '../src/window/admission/admissionTypes.js'
import {
  NO,
  ROUND,
  T_ROUND,
  YES,
  buildBody,
  hotkeys,
  okVerifier,
  realVerifier,
  setup,
} from './_admission.js'

let alice: Hotkey
beforeAll(async () => {
  alice = (await hotkeys())[0]!
})

/** Flips every rollout's YES/NO marker in the OUTER tokens and claims the flipped reward. */
function splitBrain(body: Record<string, any>): Record<string, any> {
  const forged = structuredClone(body)
  for (const r of forged.rollouts) {
    const t = r.tokens as number[]
    const k = t.length - 2
    t[k] = t[k] === YES ? NO : YES
    r.reward = t[k] === YES ? 1 : 0
  }
  return forged
}

function e1Body(b: Record<string, any>): Record<string, any> {
  const { drand_round: _d, nonce: _n, envelope_signature: _e, ...rest } = b
  return { ...rest, signed_round: ROUND }
}

// E3 runs the real verifyRollout on real proofs; E1 commits have another layout, so its case
// stubs the per-rollout verifier (the check under test runs before it).
const cases: [
  string,
  ProtocolProfile,
  (b: Record<string, any>) => Record<string, any>,
  () => RolloutVerifier,
][] = [
  ['e3', e3, (b) => b, () => realVerifier()],
  ['e1', e1, e1Body, () => okVerifier],
]

describe('tokens_mismatch (outer tokens must equal commit.tokens)', () => {
  test.each(cases)(
    '%s: the honest group is accepted, its split-brain twin refused',
    async (_id, profile, shape, verifier) => {
      const honest = await buildBody({ hotkey: alice, promptIdx: 3, prove: true, unsigned: true })
      const forged = splitBrain(honest)
      // The forgery is self-consistent on the outer tokens: rewards recompute and σ stays in the zone.
      expect(forged.rollouts.map((r: any) => r.reward)).toEqual([0, 1, 0, 1, 0, 1, 0, 1])
      const s = setup({ profile, verifier: verifier() })
      const ok = await s.pipeline.admitDirect(shape(honest), {
        arrivalSeconds: T_ROUND,
        nowSeconds: T_ROUND + 0.5,
      })
      expect([ok?.reason, ok?.check]).toEqual(['accepted', 'accept'])

      const s2 = setup({ profile, verifier: verifier() })
      const v = await s2.pipeline.admitDirect(shape(forged), {
        arrivalSeconds: T_ROUND,
        nowSeconds: T_ROUND + 0.5,
      })
      expect([v?.accepted, v?.reason, v?.check]).toEqual([false, 'tokens_mismatch', 'tokens_match'])
      expect(s2.batcher.validCount).toBe(0)
    },
  )

  test('one edited id, a dropped id or an appended id in one rollout each fail', async () => {
    const honest = await buildBody({ hotkey: alice, promptIdx: 5, prove: true, unsigned: true })
    const edits: ((t: number[]) => void)[] = [
      (t) => {
        t[t.length - 5] = (t[t.length - 5]! + 1) % 4096
      },
      (t) => t.pop(),
      (t) => t.push(7),
    ]
    for (const edit of edits) {
      const body = structuredClone(honest)
      edit(body.rollouts[6].tokens)
      const s = setup({ verifier: realVerifier() })
      const v = await s.pipeline.admitDirect(body, { arrivalSeconds: T_ROUND, nowSeconds: T_ROUND })
      expect([v?.reason, v?.detail]).toEqual([
        'tokens_mismatch',
        expect.stringContaining('rollout 6'),
      ])
    }
  })

  test('the reason is on the wire schemas of both eras', () => {
    expect(e3.rejectReasons).toContain('tokens_mismatch')
    expect(e1.rejectReasons).toContain('tokens_mismatch')
    expect(parseSubmitResponse({ accepted: false, reason: 'tokens_mismatch' }).reason).toBe(
      'tokens_mismatch',
    )
  })
})
