import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { invalidArgument } from '../errors/base.js'
import type { ProtocolProfile } from '../protocol/profiles.js'
import type { CreateValidatorParameters } from './createValidator.js'
import { saveCheckpointDir } from './saveCheckpointDir.js'
import { disposeValidatorModels } from './loadValidatorModels.js'
import { resumeValidator } from './resumeValidator.js'
import type { ValidatorPersistence } from './steps/commitWindow.js'
import type { ValidatorContext } from './validatorContext.js'
import type { ValidatorState } from './validatorState.js'
import type { ModelWorker } from './worker/createModelWorker.js'
import { createValidatorStore } from './validatorStore.js'

/**
 * Where a validator writes its archives (`archiveDir`, else `stateDir`) and checkpoints
 * (`checkpointDir`, else `<archiveDir>/checkpoints`).
 * @internal
 * @throws {ReliquaryError} `INVALID_ARGUMENT` without an `archiveDir` or `stateDir`.
 */
export function stateDirsOf(
  p: Pick<CreateValidatorParameters, 'stateDir' | 'archiveDir' | 'checkpointDir'>,
): { archiveDir: string; checkpointDir: string } {
  if (p.stateDir !== undefined && (typeof p.stateDir !== 'string' || p.stateDir.length === 0))
    throw invalidArgument('stateDir', 'a directory path', p.stateDir)
  const archiveDir = p.archiveDir ?? p.stateDir
  if (typeof archiveDir !== 'string' || archiveDir.length === 0)
    throw invalidArgument('archiveDir', 'a directory path (or a stateDir)', p.archiveDir)
  return { archiveDir, checkpointDir: p.checkpointDir ?? join(archiveDir, 'checkpoints') }
}

/**
 * The persistence of a validator created with a `stateDir`, or `null` without one.
 * @internal
 */
export function persistenceFor(
  p: Pick<CreateValidatorParameters, 'stateDir' | 'checkpointDtype' | 'modelDir' | 'hotkey'>,
  o: {
    archiveDir: string
    checkpointDir: string
    profile: ProtocolProfile
    /** The model worker, which then writes the trainer state and checkpoints (its state is the record). */
    modelWorker?: ModelWorker | null | undefined
  },
): ValidatorPersistence | null {
  if (p.stateDir === undefined) return null
  const store = createValidatorStore({
    stateDir: p.stateDir,
    archiveDir: o.archiveDir,
    checkpointDir: o.checkpointDir,
  })
  const dtype = p.checkpointDtype ?? 'BF16'
  const worker = o.modelWorker ?? null
  return {
    store,
    saveCheckpoint: (state, dir) =>
      worker
        ? worker.saveCheckpoint({ dir, dtype, modelDir: p.modelDir })
        : saveCheckpointDir({ policy: state.models.policy, dir, dtype, modelDir: p.modelDir }),
    ...(worker ? { saveTrainer: (_: ValidatorState, dir: string) => worker.saveTrainer(dir) } : {}),
    validatorHotkey: p.hotkey.address,
    profileId: o.profile.id,
  }
}

/**
 * Resumes a validator from its state directory (`resumeValidator`) and reports it (`resumed`);
 * when that fails, the server is closed and the models freed before the error is rethrown.
 * @internal
 */
export async function resumeOrDispose(
  state: ValidatorState,
  ctx: ValidatorContext,
  server: { close(): Promise<void> },
): Promise<void> {
  const persistence = ctx.persistence
  if (!persistence) return
  try {
    await mkdir(persistence.store.stateDir, { recursive: true })
    const r = await resumeValidator(state, { ...ctx, persistence })
    ctx.emit({
      type: 'resumed',
      windowN: r.windowN,
      checkpointN: r.checkpointN,
      trainerRestored: r.trainerRestored,
      archives: r.archives,
    })
  } catch (e) {
    await server.close()
    disposeValidatorModels(state.models)
    throw e
  }
}
