import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { invalidArgument } from '../../errors/base.js'
import type { GrpoStepReturnType } from '../../grpo/grpoStep.js'
import type { GrpoBatch, GrpoOptions } from '../../grpo/types.js'
import type { ProtocolProfile } from '../../protocol/profiles.js'
import type { RolloutEvaluation } from '../../rollout/evaluateRollout.js'
import type { RolloutEvaluator, VerifyRolloutReturnType } from '../../rollout/verifyRollout.js'
import type {
  RolloutVerifier,
  RolloutVerifierParameters,
} from '../../window/admission/admissionTypes.js'
import type { ValidatorPrecision } from '../createValidatorEvaluator.js'
import type { ValidatorModels } from '../validatorState.js'
import type {
  ModelWorkerFault,
  ModelWorkerInit,
  ModelWorkerOp,
  WireProfile,
  WireVerifyParams,
} from './_messages.js'
import { WorkerThread, workerFailed } from './_workerThread.js'
import { modelSync } from './_modelSync.js'

export type { ModelWorkerFault } from './_messages.js'

/** Parameters of {@link createModelWorker}. */
export type CreateModelWorkerParameters = {
  /** The validator's models: the worker mirrors them, and they stay the source of truth. */
  models: ValidatorModels
  /** The base model directory the models were loaded from (the worker builds its copies from it). */
  modelDir: string
  /** The trainer's options, profile included (must be the main thread's trainer's). */
  grpo: GrpoOptions
  /** Precision of verification on the webgpu backend (see `createValidatorEvaluator`). @default "f32" */
  precision?: ValidatorPrecision | undefined
  /**
   * The worker thread's nice value on Linux, 0-19 (0: the process's priority). A nicer worker
   * yields the cores to the HTTP event loop and the `/submit` parsing threads whenever both want
   * them (a verification burst, a GRPO step), and takes what they leave; elsewhere it is ignored.
   * @default MODEL_WORKER_DEFAULTS.nice
   */
  nice?: number | undefined
  /**
   * Every how many GRPO steps the worker saves its whole trainer state (policy, KL reference,
   * AdamW moments: about four copies of the model) to its scratch folder. After a crash, a new
   * thread restores the last such save and repeats the steps taken since (at most
   * `stateSaveEvery - 1`, each as long as a step); 1 saves after every step.
   * @default MODEL_WORKER_DEFAULTS.stateSaveEvery
   */
  stateSaveEvery?: number | undefined
}

/** Defaults of {@link createModelWorker}. */
export const MODEL_WORKER_DEFAULTS = /*#__PURE__*/ Object.freeze({
  /** The worker thread's nice value (Linux). */
  nice: 10,
  /** GRPO steps between two saves of the worker's trainer state to its scratch folder. */
  stateSaveEvery: 8,
})

/** What {@link ModelWorker.saveCheckpoint} writes: `saveCheckpointDir`'s parameters but the policy. */
export type SaveCheckpointParameters = {
  /** The checkpoint directory to create (never over an existing one of other content). */
  readonly dir: string
  /** Stored dtype of the weights. */
  readonly dtype: 'F32' | 'BF16'
  /** The base model directory, whose tokenizer files travel with the checkpoint. */
  readonly modelDir: string
}

/**
 * A worker thread that runs the validator's model work (one forward pass per rollout, GRPO steps)
 * off the HTTP event loop. The main thread's {@link ValidatorModels} are the source of truth for
 * the verify model: before each call the worker is brought up to date with it if it changed (a
 * publish, a restore). The trainer's state of record after a GRPO step is the worker's: the main
 * thread's trainer (policy, optimizer moments, schedule position) takes it only on
 * {@link ModelWorker.pull}, so a step never reads and parses the trainer state on the event loop;
 * {@link ModelWorker.saveTrainer} and {@link ModelWorker.saveCheckpoint} write the state of record
 * from the worker. A write to the main thread's policy or trainer (a restore, an `assign`) makes
 * it the state of record again, and the next call gives it to the worker (a step not pulled by
 * then is dropped). A crashed or killed worker fails the verify calls in flight with
 * `VALIDATOR_WORKER_FAILED` (a submission being verified then gets a `worker_dropped` verdict) and
 * the next call starts a new one, which takes the state its predecessor saved after its last step;
 * a step, a trainer save or a checkpoint save in flight runs once more on that new thread (same
 * result: it starts from the same state), and fails only if that thread dies too (a step is then
 * reported `train_failed` and changes nothing).
 */
