// The validator's model worker (src/validator/worker): forward passes and GRPO steps in a worker
// thread give what the same calls give on the main thread, the main thread's verify model stays
// the source of truth (the worker follows its changes; the trainer after a step: see
// test/validator-worker-pull.test.ts), a killed worker fails only the call in
// flight with a typed error and the next call starts a new one, and tensors are freed on both
// sides. Tiny Qwen3 fixture, wasm backend in both threads.
import { readFileSync, readdirSync } from 'node:fs'
import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createTrainer } from '../src/grpo/createTrainer.js'
import type { GrpoBatch } from '../src/grpo/types.js'
import { useBackend } from '../src/model/backend.js'
import { loadModel } from '../src/model/loadModel.js'
import { e3 } from '../src/protocol/profiles.js'
import { createRolloutEvaluator } from '../src/rollout/createRolloutEvaluator.js'
import { loadValidatorModels } from '../src/validator/loadValidatorModels.js'
import {
  MODEL_WORKER_DEFAULTS,
  createModelWorker,
  type ModelWorker,
} from '../src/validator/worker/createModelWorker.js'
import { startModelWorker } from '../src/validator/worker/startModelWorker.js'
import type { ValidatorModels } from '../src/validator/validatorState.js'

const modelDir = 'test/fixtures/reference/qwen3-tiny-s0'
const grpo = { profile: e3, learningRate: 1e-3 }

/** One group of two short rollouts over the fixture's vocabulary, one rewarded. */
function batch(): GrpoBatch {
  return [0].map((g) => ({
    promptIdx: g,
    rollouts: [0, 1].map((i) => {
      const completion = Array.from(
        { length: 6 + i },
        (_, t) => 10 + ((g * 31 + i * 7 + t * 3) % 200),
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

const TOKENS = [3, 4, 5, 6, 17, 42, 99, 7, 250, 12, 0]
const EVAL = { hiddenRows: [1, 4, 9], temperature: 0.7 }

let start = 0
let models: ValidatorModels
let worker: ModelWorker

beforeAll(async () => {
  await useBackend('wasm')
  start = tf.memory().numTensors
  models = await loadValidatorModels({ modelDir, profile: e3, grpo })
  worker = await createModelWorker({ models, modelDir, grpo })
})

afterAll(async () => {
  await worker?.close()
  if (models) {
    models.trainer.dispose()
    models.verifyModel.dispose()
    models.policy.dispose()
  }
  expect(tf.memory().numTensors).toBe(start)
})

describe('model worker', () => {
  test('a forward pass in the worker equals the in-process one, and follows the main verify model', async () => {
    const local = createRolloutEvaluator(models.verifyModel)
    const want = await local.evaluate(TOKENS, EVAL)
    const got = await worker.evaluator.evaluate(TOKENS, EVAL)
    expect(got).toEqual(want)
    expect(worker.evaluator.vocabSize).toBe(local.vocabSize)
    expect(worker.evaluator.eosTokenIds).toEqual(local.eosTokenIds)
    // A change of the main thread's verify model (what a publish does) is followed.
    const name = 'model.norm.weight'
    const v = models.verifyModel.weights.get(name)!
    const before = tf.clone(v)
    try {
      tf.tidy(() => v.assign(tf.mul(v, 1.5)))
      const moved = await worker.evaluator.evaluate(TOKENS, EVAL)
      expect(moved).toEqual(await local.evaluate(TOKENS, EVAL))
      expect(moved.scores.eosProbability).not.toBe(want.scores.eosProbability)
    } finally {
      v.assign(before)
      before.dispose()
    }
    expect(await worker.evaluator.evaluate(TOKENS, EVAL)).toEqual(want)
  })

  test('a GRPO step in the worker, pulled, leaves the main trainer where an in-process step would', async () => {
    const policy = await loadModel(modelDir)
    const reference = await loadModel(modelDir, { trainable: false })
    const local = createTrainer({ ...grpo, model: policy, referenceModel: reference })
    try {
      const want = await local.step(batch())
      const got = await worker.step(batch())
      expect(got.stepped).toBe(true)
      expect(got).toEqual(want)
      await worker.pull()
      expect(models.trainer.completedSteps).toBe(1)
      for (const [name, w] of policy.weights) {
        const mine = models.policy.weights.get(name)!
        expect(await mine.data(), name).toEqual(await w.data())
      }
      // The verify model (= KL reference) is not trained.
      for (const [name, w] of reference.weights)
        expect(await models.verifyModel.weights.get(name)!.data(), name).toEqual(await w.data())
    } finally {
      local.dispose()
      reference.dispose()
      policy.dispose()
    }
  })

  test('worker tensors are freed: the count is the same after more forward passes and a step', async () => {
    await worker.evaluator.evaluate(TOKENS, EVAL)
    const before = await worker.numTensors()
    for (let i = 0; i < 3; i++) await worker.evaluator.evaluate(TOKENS, EVAL)
    await worker.step(batch())
    expect(await worker.numTensors()).toBe(before)
  })

  test('a killed worker fails the call in flight with VALIDATOR_WORKER_FAILED; the next call starts a new one', async () => {
    const local = createRolloutEvaluator(models.verifyModel)
    const starts = worker.starts
    const inFlight = worker.evaluator.evaluate(TOKENS, EVAL)
    await worker.kill()
    await expect(inFlight).rejects.toMatchObject({
      name: 'ReliquaryError',
      code: 'VALIDATOR_WORKER_FAILED',
    })
    // The new worker is brought to the main thread's current (trained) weights.
    expect(await worker.evaluator.evaluate(TOKENS, EVAL)).toEqual(
      await local.evaluate(TOKENS, EVAL),
    )
    expect(worker.starts).toBe(starts + 1)
  })

  test('errors raised in the worker come back typed', async () => {
    await expect(
      worker.evaluator.evaluate(TOKENS, { hiddenRows: [TOKENS.length], temperature: 1 }),
    ).rejects.toMatchObject({ name: 'ReliquaryError', code: 'GRAIL_SHAPE_MISMATCH' })
  })

  test('startModelWorker: in-process is no worker; an unknown compute is refused and frees the models', async () => {
    expect(await startModelWorker({ compute: 'in-process', models, modelDir, grpo })).toBeNull()
    const count = tf.memory().numTensors
    const spare = await loadValidatorModels({ modelDir, profile: e3, grpo })
    await expect(
      startModelWorker({ compute: 'gpu' as never, models: spare, modelDir, grpo }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    expect(tf.memory().numTensors).toBe(count)
  })

  test('the worker thread runs nicer than the event loop (Linux); a nice outside [0, 19] is refused', async () => {
    await expect(createModelWorker({ models, modelDir, grpo, nice: 20 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
    await expect(createModelWorker({ models, modelDir, grpo, nice: -1 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
    expect(MODEL_WORKER_DEFAULTS.nice).toBe(10)
    if (process.platform !== 'linux') return
    // Field 19 of /proc/<pid>/task/<tid>/stat: the thread's nice value.
    const niceOf = (tid: string): number => {
      const st = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      return Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[16])
    }
    const main = niceOf(String(process.pid))
    if (main >= MODEL_WORKER_DEFAULTS.nice) return // already as nice: the worker keeps it
    const nices = readdirSync('/proc/self/task').map(niceOf)
    expect(nices.filter((n) => n === 10).length).toBeGreaterThan(0)
    expect(niceOf(String(process.pid))).toBe(main)
  })
})
