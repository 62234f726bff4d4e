/**
 * What the model worker's models hold compared with the main thread's, and the calls that bring
 * either side up to the state of record (createModelWorker's ModelWorker).
 * @internal
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type * as tf from '@tensorflow/tfjs-core'
import type { GrpoStepReturnType } from '../../grpo/grpoStep.js'
import type { GrpoBatch } from '../../grpo/types.js'
import type { ValidatorModels } from '../validatorState.js'
import type { SaveCheckpointParameters } from './createModelWorker.js'
import type { ModelWorkerOp } from './_messages.js'
import type { WorkerThread } from './_workerThread.js'
import { ReliquaryError } from '../../errors/base.js'

const variablesOf = (...models: ValidatorModels['policy'][]): tf.Variable[] =>
  models.flatMap((m) => [...m.weights.values()])
/** The identity of every weight's current data: any `assign` changes it. */
const fingerprint = (vars: readonly tf.Variable[]): readonly object[] =>
  vars.map((v) => v.dataId as object)
const same = (a: readonly object[] | null, b: readonly object[]): boolean =>
  a !== null && a.length === b.length && a.every((x, i) => x === b[i])

/**
 * What the worker's models hold compared with the main thread's, and the calls that bring either
 * side up to the state of record (see {@link ModelWorker}); run one at a time (the call queue).
 *
 * - `policySynced`: the main thread's policy weights (by identity) and completed steps when the
 *   two trainers last held the same state (null: never). A write to the main thread's policy or
 *   trainer since then (a restore, an assign) makes the main thread's state the record again.
 * - `ahead`: the worker's trainer is ahead of the main thread's (GRPO steps not pulled yet): the
 *   state the worker saved after its last step, and the main verify weights it was saved with.
 * - `workerCurrent`: the live thread's trainer holds the state of record (false for a new thread
 *   and while a step's outcome is unknown).
 * - `verifySynced`: the main thread's verify weights the worker's verify model holds.
 */
export function modelSync(
  models: ValidatorModels,
  scratch: string,
  ensure: () => Promise<WorkerThread>,
  diedIn: () => boolean,
) {
  let verifySynced: readonly object[] | null = null
  let policySynced: { readonly fp: readonly object[]; readonly steps: number } | null = null
  let ahead: { readonly dir: string; readonly verify: readonly object[] } | null = null
  let workerCurrent = false
  let saves = 0
  const call = async <T>(op: ModelWorkerOp): Promise<T> => (await ensure()).call<T>(op)

  const verifyPrint = (): readonly object[] => fingerprint(variablesOf(models.verifyModel))
  const syncVerify = async (): Promise<void> => {
    // First: a new thread (after a crash) resets what the worker is known to hold.
    await ensure()
    const fp = verifyPrint()
    if (same(verifySynced, fp)) return
    const weights: [string, Float32Array][] = []
    for (const [name, v] of models.verifyModel.weights)
      weights.push([name, (await v.data()) as Float32Array])
    await call({ op: 'setVerifyWeights', weights })
    verifySynced = fp
  }

  /** Whether the main thread's trainer was written since the two trainers last matched. */
  const mainMoved = (): boolean =>
    policySynced === null ||
    policySynced.steps !== models.trainer.completedSteps ||
    !same(policySynced.fp, fingerprint(variablesOf(models.policy)))
  const markMatched = (): void => {
    policySynced = {
      fp: fingerprint(variablesOf(models.policy)),
      steps: models.trainer.completedSteps,
    }
  }
  /** A new scratch directory for a state the worker saves (the previous one is kept until then). */
  const saveInWorker = async (): Promise<string> => {
    const dir = join(scratch, `from-worker-${++saves}`)
    await call({ op: 'save', dir })
    return dir
  }
  const setAhead = async (next: typeof ahead): Promise<void> => {
    const old = ahead
    ahead = next
    // Best effort: a folder left behind costs disk, never the state of record.
    if (old && old.dir !== next?.dir)
      await rm(old.dir, { recursive: true, force: true }).catch(() => undefined)
  }

  /** Brings the worker's trainer, then its verify model, to the state of record. */
  const syncTrainer = async (): Promise<void> => {
    await ensure()
    if (ahead && mainMoved()) {
      // The main thread's trainer was written while the worker was ahead: the write wins.
      await setAhead(null)
      workerCurrent = false
    }
    if (!workerCurrent || mainMoved()) {
      if (ahead) {
        // A new thread: it takes the state the previous one saved after its last step.
        await call({ op: 'restore', dir: ahead.dir })
        verifySynced = null
      } else {
        const dir = join(scratch, 'to-worker')
        await rm(dir, { recursive: true, force: true })
        await models.trainer.save(dir)
        await call({ op: 'restore', dir })
        markMatched()
        verifySynced = verifyPrint()
      }
      workerCurrent = true
    }
    await syncVerify()
  }

  /**
   * Runs `f` once more when the worker thread died during it (`VALIDATOR_WORKER_FAILED` from a
   * thread that is no longer alive, not a closed worker): the new thread first takes the state of
   * record (the state its predecessor saved after its last step, or the main thread's), so the
   * repeated step or save computes and writes what the first would have. A second death fails.
   */
  const onceMore = async <T>(f: () => Promise<T>): Promise<T> => {
    try {
      return await f()
    } catch (e) {
      if (!(e instanceof ReliquaryError && e.code === 'VALIDATOR_WORKER_FAILED') || !diedIn())
        throw e
      return f()
    }
  }

  return {
    /** A new thread: it holds nothing known yet. */
    started(): void {
      verifySynced = null
      workerCurrent = false
    },
    syncVerify,
    get behind(): boolean {
      return ahead !== null && !mainMoved()
    },
    step: (batch: GrpoBatch): Promise<GrpoStepReturnType> =>
      onceMore(async () => {
        await syncTrainer()
        // Until the step and its save are done, the worker's trainer holds an unknown state.
        workerCurrent = false
        const stats = await call<GrpoStepReturnType>({ op: 'step', batch })
        // Saved by the worker, so that a crash loses nothing; the main thread takes it on `pull`.
        if (stats.stepped) await setAhead({ dir: await saveInWorker(), verify: verifySynced! })
        workerCurrent = true
        return stats
      }),
    async pull(): Promise<void> {
      if (ahead && mainMoved()) await setAhead(null)
      if (!ahead) return
      if (!same(ahead.verify, verifyPrint())) {
        // The main verify model changed since the step (a publish): the worker saves its trainer
        // again with it, so that the restore below keeps the main thread's verify weights.
        await syncTrainer()
        await setAhead({ dir: await saveInWorker(), verify: verifySynced! })
      }
      await models.trainer.restore(ahead.dir)
      await setAhead(null)
      markMatched()
      // The restore assigned the verify model the values the worker holds.
      if (verifySynced !== null) verifySynced = verifyPrint()
    },
    saveTrainer: (dir: string): Promise<void> =>
      onceMore(async () => {
        await syncTrainer()
        await call({ op: 'save', dir })
      }),
    // saveCheckpointDir writes through a staging folder: a death mid-write leaves `dir` absent.
    saveCheckpoint: (p: SaveCheckpointParameters): Promise<void> =>
      onceMore(async () => {
        await syncTrainer()
        await call({ op: 'saveCheckpoint', dir: p.dir, dtype: p.dtype, modelDir: p.modelDir })
      }),
  }
}
