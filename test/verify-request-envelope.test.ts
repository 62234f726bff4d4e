// verifyRequestEnvelope (the /submit handler's envelope check, in the parsing threads and on the
// event loop): the same answer as verifyEnvelope on the request's fields, for good envelopes, every
// kind of broken one, replays (answered from memory), and hotkeys seen before (their decoded key
// is reused) or after the caches started over.
import { u8aWrapBytes } from '@polkadot/util'
import { beforeAll, expect, test } from 'vitest'
import { envelopeDigest, verifyEnvelope, type EnvelopeFields } from '../src/crypto/envelope.js'
import { hotkeyAddress, hotkeyPublicKey, type Hotkey } from '../src/crypto/sr25519.js'
import { e1, e3 } from '../src/protocol/profiles.js'
import { toHex } from '../src/_utils/bytes.js'
import type { AdmissionRequest } from '../src/window/admission/admissionTypes.js'
import { parseSubmission } from '../src/window/admission/runAdmission.js'
import { verifyRequestEnvelope } from '../src/window/admission/verifyRequestEnvelope.js'
import { RANDOMNESS, buildBody, hotkeys, signBody } from './_admission.js'

let keys: Hotkey[]
let bodies: Record<string, any>[]
beforeAll(async () => {
  keys = await hotkeys()
  bodies = await Promise.all(
    keys.map((hotkey, i) => buildBody({ hotkey, promptIdx: i, nonce: `n${i}` })),
  )
})

const fieldsOf = (b: Record<string, any>, randomness: string): EnvelopeFields => ({
  minerHotkey: b.miner_hotkey,
  windowStart: b.window_start,
  promptIdx: b.prompt_idx,
  merkleRoot: b.merkle_root,
  checkpointHash: b.checkpoint_hash,
  drandRound: b.drand_round,
  randomness,
  nonce: b.nonce,
})

function request(b: Record<string, any>): AdmissionRequest {
  const r = parseSubmission(b, { profile: e3, stage: 'handler' })
  if (!r.ok) throw new Error(r.reject.detail)
  return r.request
}

/** Asserts both functions give `expected` for body `b` against `randomness`. */
async function expectBoth(b: Record<string, any>, randomness: string, expected: boolean) {
  expect(await verifyEnvelope(fieldsOf(b, randomness), b.envelope_signature)).toBe(expected)
  expect(await verifyRequestEnvelope(request(b), randomness)).toBe(expected)
}

test('good envelopes verify, twice (the second time from the decoded-key cache)', async () => {
  for (let pass = 0; pass < 2; pass++) for (const b of bodies) await expectBoth(b, RANDOMNESS, true)
})

test('every broken envelope fails in both', async () => {
  const [a, b] = [bodies[0]!, bodies[1]!]
  const flip = (hex: string, at: number) =>
    hex.slice(0, at) + (hex[at] === '0' ? '1' : '0') + hex.slice(at + 1)
  // Another window randomness, or none.
  await expectBoth(a, 'ff'.repeat(32), false)
  await expectBoth(a, '', false)
  // One hex digit of the signature changed (in R, in s, in the marker byte).
  for (const at of [0, 70, 127])
    await expectBoth(
      { ...a, envelope_signature: flip(a.envelope_signature, at) },
      RANDOMNESS,
      false,
    )
  // Signed by another key; claimed by another key; a field changed after signing.
  await expectBoth({ ...a, envelope_signature: b.envelope_signature }, RANDOMNESS, false)
  await expectBoth({ ...a, miner_hotkey: b.miner_hotkey }, RANDOMNESS, false)
  await expectBoth({ ...a, nonce: 'other' }, RANDOMNESS, false)
  await expectBoth({ ...a, prompt_idx: a.prompt_idx + 1 }, RANDOMNESS, false)
  // Signatures that are not 64 bytes, or not hex.
  await expectBoth(
    { ...a, envelope_signature: a.envelope_signature.slice(0, 126) },
    RANDOMNESS,
    false,
  )
  await expectBoth({ ...a, envelope_signature: '' }, RANDOMNESS, false)
  // A hotkey that is not an SS58 address (bad checksum; not base58), before and after a good one.
  const badSum = `${a.miner_hotkey.slice(0, -1)}${a.miner_hotkey.endsWith('A') ? 'B' : 'A'}`
  for (const hk of [badSum, 'not-an-address', badSum]) {
    const c = { ...a, miner_hotkey: hk }
    await expectBoth(c, RANDOMNESS, false)
  }
})

test('a signature over the wrapped digest verifies in both (Bittensor Keypair.verify)', async () => {
  const a = bodies[2]!
  const key = keys[2]!
  const wrapped = toHex(key.sign(u8aWrapBytes(envelopeDigest(fieldsOf(a, RANDOMNESS)))))
  await expectBoth({ ...a, envelope_signature: wrapped }, RANDOMNESS, true)
  // Good once re-signed after the change: the change alone is what failed above.
  const c: Record<string, any> = { ...a, nonce: 'other' }
  c.envelope_signature = signBody(key, c)
  await expectBoth(c, RANDOMNESS, true)
})

test('a replayed envelope (answered from memory) gets the same answer each time', async () => {
  const a = bodies[5]!
  const bad = { ...a, envelope_signature: bodies[4]!.envelope_signature }
  for (let i = 0; i < 3; i++) {
    await expectBoth(a, RANDOMNESS, true)
    await expectBoth(bad, RANDOMNESS, false)
    // The same signature text against another randomness is another envelope.
    await expectBoth(a, 'ee'.repeat(32), false)
  }
})

test('an E1 request has no envelope: false', async () => {
  const { drand_round: _d, nonce: _n, envelope_signature: _e, ...rest } = bodies[0]!
  const r = parseSubmission({ ...rest, signed_round: 7 }, { profile: e1, stage: 'handler' })
  if (!r.ok) throw new Error(r.reject.detail)
  expect(await verifyRequestEnvelope(r.request, RANDOMNESS)).toBe(false)
})

test('after the key cache starts over (4,096 other hotkeys) answers are unchanged', async () => {
  const r = request(bodies[3]!)
  for (let i = 0; i < 4100; i++) {
    const pk = new Uint8Array(32)
    pk[0] = i & 255
    pk[1] = i >> 8
    pk[2] = 7
    const other = { ...r, miner_hotkey: hotkeyAddress(pk) } as AdmissionRequest
    expect(await verifyRequestEnvelope(other, RANDOMNESS)).toBe(false)
  }
  for (const b of bodies) await expectBoth(b, RANDOMNESS, true)
  await expectBoth({ ...bodies[4]!, miner_hotkey: bodies[5]!.miner_hotkey }, RANDOMNESS, false)
})

test('hotkeyPublicKey hands out a copy: changing it does not change the remembered key', () => {
  const address = keys[0]!.address
  const first = hotkeyPublicKey(address)
  expect(toHex(first)).toBe(toHex(keys[0]!.publicKey))
  first.fill(0)
  expect(toHex(hotkeyPublicKey(address))).toBe(toHex(keys[0]!.publicKey))
  const again = hotkeyPublicKey(address)
  again.fill(1)
  expect(toHex(hotkeyPublicKey(address))).toBe(toHex(keys[0]!.publicKey))
})