export type ModelWorker = {
  /** A {@link RolloutEvaluator} over the worker's copy of `models.verifyModel`. */
  readonly evaluator: RolloutEvaluator
  /**
   * The admission's per-rollout checks, all of them in the worker (`verifyRollout` over its verify
   * model: signature, sketch and behaviour checks included), so the event loop only parses and
   * routes. Throws `VALIDATOR_WORKER_FAILED` when the worker dies (the admission then answers
   * `worker_dropped`).
   */
  readonly verifier: RolloutVerifier
  /**
   * On the webgpu backend: many rollouts' per-rollout checks in one worker call
   * (`verifyRollouts` there, the forwards packed on the gpu kernels), verdicts in input order;
   * `null` on the CPU backends. Throws `VALIDATOR_WORKER_FAILED` when the worker dies.
   */
  readonly verifyBatch:
    | ((rollouts: readonly RolloutVerifierParameters[]) => Promise<VerifyRolloutReturnType[]>)
    | null
  /**
   * One GRPO step of the trainer on `batch`, run in the worker. A crash loses nothing: the worker
   * saves its trainer state to its scratch folder every `stateSaveEvery` steps, and keeps the
   * batches of the steps since, which a new thread repeats from that save (bit for bit on the
   * wasm and cpu backends; on webgpu the same computation, whose rounding can differ where a
   * TF.js kernel adds with atomics, as its scatter, the embedding's gradient, does). The main
   * thread's trainer is not touched: it is {@link ModelWorker.behind} until
   * {@link ModelWorker.pull}, which makes it what
   * `models.trainer.step(batch)` would have made it here.
   * @throws {ReliquaryError} as `GrpoTrainer.step`; `VALIDATOR_WORKER_FAILED` when the worker dies.
   */
  step(batch: GrpoBatch): Promise<GrpoStepReturnType>
  /**
   * Whether the main thread's trainer lacks GRPO steps the worker made (until {@link
   * ModelWorker.pull}, or a write to the main thread's policy or trainer, which drops them).
   */
  readonly behind: boolean
  /**
   * Brings the main thread's trainer (policy, optimizer moments, schedule position) up to the
   * worker's last step: `models.trainer.restore(dir, { reference: false })` of the state the
   * worker saved, on this thread. The verify model (the KL reference) is not written: the main
   * thread's is the state of record, so a publish reloading it meanwhile is kept. No-op when not
   * {@link ModelWorker.behind}. Call it before reading `models.policy` or `models.trainer` after
   * a step.
   * @throws {ReliquaryError} as `GrpoTrainer.restore`; `VALIDATOR_WORKER_FAILED` when steps the
   *   worker has not saved yet cannot be saved (its thread dies twice, or cannot start).
   */
  pull(): Promise<void>
  /**
   * Writes the trainer state of record to `dir` from the worker: the same files as
   * `models.trainer.save(dir)` after a {@link ModelWorker.pull}, without the main thread reading
   * the weights.
   * @throws {ReliquaryError} as `GrpoTrainer.save`; `VALIDATOR_WORKER_FAILED` when the worker dies.
   */
  saveTrainer(dir: string): Promise<void>
  /**
   * Saves the policy of record as a publishable checkpoint directory (`saveCheckpointDir`: weights
   * in `dtype`, config, the base model's tokenizer files; complete or absent) from the worker.
   * @throws {ReliquaryError} `STATE_CONFLICT` when `dir` holds other content; a file-system error;
   *   `VALIDATOR_WORKER_FAILED` when the worker dies.
   */
  saveCheckpoint(p: SaveCheckpointParameters): Promise<void>
  /** Live tensors in the worker thread (`tf.memory().numTensors` there). */
  numTensors(): Promise<number>
  /** Workers started so far (1 after the first start; each crash adds one at the next call). */
  readonly starts: number
  /** Whole trainer states the worker has written to its scratch folder so far (recovery points). */
  readonly stateSaves: number
  /** Stops the worker thread now, as a crash would; the next call starts a new one. */
  kill(): Promise<void>
  /**
   * For tests: injects `fault` into the next request of its kind, on whichever thread sends it (a
   * crash in the middle of a step or a save, which {@link ModelWorker.step},
   * {@link ModelWorker.saveTrainer} and {@link ModelWorker.saveCheckpoint} survive by running
   * once more on a new thread; an error raised in the worker, which they do not).
   */
  injectFault(fault: ModelWorkerFault): void
  /** Stops the worker and removes its scratch directory. Idempotent. */
  close(): Promise<void>
}

/**
 * Runs calls one at a time, so syncs and calls never interleave. `stop()` fails every call made
 * before it that has not started, as the calls in flight fail, even if it had not reached the
 * worker yet.
 */
