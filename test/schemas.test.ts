import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import {
  WIRE_LIMITS,
  challengeIndices,
  computeSketch,
  decodeRandomness,
  deriveSketchCoefficients,
  e1,
  e3,
  getProfile,
  defineProfile,
  hashTokens,
  isReliquaryError,
  parseCheckpoint,
  parseCommit,
  parseHealth,
  parseState,
  parseSubmitRequest,
  parseSubmitResponse,
  parseVerdicts,
  prf,
  verifySketch,
  type ErrorCode,
} from '../src/index.js'
import { filesWith } from './_vectors.js'

function code(fn: () => unknown): ErrorCode | 'NO_THROW' | 'UNTYPED' {
  try {
    fn()
    return 'NO_THROW'
  } catch (e) {
    return isReliquaryError(e) ? e.code : 'UNTYPED'
  }
}

const proofDoc = filesWith('proofs')[0]?.doc
function referenceCommit(i = 0) {
  const p = proofDoc!.proofs[i]
  return {
    tokens: p.tokens,
    commitments: (p.commitments as number[]).map((sketch) => ({ sketch })),
    proof_version: 'v5',
    model: { name: 'qwen3-tiny', layer_index: -1 },
    signature: 'ab'.repeat(64),
    beacon: { randomness: p.randomness },
    rollout: {
      prompt_length: p.prompt_length,
      completion_length: p.tokens.length - p.prompt_length,
      success: true,
      total_reward: 0.0,
      advantage: 0.0,
      token_logprobs: p.token_logprobs,
    },
  }
}
function submission() {
  return {
    miner_hotkey: '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY',
    prompt_idx: 3,
    window_start: 9,
    merkle_root: 'ab'.repeat(32),
    rollouts: Array.from({ length: 8 }, () => ({
      tokens: referenceCommit().tokens,
      reward: 1.0,
      commit: referenceCommit(),
    })),
    checkpoint_hash: '',
    drand_round: 5,
    nonce: 'ff',
    envelope_signature: 'ab'.repeat(64),
  }
}

