// The model worker thread: a copy of the validator's policy, verify model (= KL reference) and
// GRPO trainer, so that forward passes and GRPO steps never run on the HTTP event loop. It is
// started by createModelWorker with a ModelWorkerInit as workerData and answers one request at a
// time, in order.
import { parentPort, workerData } from 'node:worker_threads'
import * as tf from '@tensorflow/tfjs-core'
import { isReliquaryError } from '../../errors/base.js'
import { createTrainer, type GrpoTrainer } from '../../grpo/createTrainer.js'
import { useBackend } from '../../model/backend.js'
import { loadModel, type CausalLM } from '../../model/loadModel.js'
import { evaluateRollout, type RolloutEvaluation } from '../../rollout/evaluateRollout.js'
import {
  verifyRollout,
  verifyRollouts,
  type RolloutEvaluator,
} from '../../rollout/verifyRollout.js'
import type { ProtocolProfile } from '../../protocol/profiles.js'
import type { RolloutVerifierParameters } from '../../window/admission/admissionTypes.js'
import { createValidatorEvaluator } from '../createValidatorEvaluator.js'
import { saveCheckpointDir } from '../saveCheckpointDir.js'
import { niceThisThread } from './_threadNice.js'
import type {
  ModelWorkerErrorData,
  ModelWorkerInit,
  ModelWorkerOp,
  ModelWorkerRequest,
  ModelWorkerResponse,
  WireVerifyParams,
} from './_messages.js'

type Models = {
  policy: CausalLM
  verify: CausalLM
  trainer: GrpoTrainer
  /** Over `verify`: the gpu kernels (batched) on webgpu, TF.js elsewhere. */
  evaluator: RolloutEvaluator
}

function errorData(e: unknown): ModelWorkerErrorData {
  if (isReliquaryError(e)) return { code: e.code, message: e.shortMessage, hints: [...e.hints] }
  return { code: null, message: e instanceof Error ? e.message : String(e), hints: [] }
}

async function start(init: ModelWorkerInit): Promise<Models> {
  // Below the HTTP event loop and the /submit parsing threads: on a busy machine the model work
  // waits for them, not the other way round.
  niceThisThread(init.nice ?? 0)
  await useBackend(init.backend)
  const policy = await loadModel(init.modelDir)
  const verify = await loadModel(init.modelDir, { trainable: false })
  const trainer = createTrainer({ ...init.grpo, model: policy, referenceModel: verify })
  const evaluator = await createValidatorEvaluator(verify, {
    precision: init.precision,
    modelDir: init.modelDir,
  })
  return { policy, verify, trainer, evaluator }
}

/** Profiles registered by `profile` ops, by key. */
const profiles = new Map<number, ProtocolProfile>()

/** A rollout's verifier parameters with its profile (sent by key) looked up. */
function unwire(p: WireVerifyParams): RolloutVerifierParameters {
  if (typeof p.profile !== 'number') return p as RolloutVerifierParameters
  const profile = profiles.get(p.profile)
  if (!profile) throw new Error(`the worker has no profile ${p.profile}`)
  return { ...p, profile }
}

/** The typed arrays of an evaluation, moved (not copied) to the main thread. */
const buffersOf = (e: RolloutEvaluation): ArrayBuffer[] =>
  [e.hidden.data, e.scores.logprobs, e.scores.temperedProbs].map((a) => a.buffer as ArrayBuffer)

async function handle(m: Models, r: ModelWorkerOp): Promise<[unknown, ArrayBuffer[]]> {
  switch (r.op) {
    case 'evaluate': {
      const o = { hiddenRows: r.hiddenRows, temperature: r.temperature }
      // Both evaluators return the hidden rows as { data, hiddenSize }.
      const out = (
        m.evaluator.evaluateBatch
          ? await m.evaluator.evaluate(r.tokens, o)
          : await evaluateRollout(m.verify, r.tokens, { ...o, eosTokenIds: r.eosTokenIds })
      ) as RolloutEvaluation
      return [out, buffersOf(out)]
    }
    case 'evaluateBatch': {
      const out = (await m.evaluator.evaluateBatch!(r.requests, {
        temperature: r.temperature,
      })) as RolloutEvaluation[]
      return [out, out.flatMap(buffersOf)]
    }
    case 'profile':
      profiles.set(r.key, r.profile)
      return [null, []]
    case 'verify':
      return [await verifyRollout({ ...unwire(r.params), model: m.evaluator }), []]
    case 'verifyBatch': {
      const rollouts = r.params.map(unwire)
      return [
        await verifyRollouts({ rollouts, model: m.evaluator, profile: rollouts[0]?.profile }),
        [],
      ]
    }
    case 'setVerifyWeights': {
      for (const [name, data] of r.weights) {
        const v = m.verify.weights.get(name)
        if (!v) throw new Error(`the worker's verify model has no weight ${name}`)
        tf.tidy(() => v.assign(tf.tensor(data, v.shape, 'float32')))
      }
      return [null, []]
    }
    case 'restore':
      return [(await m.trainer.restore(r.dir)).completedSteps, []]
    case 'save':
      await m.trainer.save(r.dir)
      return [null, []]
    case 'saveCheckpoint':
      await saveCheckpointDir({
        policy: m.policy,
        dir: r.dir,
        dtype: r.dtype,
        modelDir: r.modelDir,
      })
      return [null, []]
    case 'step':
      return [await m.trainer.step(r.batch), []]
    case 'numTensors':
      return [tf.memory().numTensors, []]
  }
}

const port = parentPort
if (port) {
  const post = (msg: ModelWorkerResponse, transfer: ArrayBuffer[] = []): void =>
    port.postMessage(msg, transfer)
  const ready = start(workerData as ModelWorkerInit)
  // One request at a time, in arrival order (the trainer refuses overlapping calls).
  let chain: Promise<unknown> = ready.then(
    () => post({ id: 0, ok: true, value: null }),
    (e: unknown) => post({ id: 0, ok: false, error: errorData(e) }),
  )
  port.on('message', (r: ModelWorkerRequest) => {
    chain = chain.then(async () => {
      try {
        const [value, transfer] = await handle(await ready, r)
        post({ id: r.id, ok: true, value }, transfer)
      } catch (e) {
        post({ id: r.id, ok: false, error: errorData(e) })
      }
    })
  })
}
