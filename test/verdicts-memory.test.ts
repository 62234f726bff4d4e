// /verdicts memory is bounded: only authenticated hotkeys get a ring, old windows are pruned, and
// the number of hotkeys kept is capped.
import { beforeAll, describe, expect, test } from 'vitest'
import type { Hotkey } from '../src/crypto/sr25519.js'
import { WindowBatcher } from '../src/window/seal/windowBatcher.js'
import { RANDOMNESS, T_ROUND, WINDOW, buildBody, hotkeys, setup } from './_admission.js'

let keys: Hotkey[]
beforeAll(async () => {
  keys = await hotkeys()
})
const at = { arrivalSeconds: T_ROUND }

describe('bounded /verdicts', () => {
  test('bad envelopes under invented hotkeys leave nothing; a known hotkey still sees its own', async () => {
    const s = setup()
    const body = await buildBody({ hotkey: keys[0]!, promptIdx: 3 })
    for (let i = 0; i < 300; i++) {
      const v = await s.pipeline.submit({ ...body, miner_hotkey: `5Invented${i}` }, at)
      expect(v.reason).toBe('bad_envelope_signature')
      // Before: each invented hotkey got a /verdicts ring (2 entries per window each).
      expect(s.pipeline.verdicts(`5Invented${i}`).verdicts).toEqual([])
    }
    // An authenticated submission creates the ring; a later bad envelope of that hotkey is kept.
    expect((await s.pipeline.submit(body, at)).reason).toBe('submitted')
    await s.pipeline.processNext({ nowSeconds: T_ROUND })
    const forged = { ...body, envelope_signature: 'ab'.repeat(64) }
    expect((await s.pipeline.submit(forged, at)).reason).toBe('bad_envelope_signature')
    expect(s.pipeline.verdicts(keys[0]!.address).verdicts.map((v) => v.reason)).toEqual([
      'accepted',
      'bad_envelope_signature',
    ])
  })

  test('verdicts of windows older than the last three are pruned when a window opens', async () => {
    const s = setup()
    const body = await buildBody({ hotkey: keys[1]!, promptIdx: 4 })
    expect((await s.pipeline.submit(body, at)).reason).toBe('submitted')
    await s.pipeline.processNext({ nowSeconds: T_ROUND })
    expect(s.pipeline.verdicts(keys[1]!.address).verdicts).toHaveLength(1)
    s.pipeline.setActiveBatcher(
      new WindowBatcher({ windowStart: WINDOW + 2, randomness: RANDOMNESS }),
    )
    expect(s.pipeline.verdicts(keys[1]!.address).verdicts).toHaveLength(1)
    s.pipeline.setActiveBatcher(
      new WindowBatcher({ windowStart: WINDOW + 3, randomness: RANDOMNESS }),
    )
    expect(s.pipeline.verdicts(keys[1]!.address).verdicts).toEqual([])
  })
})