describe('wire schemas (E3)', () => {
  test('a submission in the reference layout round-trips through the strict schemas', () => {
    const body = JSON.stringify(submission())
    const req = parseSubmitRequest(body)
    expect(JSON.parse(JSON.stringify(req))).toEqual(JSON.parse(body))
    for (const r of req.rollouts) expect(parseCommit(r.commit).tokens).toEqual(r.tokens)
    const { drand_round: _d, nonce: _n, envelope_signature: _e, ...minimal } = submission()
    const withDefaults = parseSubmitRequest(minimal)
    expect([withDefaults.drand_round, withDefaults.nonce, withDefaults.envelope_signature]).toEqual(
      [0, '', ''],
    )
  })

  test('unknown fields are rejected at every level, as the reference does (422)', () => {
    expect(code(() => parseSubmitRequest({ ...submission(), extra: 1 }))).toBe('SCHEMA_INVALID')
    expect(code(() => parseSubmitRequest({ ...submission(), signed_round: 1 }))).toBe(
      'SCHEMA_INVALID',
    )
    const s = submission()
    ;(s.rollouts[0] as Record<string, unknown>).env_name = 'math'
    expect(code(() => parseSubmitRequest(s))).toBe('SCHEMA_INVALID')
    expect(code(() => parseCommit({ ...referenceCommit(), extra: true }))).toBe('SCHEMA_INVALID')
    expect(
      code(() =>
        parseCommit({ ...referenceCommit(), model: { name: 'x', layer_index: -1, revision: 'y' } }),
      ),
    ).toBe('SCHEMA_INVALID')
    expect(
      code(() =>
        parseCommit({
          ...referenceCommit(),
          rollout: { ...referenceCommit().rollout, forced: false },
        }),
      ),
    ).toBe('SCHEMA_INVALID')
  })

  test('the E1 profile takes signed_round and refuses the E3 fields', () => {
    const { drand_round: _d, nonce: _n, envelope_signature: _e, ...base } = submission()
    expect(parseSubmitRequest({ ...base, signed_round: 7 }, { profile: e1 })).toMatchObject({
      signed_round: 7,
    })
    expect(code(() => parseSubmitRequest(submission(), { profile: e1 }))).toBe('SCHEMA_INVALID')
    // E1 demands full-length token_logprobs (the reference E1 schema bug), E3 accepts completion-only.
    expect(code(() => parseCommit(referenceCommit(), { profile: e1 }))).toBe('SCHEMA_INVALID')
    expect(code(() => parseCommit(referenceCommit()))).toBe('NO_THROW')
  })

  test('commit invariants: one commitment per token, lengths add up, proof version, bounded sketches', () => {
    const c = referenceCommit()
    expect(code(() => parseCommit({ ...c, commitments: c.commitments.slice(1) }))).toBe(
      'SCHEMA_INVALID',
    )
    expect(
      code(() =>
        parseCommit({
          ...c,
          rollout: { ...c.rollout, completion_length: c.rollout.completion_length + 1 },
        }),
      ),
    ).toBe('SCHEMA_INVALID')
    expect(code(() => parseCommit({ ...c, proof_version: 'v7' }))).toBe('SCHEMA_INVALID')
    expect(
      code(() =>
        parseCommit({ ...c, commitments: c.commitments.map(() => ({ sketch: 2 ** 31 })) }),
      ),
    ).toBe('SCHEMA_INVALID')
    expect(code(() => parseCommit({ ...c, tokens: c.tokens.slice(0, 31) }))).toBe('SCHEMA_INVALID')
    expect(
      code(() => parseCommit({ ...c, beacon: { randomness: `0x${c.beacon.randomness}` } })),
    ).toBe('SCHEMA_INVALID')
  })

  test('hostile bodies: wrong types, non-integer tokens, NaN/Infinity, huge arrays, bad JSON, oversize', () => {
    const s = submission()
    const withToken = (t: unknown) => ({
      ...s,
      rollouts: s.rollouts.map((r, i) => (i ? r : { ...r, tokens: [t, ...r.tokens] })),
    })
    for (const bad of [1.5, -1, '7', null, true, 2 ** 60, Number.NaN])
      expect(
        code(() => parseSubmitRequest(withToken(bad))),
        String(bad),
      ).toBe('SCHEMA_INVALID')
    expect(code(() => parseSubmitRequest({ ...s, prompt_idx: '3' }))).toBe('SCHEMA_INVALID')
    expect(code(() => parseSubmitRequest({ ...s, rollouts: s.rollouts.slice(1) }))).toBe(
      'SCHEMA_INVALID',
    )
    expect(code(() => parseSubmitRequest({ ...s, merkle_root: 'xy'.repeat(32) }))).toBe(
      'SCHEMA_INVALID',
    )
    expect(
      code(() =>
        parseSubmitRequest({
          ...s,
          rollouts: s.rollouts.map((r) => ({ ...r, reward: Number.POSITIVE_INFINITY })),
        }),
      ),
    ).toBe('SCHEMA_INVALID')
    expect(code(() => parseSubmitRequest('{"miner_hotkey": NaN}'))).toBe('JSON_INVALID')
    expect(code(() => parseSubmitRequest('{'))).toBe('JSON_INVALID')
    expect(code(() => parseSubmitRequest('x'.repeat(1024), { maxBytes: 100 }))).toBe(
      'PAYLOAD_TOO_LARGE',
    )
    const huge = {
      ...s,
      rollouts: s.rollouts.map((r) => ({
        ...r,
        tokens: new Array(WIRE_LIMITS.maxTokensPerRollout + 1).fill(1),
      })),
    }
    expect(code(() => parseSubmitRequest(huge))).toBe('SCHEMA_INVALID')
    expect(code(() => parseSubmitRequest({ ...s, miner_hotkey: 'x'.repeat(1000) }))).toBe(
      'SCHEMA_INVALID',
    )
    for (const v of [null, 42, [], undefined, {}])
      expect(code(() => parseSubmitRequest(v))).toBe('SCHEMA_INVALID')
  })

  test('generated garbage never escapes as an untyped exception', () => {
    fc.assert(
      fc.property(
        fc.anything({ withTypedArray: true, withSparseArray: true, withNullPrototype: true }),
        (v) => {
          // Strings and byte arrays are read as JSON text, everything else as a parsed value.
          const ok = ['SCHEMA_INVALID', 'JSON_INVALID']
          return (
            ok.includes(code(() => parseSubmitRequest(v))) &&
            ok.includes(code(() => parseCommit(v)))
          )
        },
      ),
      { numRuns: 500 },
    )
    fc.assert(
      fc.property(fc.string(), (text) =>
        ['SCHEMA_INVALID', 'JSON_INVALID'].includes(code(() => parseSubmitRequest(text))),
      ),
      { numRuns: 500 },
    )
  })

  test('state, checkpoint, verdicts, health and response documents', () => {
    const state = {
      state: 'open',
      window_n: 5,
      anchor_block: 5,
      cooldown_prompts: [1, 2],
      valid_submissions: 0,
      checkpoint_n: 0,
      checkpoint_repo_id: null,
      checkpoint_revision: null,
      randomness: '',
    }
    expect(parseState(JSON.stringify(state))).toEqual(state)
    expect(code(() => parseState({ ...state, current_round: 3 }))).toBe('SCHEMA_INVALID')
    expect(code(() => parseState({ ...state, state: 'sealed' }))).toBe('SCHEMA_INVALID')
    const ck = {
      checkpoint_n: 3,
      repo_id: 'org/model',
      revision: 'a'.repeat(40),
      signature: `ed25519:${'ab'.repeat(64)}`,
    }
    expect(parseCheckpoint(ck)).toEqual(ck)
    expect(code(() => parseCheckpoint({ ...ck, signature: 'ab'.repeat(64) }))).toBe(
      'SCHEMA_INVALID',
    )
    expect(parseSubmitResponse({ accepted: true, reason: 'submitted' })).toEqual({
      accepted: true,
      reason: 'submitted',
    })
    expect(code(() => parseSubmitResponse({ accepted: false, reason: 'made_up' }))).toBe(
      'SCHEMA_INVALID',
    )
    const v = {
      verdicts: [
        {
          merkle_root: 'ab'.repeat(32),
          window_n: 3,
          accepted: false,
          reason: 'grail_fail',
          ts: 1.5,
        },
      ],
    }
    expect(parseVerdicts(v)).toEqual(v)
    expect(code(() => parseVerdicts({ verdicts: new Array(201).fill(v.verdicts[0]) }))).toBe(
      'SCHEMA_INVALID',
    )
    expect(parseHealth({ status: 'ok', active_window: null })).toEqual({
      status: 'ok',
      active_window: null,
    })
  })
})

