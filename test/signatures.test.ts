import { sr25519Sign } from '@polkadot/util-crypto'
import { u8aWrapBytes } from '@polkadot/util'
import { Keyring } from '@polkadot/keyring'
import { beforeAll, describe, expect, test } from 'vitest'
import {
  commitBindingDigest,
  computeSketch,
  createHotkey,
  ensureCryptoReady,
  envelopeDigest,
  isReliquaryError,
  signCommit,
  signEnvelope,
  verifyCommitSignature,
  verifyEnvelope,
  verifyHotkeySignature,
  type Hotkey,
} from '../src/index.js'
import { toHex } from '../src/_utils/bytes.js'

let alice: Hotkey
let bob: Hotkey
beforeAll(async () => {
  await ensureCryptoReady()
  alice = await createHotkey('//Alice')
  bob = await createHotkey('//Bob')
})

function makeCommit(randomness: string) {
  const tokens = Array.from({ length: 40 }, (_, i) => 100 + i)
  const data = new Float32Array(40 * 32).map((_, i) => Math.sin(i) * 40)
  const commitments = computeSketch({ data, hiddenSize: 32 }, randomness).map((sketch) => ({
    sketch,
  }))
  return {
    tokens,
    commitments,
    proof_version: 'v5',
    model: { name: 'tiny/qwen3', layer_index: -1 },
    beacon: { randomness },
  }
}

describe('sr25519 hotkeys', () => {
  test('the well-known dev account derives the well-known address', () => {
    expect(alice.address).toBe('5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY')
  })

  test('a commit signed by the miner verifies; another hotkey, another randomness or a changed token does not', async () => {
    const commit = makeCommit('ab'.repeat(32))
    const signature = signCommit(alice, commit)
    expect(await verifyCommitSignature({ ...commit, signature }, alice.address)).toBe(true)
    expect(await verifyCommitSignature({ ...commit, signature }, bob.address)).toBe(false)
    expect(
      await verifyCommitSignature({ ...commit, signature: signCommit(bob, commit) }, alice.address),
    ).toBe(false)
    expect(
      await verifyCommitSignature(
        { ...commit, beacon: { randomness: 'cd'.repeat(32) }, signature },
        alice.address,
      ),
    ).toBe(false)
    expect(
      await verifyCommitSignature(
        { ...commit, tokens: [...commit.tokens.slice(0, -1), 7], signature },
        alice.address,
      ),
    ).toBe(false)
    expect(
      await verifyCommitSignature({ ...commit, proof_version: 'v7', signature }, alice.address),
    ).toBe(false)
  })

  test('a <Bytes>-wrapped signature (polkadot-js signRaw) verifies, as btwallet accepts it', async () => {
    const commit = makeCommit('ef'.repeat(32))
    const digest = commitBindingDigest({
      tokens: commit.tokens,
      randomness: commit.beacon.randomness,
      modelName: commit.model.name,
      layerIndex: -1,
      commitments: commit.commitments,
    })
    const pair = new Keyring({ type: 'sr25519' }).addFromUri('//Alice')
    const wrapped = toHex(
      sr25519Sign(u8aWrapBytes(digest), {
        publicKey: pair.publicKey,
        secretKey: (pair as unknown as { encodePkcs8(): Uint8Array }).encodePkcs8().slice(16, 80),
      }),
    )
    expect(await verifyHotkeySignature(digest, wrapped, alice.address)).toBe(true)
    expect(await verifyCommitSignature({ ...commit, signature: wrapped }, alice.address)).toBe(true)
  })

  test('malformed signatures and addresses give false, never a throw', async () => {
    const d = new Uint8Array(32)
    for (const sig of ['', 'zz', 'ab'.repeat(63), 'ab'.repeat(65), `0x${'ab'.repeat(64)}`]) {
      expect(await verifyHotkeySignature(d, sig, alice.address)).toBe(false)
    }
    for (const addr of [
      '',
      'not-an-address',
      '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQZ',
      'x'.repeat(10_000),
    ]) {
      expect(await verifyHotkeySignature(d, alice.sign(d), addr)).toBe(false)
    }
  })

  test('an undecodable secret is a typed error', async () => {
    await expect(createHotkey('this is not a mnemonic at all')).rejects.toSatisfy((e) =>
      isReliquaryError(e, 'SIGNATURE_INVALID_KEY'),
    )
  })
})

describe('E3 envelope', () => {
  const fields = () => ({
    minerHotkey: alice.address,
    windowStart: 12,
    promptIdx: 4,
    merkleRoot: 'ab'.repeat(32),
    checkpointHash: '',
    drandRound: 1_000_001,
    randomness: 'cd'.repeat(32),
    nonce: '00ff',
  })
  test('sign then verify; every bound field breaks it', async () => {
    const sig = signEnvelope(alice, fields())
    expect(await verifyEnvelope(fields(), sig)).toBe(true)
    const changes: Partial<ReturnType<typeof fields>>[] = [
      { windowStart: 13 },
      { promptIdx: 5 },
      { merkleRoot: 'ac'.repeat(32) },
      { checkpointHash: 'x' },
      { drandRound: 1_000_002 },
      { randomness: 'ce'.repeat(32) },
      { nonce: '00fe' },
      { minerHotkey: bob.address },
    ]
    for (const ch of changes)
      expect(await verifyEnvelope({ ...fields(), ...ch }, sig), JSON.stringify(ch)).toBe(false)
  })
  test('malformed envelope fields give false from verify and a typed error from the digest', async () => {
    expect(await verifyEnvelope({ ...fields(), merkleRoot: 'xyz' }, 'ab'.repeat(64))).toBe(false)
    expect(() => envelopeDigest({ ...fields(), windowStart: -1 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    )
    expect(() => envelopeDigest({ ...fields(), merkleRoot: 'ab' })).toThrow(
      expect.objectContaining({ code: 'INVALID_HEX' }),
    )
  })
})
