/**
 * What the model worker's models hold compared with the main thread's, and the calls that bring
 * either side up to the state of record (createModelWorker's ModelWorker).
 * @internal
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type * as tf from '@tensorflow/tfjs-core'
import { ReliquaryError } from '../../errors/base.js'
import type { GrpoStepReturnType } from '../../grpo/grpoStep.js'
import type { GrpoBatch } from '../../grpo/types.js'
import type { ValidatorModels } from '../validatorState.js'
import type { SaveCheckpointParameters } from './createModelWorker.js'
import type { WorkerThread } from './_workerThread.js'

const variablesOf = (...models: ValidatorModels['policy'][]): tf.Variable[] =>
  models.flatMap((m) => [...m.weights.values()])
/** The identity of every weight's current data: any `assign` changes it. */
const fingerprint = (vars: readonly tf.Variable[]): readonly object[] =>
  vars.map((v) => v.dataId as object)
const same = (a: readonly object[] | null, b: readonly object[] | null): boolean =>
  a !== null && b !== null && a.length === b.length && a.every((x, i) => x === b[i])

/**
 * A trainer state saved to disk and the GRPO steps taken from it since: restoring `dir` and
 * stepping through `steps` again gives the worker's state of record (a step is a pure function of
 * the trainer state and the batch, so the repeat computes what the first run did). `verify` is
 * the main thread's verify weights saved in `dir` (the trainer's KL reference), which every step
 * in `steps` used too.
 */
type Recovery = { readonly dir: string; readonly verify: readonly object[]; steps: GrpoBatch[] }

/** Removes a folder, best effort (a folder left behind costs disk only). */
const removeDir = (dir: string): Promise<void> =>
  rm(dir, { recursive: true, force: true }).catch(() => undefined)
/** A `catch` handler that removes `dir` (a failed save's partial folder), then rethrows. */
const removeDirAndThrow =
  (dir: string) =>
  async (e: unknown): Promise<never> => {
    await removeDir(dir)
    throw e
  }

/**
 * A model's weights and their fingerprint, read again until no `assign` (a publish) landed during
 * the reads: never a mix of two versions.
 */
async function consistentWeightsOf(
  m: ValidatorModels['verifyModel'],
): Promise<{ fp: readonly object[]; weights: [string, Float32Array][] }> {
  for (;;) {
    const fp = fingerprint(variablesOf(m))
    const weights = await weightsOf(m)
    if (same(fp, fingerprint(variablesOf(m)))) return { fp, weights }
  }
}

/** A model's weights by name, read from its tensors. */
async function weightsOf(m: ValidatorModels['verifyModel']): Promise<[string, Float32Array][]> {
  const weights: [string, Float32Array][] = []
  for (const [name, v] of m.weights) weights.push([name, (await v.data()) as Float32Array])
  return weights
}

/**
 * Runs `f` once more when the worker thread died during it (`VALIDATOR_WORKER_FAILED` while
 * `diedIn()`: a thread that is no longer alive, not a closed worker): the new thread first takes
 * the state of record (the recovery point and the steps since, or the main thread's state), so
 * the repeated step or save computes and writes what the first would have. A second death fails.
 */
async function onceMoreAfterDeath<T>(diedIn: () => boolean, f: () => Promise<T>): Promise<T> {
  try {
    return await f()
  } catch (e) {
    if (!(e instanceof ReliquaryError && e.code === 'VALIDATOR_WORKER_FAILED') || !diedIn()) throw e
    return f()
  }
}

/**
 * What the worker's models hold compared with the main thread's, and the calls that bring either
 * side up to the state of record (see {@link ModelWorker}); run one at a time (the call queue).
 *
 * - `policySynced`: the main thread's policy weights (by identity) and completed steps when the
 *   two trainers last held the same state (null: never). A write to the main thread's policy or
 *   trainer since then (a restore, an assign) makes the main thread's state the record again.
 * - `recovery`: how a new thread gets the worker's state of record back ({@link Recovery}); null
 *   while the main thread's state is the record and no saved copy of it exists.
 * - `ahead`: the worker's trainer is ahead of the main thread's (GRPO steps not pulled yet).
 * - `workerCurrent`: the live thread's trainer holds the state of record (false for a new thread
 *   and while a step's outcome is unknown).
 * - `verifySynced`: the main thread's verify weights the worker's verify model holds.
 *
 * A step saves the trainer state only every `saveEvery` steps (and when its verify weights differ
 * from the recovery point's); the steps in between are repeated from the last save after a
 * crash, instead of writing about four copies of the model to disk after every step.
 *
 * Each operation runs on one thread, taken once at its start (`ensure`): a thread that dies
 * between two of its requests fails the operation (which {@link onceMoreAfterDeath} then runs
 * again from the start on a new thread) instead of a new, empty thread finishing it.
 */
