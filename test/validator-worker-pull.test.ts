// After a GRPO step in the validator's model worker (src/validator/worker/createModelWorker.ts),
// the main thread restores nothing: the worker's trainer is the state of record until `pull()`,
// the state directory's trainer state and checkpoints are written by the worker (the same bytes
// as the main thread's after a pull), a killed worker loses no step, a publish's new verify
// weights survive the pull, and a write to the main thread's trainer wins over an unpulled step.
// Tiny Qwen3 fixture, wasm backend in both threads.
import { createHash } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createTrainer, type GrpoTrainer } from '../src/grpo/createTrainer.js'
import type { GrpoBatch } from '../src/grpo/types.js'
import { useBackend } from '../src/model/backend.js'
import { loadModel, type CausalLM } from '../src/model/loadModel.js'
import { e3 } from '../src/protocol/profiles.js'
import { createRolloutEvaluator } from '../src/rollout/createRolloutEvaluator.js'
import {
  disposeValidatorModels,
  loadValidatorModels,
} from '../src/validator/loadValidatorModels.js'
import { persistenceFor } from '../src/validator/openStateDir.js'
import { saveCheckpointDir } from '../src/validator/saveCheckpointDir.js'
import { createValidatorState } from '../src/validator/validatorState.js'
import type { ValidatorModels } from '../src/validator/validatorState.js'
import { createModelWorker, type ModelWorker } from '../src/validator/worker/createModelWorker.js'

const modelDir = 'test/fixtures/reference/qwen3-tiny-s0'
const grpo = { profile: e3, learningRate: 1e-3 }

/** One group of two short rollouts over the fixture's vocabulary, one rewarded; `k` varies it. */
function batch(k = 0): GrpoBatch {
  return [0].map((g) => ({
    promptIdx: g,
    rollouts: [0, 1].map((i) => {
      const completion = Array.from(
        { length: 6 + i },
        (_, t) => 10 + ((k * 13 + i * 7 + t * 3) % 200),
      )
      return {
        tokens: [3, 4, 5, 6, ...completion],
        promptLength: 4,
        reward: i % 2 === 0 ? 1 : 0,
        tokenLogprobs: completion.map((_, t) => -5 - 0.1 * t),
      }
    }),
  }))
}

const ids = (m: CausalLM): object[] => [...m.weights.values()].map((v) => v.dataId as object)
const digest = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
/** Each weight's exact bytes, by name (as a digest: deep equality of megabytes is slow). */
async function valuesOf(m: CausalLM): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const [name, v] of m.weights) {
    const a = (await v.data()) as Float32Array
    out[name] = digest(new Uint8Array(a.buffer, a.byteOffset, a.byteLength))
  }
  return out
}
/** Every file under `dir` (a digest of its bytes), by relative path. */
async function filesOf(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true }))
    if (e.isFile()) {
      const p = join(e.parentPath, e.name)
      out[p.slice(dir.length)] = digest(await readFile(p))
    }
  return out
}

/** An in-process trainer from the base model: what the validator's trainer should become. */
async function localTrainer(): Promise<{ trainer: GrpoTrainer; dispose(): void }> {
  const policy = await loadModel(modelDir)
  const reference = await loadModel(modelDir, { trainable: false })
  const trainer = createTrainer({ ...grpo, model: policy, referenceModel: reference })
  return {
    trainer,
    dispose: () => {
      trainer.dispose()
      reference.dispose()
      policy.dispose()
    },
  }
}

let start = 0
let dir: string
let models: ValidatorModels
let worker: ModelWorker

beforeAll(async () => {
  await useBackend('wasm')
  start = tf.memory().numTensors
  dir = await mkdtemp(join(tmpdir(), 'reliquary-worker-pull-'))
})

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
  expect(tf.memory().numTensors).toBe(start)
})