describe('typed errors on bad input to the GRAIL core', () => {
  test('randomness hex', () => {
    expect(Array.from(decodeRandomness(' 0xABC '))).toEqual([0x0a, 0xbc])
    for (const bad of ['xyz', '0xg0', 'ab cd', 'a'.repeat(5000)])
      expect(
        code(() => decodeRandomness(bad)),
        bad,
      ).toBe('INVALID_HEX')
    expect(code(() => decodeRandomness(42 as unknown as string))).toBe('INVALID_HEX')
    expect(code(() => deriveSketchCoefficients('not hex'))).toBe('INVALID_HEX')
  })
  test('tokens', () => {
    for (const bad of [[1.5], [-1], ['3'], [null], [Number.NaN]])
      expect(
        code(() => hashTokens(bad as number[])),
        String(bad),
      ).toBe('INVALID_ARGUMENT')
    expect(code(() => challengeIndices({ tokens: [], randomness: 'ab' }))).toBe(
      'GRAIL_CHALLENGE_INVALID',
    )
    expect(code(() => challengeIndices({ tokens: [1, 2], randomness: 'ab', k: 3 }))).toBe(
      'GRAIL_CHALLENGE_INVALID',
    )
    expect(code(() => challengeIndices({ tokens: [1, 2], randomness: 'ab', k: 0 }))).toBe(
      'GRAIL_CHALLENGE_INVALID',
    )
    expect(code(() => challengeIndices({ tokens: [1], randomness: 'ab', seqLen: 2 ** 40 }))).toBe(
      'GRAIL_CHALLENGE_INVALID',
    )
  })
  test('hidden states: NaN, shapes, oversize', () => {
    const data = new Float32Array(4 * 32).fill(1)
    data[70] = Number.NaN
    const e = (() => {
      try {
        computeSketch({ data, hiddenSize: 32 }, 'ab')
      } catch (x) {
        return x
      }
      return undefined
    })()
    expect(isReliquaryError(e, 'NON_FINITE_VALUE')).toBe(true)
    expect((e as { meta: Record<string, unknown> }).meta).toMatchObject({ row: 2, col: 6 })
    expect(code(() => computeSketch({ data: new Float32Array(40), hiddenSize: 8 }, 'ab'))).toBe(
      'GRAIL_SHAPE_MISMATCH',
    )
    expect(code(() => computeSketch({ data: new Float32Array(40), hiddenSize: 3 }, 'ab'))).toBe(
      'GRAIL_SHAPE_MISMATCH',
    )
    expect(code(() => computeSketch([[1, 2], [3]], 'ab'))).toBe('GRAIL_SHAPE_MISMATCH')
    expect(
      code(() => computeSketch({ data: [1, 2] as unknown as Float32Array, hiddenSize: 2 }, 'ab')),
    ).toBe('INVALID_ARGUMENT')
    expect(
      code(() => computeSketch({ data: new Float32Array(64), hiddenSize: 16 }, new Int8Array(3))),
    ).toBe('INVALID_ARGUMENT')
    expect(
      code(() =>
        computeSketch({ data: new Float32Array(16), hiddenSize: 16 }, 'ab', { rows: [1] }),
      ),
    ).toBe('GRAIL_SHAPE_MISMATCH')
    const tokens = Array.from({ length: 40 }, (_, i) => i)
    const hidden = { data: new Float32Array(40 * 16).map((_, i) => i % 7), hiddenSize: 16 }
    expect(
      code(() =>
        verifySketch({ tokens, commitments: new Array(39).fill(0), randomness: 'ab', hidden }),
      ),
    ).toBe('GRAIL_SHAPE_MISMATCH')
    expect(
      code(() =>
        verifySketch({
          tokens,
          commitments: new Array(40).fill(0),
          randomness: 'ab',
          hidden,
          hiddenRows: 'challenges',
        }),
      ),
    ).toBe('GRAIL_SHAPE_MISMATCH')
  })
  test('PRF bounds and profiles', () => {
    expect(prf('open', [], 0)).toHaveLength(0)
    expect(code(() => prf('open', [], 65_537))).toBe('INVALID_ARGUMENT')
    expect(code(() => prf('open', ['x' as unknown as Uint8Array], 8))).toBe('INVALID_ARGUMENT')
    expect(code(() => getProfile('e9'))).toBe('PROFILE_UNKNOWN')
    expect(code(() => defineProfile(e3, { id: 'e3' }))).toBe('INVALID_ARGUMENT')
    expect(Object.isFrozen(e3.grail)).toBe(true)
    const demo = defineProfile(e3, { id: 'demo', sampling: { maxNewTokensCap: 48 } })
    expect([
      demo.sampling.maxNewTokensCap,
      demo.sampling.temperature,
      e3.sampling.maxNewTokensCap,
    ]).toEqual([48, 0.9, 8192])
  })
})
