// Admission with a chain registry: an unregistered miner_hotkey is rejected at the handler with
// `hotkey_not_registered` (after the envelope check, before the quota); without a registry nothing
// is checked, as in the demo.
import { beforeAll, describe, expect, test } from 'vitest'
import type { Hotkey } from '../src/crypto/sr25519.js'
import { resolveDemoOptions } from '../src/demo/resolveDemoOptions.js'
import { e1, e3 } from '../src/protocol/profiles.js'
import { AdmissionPipeline } from '../src/window/admission/admissionPipeline.js'
import { WindowBatcher } from '../src/window/seal/windowBatcher.js'
import {
  RANDOMNESS,
  T_ROUND,
  WINDOW,
  buildBody,
  decode,
  hotkeys,
  makeEnvironment,
  promptTokens,
  schemaOnlyVerifier,
} from './_admission.js'
import { expectCode } from './_errors.js'

let alice: Hotkey
let bob: Hotkey
beforeAll(async () => {
  ;[alice, bob] = (await hotkeys()) as [Hotkey, Hotkey]
})

function pipelineWith(isRegistered?: (h: string) => boolean | undefined): AdmissionPipeline {
  const pipeline = new AdmissionPipeline({
    profile: e3,
    environment: makeEnvironment(),
    decode,
    promptTokens,
    verifyRollout: schemaOnlyVerifier,
    ...(isRegistered ? { isRegistered } : {}),
  })
  pipeline.setActiveBatcher(new WindowBatcher({ windowStart: WINDOW, randomness: RANDOMNESS }))
  pipeline.setPhase('open')
  return pipeline
}
const at = { arrivalSeconds: T_ROUND }

describe('registration check', () => {
  test('an unregistered hotkey is hotkey_not_registered at the handler and uses no quota', async () => {
    const p = pipelineWith((h) => h === alice.address)
    const v = await p.submit(await buildBody({ hotkey: bob, promptIdx: 3 }), at)
    expect(v).toMatchObject({
      accepted: false,
      reason: 'hotkey_not_registered',
      stage: 'handler',
      check: 'registered',
    })
    expect(p.ledger.used(bob.address)).toBe(0)
    expect(p.verdicts(bob.address).verdicts.map((x) => x.reason)).toEqual(['hotkey_not_registered'])
    const ok = await p.submit(await buildBody({ hotkey: alice, promptIdx: 3 }), at)
    expect(ok).toMatchObject({ accepted: true, reason: 'submitted' })
  })

  test('a bad envelope is still bad_envelope_signature: registration runs after the signature', async () => {
    const p = pipelineWith(() => false)
    const body = { ...(await buildBody({ hotkey: bob, promptIdx: 3 })), nonce: 'tampered' }
    expect(await p.submit(body, at)).toMatchObject({ reason: 'bad_envelope_signature' })
  })

  test('no metagraph read yet: registration_unavailable (fail closed); a throwing lookup too', async () => {
    expect(
      await pipelineWith(() => undefined).submit(
        await buildBody({ hotkey: alice, promptIdx: 3 }),
        at,
      ),
    ).toMatchObject({ accepted: false, reason: 'registration_unavailable' })
    const throwing = pipelineWith(() => {
      throw new Error('boom')
    })
    expect(
      await throwing.submit(await buildBody({ hotkey: alice, promptIdx: 4 }), at),
    ).toMatchObject({ accepted: false, reason: 'registration_unavailable' })
  })

  test('without a registry nothing is checked (demo and tests)', async () => {
    const v = await pipelineWith().submit(await buildBody({ hotkey: bob, promptIdx: 3 }), at)
    expect(v).toMatchObject({ accepted: true, reason: 'submitted' })
  })
})

test('both profiles list the registration reasons (the check runs in E1 too, first in its handler)', () => {
  for (const profile of [e1, e3])
    expect(profile.rejectReasons).toEqual(
      expect.arrayContaining(['hotkey_not_registered', 'registration_unavailable']),
    )
})

test('demo --chain: the chain option is a boolean or a ws:// URL', () => {
  expect(resolveDemoOptions({}).chain).toBe(false)
  expect(resolveDemoOptions({ chain: true }).chain).toBe(true)
  expect(resolveDemoOptions({ chain: { url: 'ws://127.0.0.1:1' } }).chain).toEqual({
    url: 'ws://127.0.0.1:1',
  })
  for (const chain of [{ url: 'http://127.0.0.1:1' }, 'yes', 1])
    expectCode(() => resolveDemoOptions({ chain: chain as never }), 'INVALID_ARGUMENT')
})
