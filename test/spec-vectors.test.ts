// The test vectors of docs/protocol.md §12, computed with the upstream Python functions.
import { sha256 } from '@noble/hashes/sha2'
import { describe, expect, test } from 'vitest'
import {
  challengeIndices,
  challengeSeed,
  commitBindingDigest,
  deriveSketchCoefficients,
  drandRoundAt,
  envelopeDigest,
  hashTokens,
  prf,
  rolloutsMerkleRoot,
  windowRandomnessE1,
  windowRandomnessE3,
} from '../src/index.js'
import { coefficientsFromPrf } from '../src/grail/coefficients.js'
import { toHex } from '../src/_utils/bytes.js'

const R = 'b8ae25a3d8be558258bd42c986a27580c1754c29f418fd135045adcb3721cf0b'
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i)

describe('docs/protocol.md §12 vectors', () => {
  test('randomness is sha256("reliquary-test-vector")', () => {
    expect(toHex(sha256(new TextEncoder().encode('reliquary-test-vector')))).toBe(R)
  })
  test('PRF and r', () => {
    expect(toHex(prf('sketch', [Buffer.from(R, 'hex')], 32))).toBe(
      'e5cbd40fb45c96e88c91a8be81dcbc1572860deec624357dd43d872a3f5d37ca',
    )
    expect(Array.from(deriveSketchCoefficients(R))).toEqual([
      -48, -98, 112, 2, 99, 26, 35, -80, 121, 124, -105, 51, 111, -48, 29, -125,
    ])
  })
  test('int16 mapping, including the -32768 quirk', () => {
    const words = [-32768, 32767, -1, 0, 255, -255, 127, 128]
    const raw = new Uint8Array(16)
    const dv = new DataView(raw.buffer)
    words.forEach((w, i) => {
      dv.setInt16(2 * i, w)
    })
    expect(Array.from(coefficientsFromPrf(raw, 8, 127))).toEqual([
      0, 0, -126, -127, -127, -127, 0, 1,
    ])
  })
  test('challenge indices: sample path (L = 400)', () => {
    expect(challengeIndices({ tokens: range(1000, 1400), randomness: R, k: 32 })).toEqual([
      2, 7, 13, 17, 19, 69, 86, 132, 137, 140, 152, 154, 157, 163, 198, 201, 203, 217, 219, 221,
      238, 242, 265, 271, 300, 322, 342, 344, 345, 362, 367, 373,
    ])
  })
  test('challenge indices: shuffle path (L = 200), seed and range form', () => {
    const tokens = range(1000, 1200)
    expect(toHex(hashTokens(tokens))).toBe(
      '519833a2c2363fffec8cf2c46cf76d89bdbc3c18413431ca250bdcd63c90f925',
    )
    expect(toHex(challengeSeed(tokens, R))).toBe(
      '4c7f592aec3dd59287535b424c5a71f1fb43a3ba19385ed25d50d5f039bb820b',
    )
    expect(challengeIndices({ tokens, randomness: R, k: 32 })).toEqual([
      0, 1, 8, 9, 10, 21, 23, 28, 31, 32, 34, 54, 58, 67, 72, 76, 84, 86, 90, 91, 96, 99, 112, 116,
      125, 129, 131, 135, 158, 168, 180, 188,
    ])
    expect(challengeIndices({ tokens, randomness: R, start: 50, end: 200, k: 32 })).toEqual([
      50, 51, 55, 56, 60, 62, 64, 66, 67, 73, 74, 86, 87, 99, 106, 119, 120, 121, 133, 136, 139,
      141, 144, 154, 159, 162, 164, 180, 188, 191, 193, 194,
    ])
  })
  test('commit binding', () => {
    const Q = 2_147_483_647
    const commitments = range(0, 200).map((i) => ({ sketch: (7919 * i) % Q }))
    const d = commitBindingDigest({
      tokens: range(1000, 1200),
      randomness: R,
      modelName: 'Qwen/Qwen3-4B-Instruct-2507',
      layerIndex: -1,
      commitments,
    })
    expect(toHex(d)).toBe('7146d2592f2f1a581f91d0916924ec2bb52ec4fec7de478d978d14926fb071a4')
  })
  test('window randomness, E3 and E1 forms', () => {
    const D = toHex(sha256(new TextEncoder().encode('drand-sig')))
    expect(windowRandomnessE3(D, 1000)).toBe(
      'ddab8324c5f4afe7fb4dc280883cc6f7a2c6e606247ffc000f50e0cfe693a8c9',
    )
    expect(windowRandomnessE1(`0x${'11'.repeat(32)}`, { randomness: D, round: 1 })).toBe(
      '0e9914356a20f034ac794aa381778ebe1555011a83733cef554f384f4da61e5d',
    )
  })
  test('E3 envelope digest', () => {
    const d = envelopeDigest({
      minerHotkey: '5CXzFHfeiJ4Xkiirq4ej1MrRVCd789wEJXhpf2ZKRW6MNFJF',
      windowStart: 42,
      promptIdx: 4821,
      merkleRoot: 'ab'.repeat(32),
      checkpointHash: 'c'.repeat(40),
      drandRound: 1000,
      randomness: R,
      nonce: '00112233445566778899aabbccddeeff',
    })
    expect(toHex(d)).toBe('2c348017c381bf93e0d7f7b7612b58c5cf95806a6abe49c35c61ee81acabeaa0')
  })
  test('merkle root with Python float formatting', () => {
    const rollouts = [0, 1, 2].map((i) => ({
      tokens: [1, 2, 3],
      reward: i % 2,
      commit: {
        tokens: [1, 2, 3],
        rollout: { token_logprobs: [-1.2e-5, -0.5, -3.0], total_reward: 0.0 },
        beacon: { randomness: 'ab' },
      },
    }))
    expect(rolloutsMerkleRoot(rollouts)).toBe(
      'cb787c699cbd53d98b233862ce1f22cf4e8445b22159af1d5c225fe056efebcb',
    )
  })
  test('drand round at genesis + 10 s', () => {
    expect(drandRoundAt(1692803367 + 10, { genesisTime: 1692803367, periodSeconds: 3 })).toBe(4)
  })
})
