// Step 1 of the validator's window (src/validator/steps/openWindow.ts): the next drand boundary,
// that round's verified beacon, a fresh batcher sharing the cooldown and dedup, phase `open`.
import { describe, expect, test } from 'vitest'
import { drandRoundAt, drandRoundTime } from '../../src/drand/round.js'
import { windowRandomnessFromBeacon } from '../../src/drand/windowRandomnessFromBeacon.js'
import { ReliquaryError } from '../../src/errors/base.js'
import { openWindow } from '../../src/validator/steps/openWindow.js'
import { eventTypes, harness } from './_fakes.js'

describe('openWindow', () => {
  test('waits for the next boundary, opens windowN + 1 with that round’s beacon', async () => {
    const h = harness({ lastWindowN: 7 })
    const timing = h.ctx.timing
    const round = drandRoundAt(h.clock.t, timing) + 1
    const opened = await openWindow(h.state, h.ctx)
    expect(opened.windowN).toBe(8)
    expect(opened.round).toBe(round)
    expect(h.clock.t).toBeGreaterThanOrEqual(drandRoundTime(round, timing))
    expect(h.clock.t).toBeLessThan(drandRoundTime(round, timing) + 1)
    expect(opened.randomness).toBe(
      windowRandomnessFromBeacon(await h.chain.beacon(round), { chainHash: h.chain.info.hash }),
    )
    expect(h.state.windowN).toBe(8)
    expect(h.state.batcher).toBe(opened.batcher)
    expect(h.ctx.pipeline.activeBatcher).toBe(opened.batcher)
    expect(opened.batcher.cooldown).toBe(h.state.cooldown)
    expect(opened.batcher.hashDedup).toBe(h.state.hashDedup)
    expect(opened.batcher.openedAtSeconds).toBe(opened.openedAt)
    expect(h.ctx.machine.phase).toBe('open')
    expect(eventTypes(h.events)).toEqual(['state:open', 'open'])
    expect(h.events[1]).toMatchObject({ type: 'open', windowN: 8, round, checkpointN: 0 })
  })

  test('the batcher gates on the served checkpoint revision', async () => {
    const h = harness()
    h.state.checkpoint.manifest = {
      checkpoint_n: 3,
      repo_id: 'org/model',
      revision: 'ab'.repeat(20),
      signature: 'cd'.repeat(64),
    }
    h.state.checkpoint.n = 3
    const opened = await openWindow(h.state, h.ctx)
    expect(opened.batcher.checkpointHash).toBe('ab'.repeat(20))
    expect(h.events.at(-1)).toMatchObject({ type: 'open', checkpointN: 3 })
  })

  test('a beacon that never comes: DRAND_UNAVAILABLE after the deadline, nothing opened', async () => {
    const h = harness({ lastWindowN: 4 })
    const ctx = {
      ...h.ctx,
      beacons: {
        ...h.chain,
        beacon: async () => {
          throw new ReliquaryError('DRAND_UNAVAILABLE', 'no beacon yet')
        },
      },
    }
    await expect(openWindow(h.state, ctx)).rejects.toMatchObject({ code: 'DRAND_UNAVAILABLE' })
    expect(h.state.windowN).toBe(4)
    expect(h.state.batcher).toBeNull()
    expect(h.ctx.machine.phase).toBe('ready')
    expect(h.events).toEqual([])
  })
})
