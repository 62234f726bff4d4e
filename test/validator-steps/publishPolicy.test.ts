// Step 5 of the validator's window (src/validator/steps/publishPolicy.ts): phase `publishing`;
// the profile's cadence decides; the checkpoint state changes only after a successful publish.
import { describe, expect, test } from 'vitest'
import type { CustodyManifest } from '../../src/manifest/custodyManifest.js'
import type {
  CheckpointPublisher,
  CheckpointPublisherParameters,
} from '../../src/validator/steps/publishPolicy.js'
import { publishPolicy } from '../../src/validator/steps/publishPolicy.js'
import { eventTypes, harness } from './_fakes.js'

const CUSTODY = { version: 1, marker: 'custody-1' } as unknown as CustodyManifest

function recordingPublisher(calls: CheckpointPublisherParameters[]): CheckpointPublisher {
  return async (p) => {
    calls.push({ ...p, windows: [...p.windows] })
    return {
      checkpointN: p.checkpointN,
      revision: 'ab'.repeat(20),
      repoId: 'org/model',
      referenceManifest: {
        checkpoint_n: p.checkpointN,
        repo_id: 'org/model',
        revision: 'ab'.repeat(20),
        signature: 'cd'.repeat(64),
      },
      custodyManifest: CUSTODY,
    }
  }
}

/** A harness in the `training` phase of window `windowN`. */
function training(windowN: number, publisher: CheckpointPublisher | null) {
  const h = harness({ lastWindowN: windowN - 1, publisher })
  h.ctx.machine.open(windowN)
  h.ctx.machine.startTraining()
  h.events.length = 0
  return h
}

describe('publishPolicy', () => {
  test('without a publisher nothing is published, but the phase moves on', async () => {
    const h = training(21, null)
    const out = await publishPolicy(h.state, h.ctx, { windowN: 21, trained: true, atSeconds: 5 })
    expect(out).toBeNull()
    expect(h.ctx.machine.phase).toBe('publishing')
    expect(eventTypes(h.events)).toEqual(['state:publishing'])
  })

  test('an untrained window publishes nothing', async () => {
    const calls: CheckpointPublisherParameters[] = []
    const h = training(20, recordingPublisher(calls))
    expect(
      await publishPolicy(h.state, h.ctx, { windowN: 20, trained: false, atSeconds: 5 }),
    ).toBeNull()
    expect(calls).toEqual([])
  })

  test('the first trained window publishes checkpoint 1 and serves it', async () => {
    const calls: CheckpointPublisherParameters[] = []
    const h = training(21, recordingPublisher(calls))
    h.state.checkpoint.trainedSinceParent.push({ windowN: 21, batchDigest: 'ee'.repeat(32) })
    const out = await publishPolicy(h.state, h.ctx, { windowN: 21, trained: true, atSeconds: 5 })
    expect(out).toEqual({ checkpointN: 1, revision: 'ab'.repeat(20), repoId: 'org/model' })
    expect(calls).toHaveLength(1)
    expect(calls[0]!.checkpointN).toBe(1)
    expect(calls[0]!.parent).toBeNull()
    expect(calls[0]!.windows).toEqual([{ windowN: 21, batchDigest: 'ee'.repeat(32) }])
    expect(calls[0]!.models).toBe(h.state.models)
    expect(h.state.checkpoint.n).toBe(1)
    expect(h.state.checkpoint.manifest?.revision).toBe('ab'.repeat(20))
    expect(h.state.checkpoint.custody).toBe(CUSTODY)
    expect(h.state.checkpoint.trainedSinceParent).toEqual([])
    expect(h.events.at(-1)).toEqual({
      type: 'published',
      windowN: 21,
      checkpointN: 1,
      revision: 'ab'.repeat(20),
      repoId: 'org/model',
    })
  })

  test('with a manifest, only every intervalWindows-th window publishes, chained to its parent', async () => {
    const calls: CheckpointPublisherParameters[] = []
    const h = training(21, recordingPublisher(calls))
    await publishPolicy(h.state, h.ctx, { windowN: 21, trained: true, atSeconds: 5 })
    const interval = h.profile.publishing.intervalWindows
    for (const windowN of [22, 3 * interval]) {
      h.ctx.machine.finish()
      h.ctx.machine.open(windowN)
      h.ctx.machine.startTraining()
      await publishPolicy(h.state, h.ctx, { windowN, trained: true, atSeconds: 5 })
    }
    expect(calls.map((c) => c.checkpointN)).toEqual([1, 2])
    expect(calls[1]!.parent).toBe(CUSTODY)
    expect(h.state.checkpoint.n).toBe(2)
  })

  test('a failing publish is reported and the previous checkpoint stays served', async () => {
    const h = training(21, async () => {
      throw new Error('hub unreachable')
    })
    h.state.checkpoint.trainedSinceParent.push({ windowN: 21, batchDigest: 'ee'.repeat(32) })
    const out = await publishPolicy(h.state, h.ctx, { windowN: 21, trained: true, atSeconds: 5 })
    expect(out).toBeNull()
    expect(h.state.checkpoint).toEqual({
      n: 0,
      manifest: null,
      custody: null,
      trainedSinceParent: [{ windowN: 21, batchDigest: 'ee'.repeat(32) }],
    })
    expect(h.events.at(-1)).toEqual({
      type: 'publish_failed',
      windowN: 21,
      error: 'hub unreachable',
    })
  })
})