function callQueue() {
  let queue: Promise<unknown> = Promise.resolve()
  let epoch = 0
  return {
    run: <T>(fn: () => Promise<T>): Promise<T> => {
      const madeIn = epoch
      const run = queue.then(() => {
        if (madeIn !== epoch) throw workerFailed('was stopped')
        return fn()
      })
      queue = run.catch(() => undefined)
      return run
    },
    stop: (): void => {
      epoch++
    },
    /** Resolves once the calls made so far have ended (each fulfilled or rejected). */
    settled: (): Promise<void> => queue.then(() => undefined),
  }
}

/** A verify call as the main thread makes it: each rollout with its profile object. */
type VerifyOp =
  | { readonly op: 'verify'; readonly params: RolloutVerifierParameters }
  | { readonly op: 'verifyBatch'; readonly params: readonly RolloutVerifierParameters[] }

/** A call as the main thread makes it ({@link VerifyOp} for the verify calls). */
type MainOp = Exclude<ModelWorkerOp, { op: 'verify' | 'verifyBatch' }> | VerifyOp

/** Profiles sent to one worker by id at most; past that, each call carries its profile. */
const MAX_PROFILE_IDS = 8

/**
 * The profiles a worker thread knows by id: the first call with a profile object registers it
 * (one `profile` op), later calls send its id instead of a structured clone of it per rollout.
 */
function profileRegistry(call: (op: ModelWorkerOp) => Promise<unknown>) {
  const ids = new Map<ProtocolProfile, number>()
  const wire = async (profile: ProtocolProfile): Promise<WireProfile> => {
    const known = ids.get(profile)
    if (known !== undefined) return known
    if (ids.size >= MAX_PROFILE_IDS) return profile
    const key = ids.size + 1
    await call({ op: 'profile', key, profile })
    ids.set(profile, key)
    return key
  }
  const params = async (p: RolloutVerifierParameters): Promise<WireVerifyParams> => ({
    ...p,
    profile: await wire(p.profile),
  })
  return async (op: MainOp): Promise<ModelWorkerOp> => {
    if (op.op === 'verify') return { op: 'verify', params: await params(op.params) }
    if (op.op === 'verifyBatch') {
      const out: WireVerifyParams[] = []
      for (const p of op.params) out.push(await params(p))
      return { op: 'verifyBatch', params: out }
    }
    return op
  }
}

/** The verify-model calls of a {@link ModelWorker}, each through `verified`. */
function verifyCalls(
  cfg: ValidatorModels['verifyModel']['config'],
  gpu: boolean,
  verified: <T>(op: MainOp) => Promise<T>,
): Pick<ModelWorker, 'evaluator' | 'verifier' | 'verifyBatch'> {
  const evaluateBatch: RolloutEvaluator['evaluateBatch'] = (requests, o) =>
    verified<RolloutEvaluation[]>({
      op: 'evaluateBatch',
      requests: requests.map((r) => ({ tokens: [...r.tokens], hiddenRows: [...r.hiddenRows] })),
      temperature: o.temperature,
    })
  const evaluator: RolloutEvaluator = {
    vocabSize: cfg.vocabSize,
    maxPositions: cfg.maxPositionEmbeddings,
    eosTokenIds: cfg.eosTokenIds,
    evaluate: (tokens, o) =>
      verified<RolloutEvaluation>({
        op: 'evaluate',
        tokens: [...tokens],
        hiddenRows: [...o.hiddenRows],
        temperature: o.temperature,
        eosTokenIds: [...cfg.eosTokenIds],
      }),
    ...(gpu ? { evaluateBatch } : {}),
  }
  return {
    evaluator,
    verifier: (params) => verified<VerifyRolloutReturnType>({ op: 'verify', params }),
    verifyBatch: gpu
      ? (params) => verified<VerifyRolloutReturnType[]>({ op: 'verifyBatch', params })
      : null,
  }
}

/** The worker's start data, on the current backend (checked). */
function workerInit(p: CreateModelWorkerParameters): ModelWorkerInit {
  const backend = tf.getBackend()
  if (backend !== 'wasm' && backend !== 'cpu' && backend !== 'webgpu')
    throw invalidArgument(
      'backend',
      'the wasm, cpu or webgpu backend for a model worker',
      backend,
      ['The tensorflow backend keeps its models in native memory: use compute "in-process".'],
    )
  if (p.precision === 'f16' && backend !== 'webgpu')
    throw invalidArgument('precision', '"f32" off the webgpu backend', p.precision)
  const nice = p.nice ?? MODEL_WORKER_DEFAULTS.nice
  if (!Number.isSafeInteger(nice) || nice < 0 || nice > 19)
    throw invalidArgument('nice', 'an integer in [0, 19]', p.nice)
  return { modelDir: p.modelDir, backend, grpo: p.grpo, precision: p.precision, nice }
}