export function modelSync(
  models: ValidatorModels,
  scratch: string,
  ensure: () => Promise<WorkerThread>,
  diedIn: () => boolean,
  saveEvery: number,
) {
  let verifySynced: readonly object[] | null = null
  let policySynced: { readonly fp: readonly object[]; readonly steps: number } | null = null
  let recovery: Recovery | null = null
  let ahead = false
  let workerCurrent = false
  let saves = 0
  let stateSaves = 0

  const verifyPrint = (): readonly object[] => fingerprint(variablesOf(models.verifyModel))

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
  /** Replaces the recovery point; its old folder is removed (best effort: it costs disk only). */
  const setRecovery = async (next: Recovery | null): Promise<void> => {
    const old = recovery
    recovery = next
    if (old && old.dir !== next?.dir) await removeDir(old.dir)
  }
  /**
   * The live worker's trainer saved to a new scratch folder as the recovery point (the previous
   * one is kept until then; a failed save's folder is removed). The worker must hold the state of
   * record.
   */
  const saveRecovery = async (t: WorkerThread): Promise<void> => {
    const dir = join(scratch, `from-worker-${++saves}`)
    await t.call({ op: 'save', dir }).catch(removeDirAndThrow(dir))
    stateSaves++
    await setRecovery({ dir, verify: verifySynced!, steps: [] })
  }

  /**
   * Gives thread `t` the main thread's verify weights. Steps the recovery point holds keep the
   * verify weights they used: those saved in its folder (a step run with other weights saves a new
   * recovery point, see `step`).
   */
  const syncVerify = async (t: WorkerThread): Promise<void> => {
    if (same(verifySynced, verifyPrint())) return
    const { fp, weights } = await consistentWeightsOf(models.verifyModel)
    await t.call({ op: 'setVerifyWeights', weights })
    verifySynced = fp
  }

  /**
   * The main thread's trainer was written while the worker was ahead: the write wins, and the
   * worker's unpulled steps are dropped.
   */
  const dropIfMainWrote = async (): Promise<void> => {
    if (!ahead || !mainMoved()) return
    ahead = false
    workerCurrent = false
    await setRecovery(null)
  }

  /** Brings thread `t`'s trainer, then its verify model, to the state of record. */
  const syncTrainer = async (t: WorkerThread): Promise<void> => {
    await dropIfMainWrote()
    if (!workerCurrent || mainMoved()) {
      if (recovery && !mainMoved()) {
        // A new thread: the last saved state, then the steps taken since, again (none when the
        // main thread holds the same state: the recovery point is then the state both last
        // shared, from a pull or handed to the worker).
        await t.call({ op: 'restore', dir: recovery.dir })
        verifySynced = recovery.verify
        for (const batch of recovery.steps) await t.call({ op: 'step', batch })
      } else {
        const dir = join(scratch, `to-worker-${++saves}`)
        await models.trainer.save(dir).catch(removeDirAndThrow(dir))
        await t.call({ op: 'restore', dir }).catch(removeDirAndThrow(dir))
        markMatched()
        verifySynced = verifyPrint()
        await setRecovery({ dir, verify: verifySynced, steps: [] })
      }
      workerCurrent = true
    }
    await syncVerify(t)
  }

  /** Runs `f` on one thread, once more on a new one when that thread dies during it. */
  const onOneThread = <T>(f: (t: WorkerThread) => Promise<T>): Promise<T> =>
    onceMoreAfterDeath(diedIn, async () => f(await ensure()))

  return {
    /** A new thread: it holds nothing known yet. */
    started(): void {
      verifySynced = null
      workerCurrent = false
    },
    syncVerify,
    get behind(): boolean {
      return ahead && !mainMoved()
    },
    /** Full trainer states the worker wrote to its scratch folder (recovery points). */
    get stateSaves(): number {
      return stateSaves
    },
    step: (batch: GrpoBatch): Promise<GrpoStepReturnType> =>
      onOneThread(async (t) => {
        await syncTrainer(t)
        // Until the step is recorded, the worker's trainer holds an unknown state: a step or a
        // save that fails leaves it so, and the next call restores the state of record.
        workerCurrent = false
        const stats = await t.call<GrpoStepReturnType>({ op: 'step', batch })
        if (stats.stepped) {
          const r = recovery!
          // The recovery point's verify weights are every repeated step's KL reference.
          if (r.steps.length + 1 >= saveEvery || !same(r.verify, verifySynced))
            await saveRecovery(t)
          else r.steps.push(batch)
          ahead = true
        }
        workerCurrent = true
        return stats
      }),
    async pull(): Promise<void> {
      await dropIfMainWrote()
      if (!ahead) return
      // Steps not saved yet are saved by the worker first (repeated on a new thread if it died).
      if (recovery!.steps.length > 0)
        await onOneThread(async (t) => {
          await syncTrainer(t)
          if (recovery!.steps.length > 0) await saveRecovery(t)
        })
      // The main thread's verify model stays as it is (its own is the state of record, and a
      // publish reloading it meanwhile must not be undone): policy, moments and schedule only.
      await models.trainer.restore(recovery!.dir, { reference: false })
      ahead = false
      markMatched()
    },
    saveTrainer: (dir: string): Promise<void> =>
      onOneThread(async (t) => {
        await syncTrainer(t)
        await t.call({ op: 'save', dir })
      }),
    // saveCheckpointDir writes through a staging folder: a death mid-write leaves `dir` absent.
    saveCheckpoint: (p: SaveCheckpointParameters): Promise<void> =>
      onOneThread(async (t) => {
        await syncTrainer(t)
        await t.call({ op: 'saveCheckpoint', dir: p.dir, dtype: p.dtype, modelDir: p.modelDir })
      }),
  }
}