describe('the model worker after a GRPO step', () => {
  beforeAll(async () => {
    models = await loadValidatorModels({ modelDir, profile: e3, grpo })
    worker = await createModelWorker({ models, modelDir, grpo, stateSaveEvery: 3 })
  })
  afterAll(async () => {
    await worker?.close()
    if (models) disposeValidatorModels(models)
  })

  test('the main thread restores nothing until pull; the worker writes the state and checkpoint the main thread would', async () => {
    const local = await localTrainer()
    try {
      const want = await local.trainer.step(batch())
      const before = ids(models.policy)
      const verifyBefore = ids(models.verifyModel)
      expect(worker.behind).toBe(false)
      expect(await worker.step(batch())).toEqual(want)
      // Nothing on this thread moved: no restore, no new tensors for the policy or the reference.
      expect(worker.behind).toBe(true)
      expect(models.trainer.completedSteps).toBe(0)
      expect(ids(models.policy)).toEqual(before)
      expect(ids(models.verifyModel)).toEqual(verifyBefore)

      // The state directory's writes come from the worker, through the validator's persistence.
      const persistence = persistenceFor(
        { stateDir: join(dir, 'state'), modelDir, hotkey: { address: 'x' } as never },
        { archiveDir: dir, checkpointDir: dir, profile: e3, modelWorker: worker },
      )!
      const state = createValidatorState({ lastWindowN: 0, profile: e3, models })
      await persistence.saveTrainer!(state, join(dir, 'worker-trainer'))
      await persistence.saveCheckpoint(state, join(dir, 'worker-ckpt'))
      expect(models.trainer.completedSteps).toBe(0)
      expect(ids(models.policy)).toEqual(before)

      await local.trainer.save(join(dir, 'local-trainer'))
      expect(await filesOf(join(dir, 'worker-trainer'))).toEqual(
        await filesOf(join(dir, 'local-trainer')),
      )

      await worker.pull()
      expect(worker.behind).toBe(false)
      expect(models.trainer.completedSteps).toBe(1)
      expect(await valuesOf(models.policy)).toEqual(await valuesOf(local.trainer.model))
      expect(await valuesOf(models.verifyModel)).toEqual(
        await valuesOf(local.trainer.referenceModel!),
      )
      await saveCheckpointDir({
        policy: models.policy,
        dir: join(dir, 'main-ckpt'),
        dtype: 'BF16',
        modelDir,
      })
      expect(await filesOf(join(dir, 'worker-ckpt'))).toEqual(await filesOf(join(dir, 'main-ckpt')))
      // A second pull is a no-op.
      const pulled = ids(models.policy)
      await worker.pull()
      expect(ids(models.policy)).toEqual(pulled)

      // Steps go on from the pulled state, bit for bit as in-process.
      expect(await worker.step(batch(1))).toEqual(await local.trainer.step(batch(1)))
      await worker.pull()
      expect(await valuesOf(models.policy)).toEqual(await valuesOf(local.trainer.model))
      expect(models.trainer.completedSteps).toBe(2)
    } finally {
      local.dispose()
    }
  })

  test('a worker killed before the pull loses no step: the next one takes the saved state', async () => {
    const local = await localTrainer()
    try {
      await local.trainer.restore(await savedMain('killed-base'))
      expect(await worker.step(batch(2))).toEqual(await local.trainer.step(batch(2)))
      await worker.kill()
      // Another step in a new worker, which must start from the first step's result.
      expect(await worker.step(batch(3))).toEqual(await local.trainer.step(batch(3)))
      await worker.kill()
      await worker.pull()
      expect(await valuesOf(models.policy)).toEqual(await valuesOf(local.trainer.model))
      expect(models.trainer.completedSteps).toBe(local.trainer.completedSteps)
    } finally {
      local.dispose()
    }
  })

  test('steps are saved every stateSaveEvery steps; a new thread repeats the steps since the last save', async () => {
    await againstLocal('replay-base', async (step) => {
      const saves = worker.stateSaves
      // Two steps: no save yet (the recovery point is the state handed to the worker).
      await step(10)
      await step(11)
      expect(worker.stateSaves).toBe(saves)
      // Killed between steps: the next step runs on a new thread after the two are repeated.
      await worker.kill()
      await step(12)
      // The third step since the recovery point saved a new one.
      expect(worker.stateSaves).toBe(saves + 1)
      await worker.kill()
      await step(13)
    })
  })

  test('a worker that dies in the middle of a step, a recovery save, a trainer save or a checkpoint save: the call runs once more on a new thread, with the same result', async () => {
    await againstLocal('crash-base', async (step, local) => {
      await worker.numTensors() // a live thread (the previous test killed its own)
      const starts = worker.starts
      // Dies while stepping: the new thread starts from the saved base again.
      worker.injectFault({ op: 'step', kind: 'crash' })
      await step(6)
      expect(worker.starts).toBe(starts + 1)
      // Dies in the save after the third step (the step done, its state not yet saved).
      await step(7)
      const saves = worker.stateSaves
      worker.injectFault({ op: 'save', kind: 'crash' })
      await step(8)
      expect(worker.starts).toBe(starts + 2)
      expect(worker.stateSaves).toBe(saves + 1)
      // Dies while writing the trainer state and the checkpoint for the state directory.
      worker.injectFault({ op: 'save', kind: 'crash' })
      await worker.saveTrainer(join(dir, 'crash-trainer'))
      worker.injectFault({ op: 'saveCheckpoint', kind: 'crash' })
      await worker.saveCheckpoint({ dir: join(dir, 'crash-ckpt'), dtype: 'BF16', modelDir })
      expect(worker.starts).toBe(starts + 4)
      await local.save(join(dir, 'crash-local-trainer'))
      expect(await filesOf(join(dir, 'crash-trainer'))).toEqual(
        await filesOf(join(dir, 'crash-local-trainer')),
      )
      await saveCheckpointDir({
        policy: local.model,
        dir: join(dir, 'crash-local-ckpt'),
        dtype: 'BF16',
        modelDir,
      })
      expect(await filesOf(join(dir, 'crash-ckpt'))).toEqual(
        await filesOf(join(dir, 'crash-local-ckpt')),
      )
    })
  })

  test('steps on either side of a change of the verify model (a publish), then a crash: each repeated step keeps its own KL reference', async () => {
    await againstLocal('verify-base', async (step, local) => {
      await step(20)
      publish(local, 0.75)
      await step(21)
      await worker.kill()
      await step(22)
      await worker.kill()
    })
  })

  test('a thread that dies between two requests of one call, or in a repeated step: the call starts over on a new thread', async () => {
    await againstLocal('between-base', async (step, local) => {
      // A write to the main trainer: the next step hands its state to the worker (save, restore).
      const base = await savedMain('between-written')
      await models.trainer.restore(base)
      await local.restore(base)
      worker.injectFault({ op: 'restore', kind: 'crash-after' })
      await step(30)
      await step(31)
      // Two steps to repeat on the next thread; the first repeat dies.
      await worker.kill()
      worker.injectFault({ op: 'step', kind: 'crash' })
      await step(32)
    })
  })

  test('a step whose save fails (an error in the worker, the thread alive) is not applied, now or after a crash', async () => {
    await againstLocal('error-base', async (step) => {
      await worker.numTensors()
      // Steps until the next one saves a recovery point (every 3), then that save fails.
      const saves = worker.stateSaves
      await step(40)
      await step(41)
      expect(worker.stateSaves).toBe(saves)
      worker.injectFault({ op: 'save', kind: 'error' })
      await expect(worker.step(batch(42))).rejects.toMatchObject({
        code: 'VALIDATOR_WORKER_FAILED',
      })
      // The failed step is not part of the state, on the live thread or on a new one.
      await step(43)
      await worker.kill()
      await step(44)
    })
  })

  test('a publish reaching a new thread through a verify call while steps wait to be repeated', async () => {
    await againstLocal('publish-replay-base', async (step, local) => {
      await step(50)
      await worker.kill()
      publish(local, 1.25)
      // The new thread gets the new verify weights before any restore.
      const TOKENS = [3, 4, 5, 6, 17, 42, 99, 7]
      const EVAL = { hiddenRows: [1, 4], temperature: 0.7 }
      expect(await worker.evaluator.evaluate(TOKENS, EVAL)).toEqual(
        await createRolloutEvaluator(models.verifyModel).evaluate(TOKENS, EVAL),
      )
      await step(51)
      await worker.kill()
      await step(52)
    })
  })

  test('a worker that dies twice in one call fails it with VALIDATOR_WORKER_FAILED', async () => {
    // Armed again as soon as the first crash is taken: the repeat dies too.
    worker.injectFault({ op: 'save', kind: 'crash' })
    const save = worker.saveTrainer(join(dir, 'twice'))
    const starts = worker.starts
    while (worker.starts === starts) await new Promise((r) => setTimeout(r, 1))
    worker.injectFault({ op: 'save', kind: 'crash' })
    await expect(save).rejects.toMatchObject({ code: 'VALIDATOR_WORKER_FAILED' })
  })

  test('a change of the verify model before the pull (a publish) is kept by the pull', async () => {
    const local = await localTrainer()
    try {
      await local.trainer.restore(await savedMain('publish-base'))
      await worker.step(batch(4))
      await local.trainer.step(batch(4))
      const name = 'model.norm.weight'
      const v = models.verifyModel.weights.get(name)!
      tf.tidy(() => v.assign(tf.mul(v, 1.5)))
      const published = await valuesOf(models.verifyModel)
      await worker.pull()
      expect(await valuesOf(models.verifyModel)).toEqual(published)
      expect(await valuesOf(models.policy)).toEqual(await valuesOf(local.trainer.model))
      // A new worker verifies with the changed weights too.
      await worker.kill()
      const TOKENS = [3, 4, 5, 6, 17, 42, 99, 7, 250, 12, 0]
      const EVAL = { hiddenRows: [1, 4, 9], temperature: 0.7 }
      expect(await worker.evaluator.evaluate(TOKENS, EVAL)).toEqual(
        await createRolloutEvaluator(models.verifyModel).evaluate(TOKENS, EVAL),
      )
      // The worker's verify model follows it too (its trainer's KL reference).
      await worker.saveTrainer(join(dir, 'after-publish'))
      await local.trainer.save(join(dir, 'local-after-publish'))
      const other = await localTrainer()
      try {
        await other.trainer.restore(join(dir, 'after-publish'))
        expect(await valuesOf(other.trainer.referenceModel!)).toEqual(published)
      } finally {
        other.dispose()
      }
    } finally {
      local.dispose()
    }
  })

  test('a pull never writes the verify model: a publish during it is kept, and the steps after it use it', async () => {
    await againstLocal('pull-publish-base', async (step, local) => {
      // At least one step the worker has not saved yet, so that the pull saves first.
      const before = worker.stateSaves
      await step(60)
      if (worker.stateSaves !== before) await step(61)
      const saves = worker.stateSaves
      // The publish lands once the worker has saved, while the main thread reads that state.
      let settled = false
      const pulling = worker.pull().finally(() => {
        settled = true
      })
      while (worker.stateSaves === saves && !settled) await new Promise((r) => setTimeout(r, 0))
      publish(local, 0.5)
      const published = await valuesOf(models.verifyModel)
      await pulling
      expect(await valuesOf(models.verifyModel)).toEqual(published)
      await step(62)
      await worker.kill()
      await step(63)
    })
  })

  test('a write to the main thread trainer before the pull wins over the unpulled step', async () => {
    const base = await savedMain('write-base')
    await worker.step(batch(5))
    expect(worker.behind).toBe(true)
    await models.trainer.restore(base)
    expect(worker.behind).toBe(false)
    const mine = await valuesOf(models.policy)
    await worker.pull()
    expect(await valuesOf(models.policy)).toEqual(mine)
    // The worker takes the written state for its next save.
    await worker.saveTrainer(join(dir, 'after-write'))
    expect(await filesOf(join(dir, 'after-write'))).toEqual(await filesOf(base))
  })
})