/**
 * Starts the validator's model worker (see {@link ModelWorker}): a worker thread on the main
 * thread's TF.js backend (`wasm`, `cpu` or `webgpu`), with the policy, the verify model and a GRPO
 * trainer built from `modelDir` and then given the main thread's current weights. On webgpu the
 * worker opens its own Dawn device (Dawn runs in worker threads) and verifies on the gpu kernels
 * at `precision`, batched ({@link ModelWorker.verifyBatch}); its models are a second copy in GPU
 * memory beside the main thread's. Resolves once the worker has loaded its models.
 *
 * @param p - {@link CreateModelWorkerParameters}
 * @returns The started {@link ModelWorker}; close it when done.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` when the current backend is not `wasm`, `cpu` or
 *   `webgpu`, for `f16` off webgpu, a `nice` outside [0, 19] or a `stateSaveEvery` that is not a
 *   positive integer; `VALIDATOR_WORKER_FAILED` or the worker's model loading error when it
 *   cannot start.
 */
export async function createModelWorker(p: CreateModelWorkerParameters): Promise<ModelWorker> {
  const init = workerInit(p)
  const saveEvery = p.stateSaveEvery ?? MODEL_WORKER_DEFAULTS.stateSaveEvery
  if (!Number.isSafeInteger(saveEvery) || saveEvery < 1)
    throw invalidArgument('stateSaveEvery', 'a positive integer', p.stateSaveEvery)
  const { backend } = init
  const { models } = p
  const scratch = await mkdtemp(join(tmpdir(), 'reliquary-model-worker-'))
  let thread: WorkerThread | null = null
  /** The live thread's profile ids (a new thread knows none). */
  let toWire: ReturnType<typeof profileRegistry> | null = null
  let starts = 0
  let closed = false
  /** The fault for the next request of its kind (`injectFault`). */
  let armed: ModelWorkerFault | null = null
  const queue = callQueue()
  const exclusive = queue.run
  /** The live thread, a new one after a crash (the worker then matches nothing yet). */
  const ensure = async (): Promise<WorkerThread> => {
    if (closed) throw workerFailed('has been closed')
    if (!thread?.alive) {
      const t = new WorkerThread(init)
      t.faultFor = (op) => {
        if (op.op !== armed?.op) return null
        const { kind } = armed
        armed = null
        return kind
      }
      thread = t
      toWire = profileRegistry((op) => t.call(op))
      starts++
      sync.started()
    }
    const t = thread
    await t.ready
    return t
  }
  // A thread that died under a call (not a closed worker) is replaced by the next call.
  const sync = modelSync(
    models,
    scratch,
    ensure,
    () => !closed && thread?.alive === false,
    saveEvery,
  )

  /** One call on the verify model, once the worker has the main thread's verify weights. */
  const verified = <T>(op: MainOp): Promise<T> =>
    exclusive(async () => {
      // One thread for both requests: one that died in between fails the call.
      const t = await ensure()
      await sync.syncVerify(t)
      return t.call<T>(await toWire!(op))
    })
  const { evaluator, verifier, verifyBatch } = verifyCalls(
    models.verifyModel.config,
    backend === 'webgpu',
    verified,
  )

  const stop = async (): Promise<void> => {
    queue.stop()
    const t = thread
    thread = null
    await t?.terminate()
  }
  try {
    await ensure()
  } catch (e) {
    closed = true
    await stop()
    await rm(scratch, { recursive: true, force: true })
    throw e
  }
  let closing: Promise<void> | null = null
  return {
    evaluator,
    verifier,
    verifyBatch,
    step: (batch) => exclusive(() => sync.step(batch)),
    pull: () => exclusive(() => sync.pull()),
    get behind() {
      return sync.behind
    },
    saveTrainer: (dir) => exclusive(() => sync.saveTrainer(dir)),
    saveCheckpoint: (o) => exclusive(() => sync.saveCheckpoint(o)),
    numTensors: () => exclusive(async () => (await ensure()).call<number>({ op: 'numTensors' })),
    get starts() {
      return starts
    },
    get stateSaves() {
      return sync.stateSaves
    },
    kill: stop,
    injectFault: (fault) => {
      armed = fault
    },
    close: () =>
      (closing ??= (async () => {
        closed = true
        await stop()
        // The operation in flight (a trainer state being written to the scratch folder) first.
        await queue.settled()
        await rm(scratch, { recursive: true, force: true })
      })()),
  }
}
