// Step 2 of the validator's window (src/validator/steps/admitUntilSeal.ts): admission runs until
// the seal is due (with an empty queue), the window times out, or the operator closes it.
import { describe, expect, test } from 'vitest'
import { admitUntilSeal } from '../../src/validator/steps/admitUntilSeal.js'
import { e3 } from '../../src/protocol/profiles.js'
import { WindowBatcher } from '../../src/window/seal/windowBatcher.js'
import { RANDOMNESS, WINDOW } from '../_admission.js'
import { admittedWindow, harness } from './_fakes.js'

describe('admitUntilSeal', () => {
  test('an aborted signal closes at once, without polling', async () => {
    const h = harness()
    const s = await admittedWindow(1)
    const close = new AbortController()
    close.abort()
    expect(await admitUntilSeal(s.batcher, h.ctx, close.signal)).toBe('closed')
    expect(h.clock.slept).toEqual([])
  })

  test('a window with no trigger polls until its timeout', async () => {
    const h = harness()
    const opened = h.clock.t
    const b = new WindowBatcher({
      windowStart: WINDOW,
      randomness: RANDOMNESS,
      profile: e3,
      openedAtSeconds: opened,
    })
    expect(await admitUntilSeal(b, h.ctx, new AbortController().signal)).toBe('timeout')
    expect(h.clock.t - opened).toBeGreaterThanOrEqual(e3.window.windowTimeoutSeconds)
    expect(h.clock.t - opened).toBeLessThan(e3.window.windowTimeoutSeconds + 0.1)
    expect(new Set(h.clock.slept)).toEqual(new Set([50]))
  })

  test('a full window seals on its trigger once the queue is empty', async () => {
    const h = harness()
    const s = await admittedWindow(8)
    const due = s.batcher.sealDueAt()
    expect(due).not.toBeNull()
    h.clock.t = due! - 1
    h.pending.n = 2
    const polls: number[] = []
    const ctx = {
      ...h.ctx,
      sleep: async (ms: number) => {
        polls.push(h.pending.n)
        h.clock.t += ms / 1000
        // The queue drains two seconds after the seal time.
        if (h.clock.t > due! + 2) h.pending.n = 0
      },
    }
    expect(await admitUntilSeal(s.batcher, ctx, new AbortController().signal)).toBe('trigger')
    expect(h.clock.t).toBeGreaterThan(due! + 2)
    expect(polls.length).toBeGreaterThan(0)
    expect(s.batcher.isSealed).toBe(false)
  })
})