let saved = 0
/** The main thread's trainer, pulled, saved under `dir` (a base both sides can start from). */
async function savedMain(name: string): Promise<string> {
  await worker.pull()
  const out = join(dir, `${name}-${++saved}`)
  await models.trainer.save(out)
  return out
}

/**
 * Runs `body` with an in-process trainer started from the main thread's pulled state (`name`):
 * `step(k)` steps both on `batch(k)` and expects the same result; at the end the worker is pulled
 * and the main thread's policy, verify model and step count must equal the local trainer's.
 */
async function againstLocal(
  name: string,
  body: (step: (k: number) => Promise<void>, local: GrpoTrainer) => Promise<void>,
): Promise<void> {
  const local = await localTrainer()
  try {
    await local.trainer.restore(await savedMain(name))
    const step = async (k: number): Promise<void> => {
      expect(await worker.step(batch(k))).toEqual(await local.trainer.step(batch(k)))
    }
    await body(step, local.trainer)
    await worker.pull()
    expect(await valuesOf(models.policy)).toEqual(await valuesOf(local.trainer.model))
    expect(await valuesOf(models.verifyModel)).toEqual(
      await valuesOf(local.trainer.referenceModel!),
    )
    expect(models.trainer.completedSteps).toBe(local.trainer.completedSteps)
  } finally {
    local.dispose()
  }
}

/** A publish: the same change to the main verify model and to `local`'s KL reference. */
function publish(local: GrpoTrainer, factor: number): void {
  for (const m of [models.verifyModel, local.referenceModel!]) {
    const v = m.weights.get('model.norm.weight')!
    tf.tidy(() => v.assign(tf.mul(v, factor)))
  }
}
