// Step 8 of the validator's window (src/validator/steps/finishWindow.ts) and the error path: back
// to `ready`, the window cleared from the state and the pipeline.
import { describe, expect, test } from 'vitest'
import { abortWindow, finishWindow } from '../../src/validator/steps/finishWindow.js'
import { WINDOW } from '../_admission.js'
import { admittedWindow, eventTypes, harness } from './_fakes.js'

describe('finishWindow / abortWindow', () => {
  test('finish: publishing → ready, no active window anywhere', async () => {
    const h = harness({ lastWindowN: WINDOW - 1 })
    const s = await admittedWindow(1)
    const ctx = { ...h.ctx, pipeline: s.pipeline }
    h.state.batcher = s.batcher
    h.ctx.machine.open(WINDOW)
    h.ctx.machine.startTraining()
    h.ctx.machine.startPublishing()
    finishWindow(h.state, ctx)
    expect(h.ctx.machine.phase).toBe('ready')
    expect(h.state.batcher).toBeNull()
    expect(s.pipeline.activeBatcher).toBeNull()
    expect(eventTypes(h.events).at(-1)).toBe('state:ready')
  })

  test('finish from the open phase is illegal', () => {
    const h = harness({ lastWindowN: WINDOW - 1 })
    h.ctx.machine.open(WINDOW)
    expect(() => finishWindow(h.state, h.ctx)).toThrow(
      expect.objectContaining({ code: 'WINDOW_STATE_INVALID' }),
    )
  })

  test('abort: from any phase back to ready, marked aborted', async () => {
    const h = harness({ lastWindowN: WINDOW - 1 })
    const s = await admittedWindow(1)
    const ctx = { ...h.ctx, pipeline: s.pipeline }
    h.state.batcher = s.batcher
    h.ctx.machine.open(WINDOW)
    const seen: boolean[] = []
    h.ctx.machine.on('ready', (e) => seen.push(e.aborted))
    abortWindow(h.state, ctx)
    expect(h.ctx.machine.phase).toBe('ready')
    expect(seen).toEqual([true])
    expect(h.state.batcher).toBeNull()
    expect(s.pipeline.activeBatcher).toBeNull()
  })
})
