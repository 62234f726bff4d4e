// Step 3 of the validator's window (src/validator/steps/sealOpenWindow.ts): phase `training`,
// then the seal (batch, emission, cooldown), reported once.
import { describe, expect, test } from 'vitest'
import { sealOpenWindow } from '../../src/validator/steps/sealOpenWindow.js'
import { T_ROUND, WINDOW } from '../_admission.js'
import { admittedWindow, eventTypes, harness } from './_fakes.js'

describe('sealOpenWindow', () => {
  test('a full window: training phase, B groups, the winners enter the cooldown', async () => {
    const h = harness({ lastWindowN: WINDOW - 1 })
    h.ctx.machine.open(WINDOW)
    const s = await admittedWindow(8)
    const at = T_ROUND + 30
    const sealed = sealOpenWindow(s.batcher, h.ctx, { reason: 'trigger', atSeconds: at })
    expect(h.ctx.machine.phase).toBe('training')
    expect(s.batcher.isSealed).toBe(true)
    expect(sealed.trained).toBe(true)
    expect(sealed.batch.map((x) => x.promptIdx).sort((a, b) => a - b)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7,
    ])
    expect(s.cooldown.inCooldown(WINDOW + 1)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    expect(eventTypes(h.events)).toEqual(['state:open', 'state:training', 'sealed'])
    expect(h.events.at(-1)).toEqual({
      type: 'sealed',
      windowN: WINDOW,
      reason: 'trigger',
      validSubmissions: 8,
      batchSize: 8,
      trained: true,
    })
    expect(h.events[1]).toMatchObject({ atSeconds: at })
  })

  test('a partial window seals at once, whatever the queue, and does not train', async () => {
    const h = harness({ lastWindowN: WINDOW - 1 })
    h.ctx.machine.open(WINDOW)
    const s = await admittedWindow(3)
    h.pending.n = 5
    const sealed = sealOpenWindow(s.batcher, h.ctx, { reason: 'closed', atSeconds: T_ROUND + 1 })
    expect(sealed.trained).toBe(false)
    expect(sealed.batch).toHaveLength(3)
    expect(sealed.burn).toBeCloseTo(5 / 8, 12)
    expect(h.events.at(-1)).toMatchObject({ reason: 'closed', batchSize: 3, trained: false })
  })

  test('sealing outside the open phase throws and seals nothing', async () => {
    const h = harness({ lastWindowN: WINDOW - 1 })
    const s = await admittedWindow(2)
    expect(() =>
      sealOpenWindow(s.batcher, h.ctx, { reason: 'timeout', atSeconds: T_ROUND }),
    ).toThrow(expect.objectContaining({ code: 'WINDOW_STATE_INVALID' }))
    expect(s.batcher.isSealed).toBe(false)
  })
})
