// The validator's window loop (src/validator/runWindow.ts): the steps in the protocol's order over
// one state object, and the error path back to `ready`.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { runWindow } from '../../src/validator/runWindow.js'
import { eventTypes, harness } from './_fakes.js'

const dirs: string[] = []
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

const closed = (): AbortSignal => {
  const c = new AbortController()
  c.abort()
  return c.signal
}

describe('runWindow', () => {
  test('open → admit → seal → train → publish → archive → score → ready, in that order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reliquary-run-'))
    dirs.push(dir)
    const h = harness({ lastWindowN: 11, archiveDir: dir })
    h.state.ema.set('alice', 0.5)
    const report = await runWindow(h.state, h.ctx, closed())
    expect(eventTypes(h.events)).toEqual([
      'state:open',
      'open',
      'state:training',
      'sealed',
      'state:publishing',
      'archived',
      'state:ready',
    ])
    expect(report).toMatchObject({
      windowN: 12,
      sealReason: 'closed',
      validSubmissions: 0,
      batchSize: 0,
      trained: false,
      loss: null,
      published: null,
      burn: 1,
      rewardMean: null,
    })
    expect(report.archivePath.startsWith(dir)).toBe(true)
    expect(report.seconds.open).toBeGreaterThanOrEqual(0)
    expect(h.state.windowN).toBe(12)
    expect(h.state.batcher).toBeNull()
    expect(h.state.ema.get('alice')).toBeCloseTo(0.5 * (1 - h.profile.scoring.emaAlpha), 15)
    expect(h.ctx.machine.phase).toBe('ready')
    expect(Object.isFrozen(report)).toBe(true)
  })

  test('a step that throws aborts the window back to ready and rethrows', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reliquary-run-'))
    dirs.push(dir)
    const blocker = join(dir, 'file')
    await writeFile(blocker, 'x')
    const h = harness({ lastWindowN: 3, archiveDir: blocker })
    await expect(runWindow(h.state, h.ctx, closed())).rejects.toThrow()
    expect(eventTypes(h.events).at(-1)).toBe('state:ready')
    expect(h.ctx.machine.phase).toBe('ready')
    expect(h.state.batcher).toBeNull()
    expect(h.ctx.pipeline.activeBatcher).toBeNull()
    // The window number was used: the next window is 5, as the reference moves on.
    expect(h.state.windowN).toBe(4)
    // Nothing was scored.
    expect(h.state.ema.size).toBe(0)
  })
})
