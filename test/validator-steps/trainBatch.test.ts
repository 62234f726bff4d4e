// Step 4 of the validator's window (src/validator/steps/trainBatch.ts): one GRPO step on a full
// batch only; a trained window is remembered for the next custody manifest; failures are reported.
import { describe, expect, test } from 'vitest'
import type { GrpoBatch } from '../../src/grpo/types.js'
import type { GrpoStepReturnType } from '../../src/grpo/grpoStep.js'
import { trainBatch } from '../../src/validator/steps/trainBatch.js'
import { T_ROUND, WINDOW } from '../_admission.js'
import { admittedWindow, fakeModels, harness } from './_fakes.js'

const STATS = {
  loss: 0.25,
  kl: 0.01,
  learningRate: 1e-6,
  rolloutsUsed: 64,
} as unknown as GrpoStepReturnType

async function sealedWindow(prompts: number) {
  const s = await admittedWindow(prompts)
  return s.batcher.seal(T_ROUND + 30, { force: true })
}

describe('trainBatch', () => {
  test('a partial batch trains nothing', async () => {
    const h = harness()
    const sealed = await sealedWindow(3)
    expect(await trainBatch(h.state, h.ctx, { windowN: WINDOW, sealed })).toBeNull()
    expect(h.state.checkpoint.trainedSinceParent).toEqual([])
    expect(h.events).toEqual([])
  })

  test('a full batch: one step on its groups, remembered with its batch digest', async () => {
    const seen: GrpoBatch[] = []
    const h = harness({
      models: fakeModels(async (batch) => {
        seen.push(batch)
        return STATS
      }),
    })
    const sealed = await sealedWindow(8)
    expect(await trainBatch(h.state, h.ctx, { windowN: WINDOW, sealed })).toBe(STATS)
    expect(seen).toHaveLength(1)
    expect(seen[0]!.map((g) => g.promptIdx)).toEqual(sealed.batch.map((x) => x.promptIdx))
    expect(seen[0]!.map((g) => g.rollouts.length)).toEqual(new Array(8).fill(8))
    expect(h.state.checkpoint.trainedSinceParent).toHaveLength(1)
    expect(h.state.checkpoint.trainedSinceParent[0]!.windowN).toBe(WINDOW)
    expect(h.state.checkpoint.trainedSinceParent[0]!.batchDigest).toMatch(/^[0-9a-f]{64}$/)
    expect(h.events).toEqual([
      {
        type: 'trained',
        windowN: WINDOW,
        loss: 0.25,
        kl: 0.01,
        learningRate: 1e-6,
        rolloutsUsed: 64,
      },
    ])
  })

  test('a failing step is reported and the window goes on untrained', async () => {
    const h = harness({
      models: fakeModels(async () => {
        throw new Error('out of memory')
      }),
    })
    const sealed = await sealedWindow(8)
    expect(await trainBatch(h.state, h.ctx, { windowN: WINDOW, sealed })).toBeNull()
    expect(h.state.checkpoint.trainedSinceParent).toEqual([])
    expect(h.events).toEqual([{ type: 'train_failed', windowN: WINDOW, error: 'out of memory' }])
  })
})
