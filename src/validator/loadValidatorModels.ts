import { createTrainer } from '../grpo/createTrainer.js'
import type { GrpoOptions } from '../grpo/types.js'
import { loadModel } from '../model/loadModel.js'
import type { ProtocolProfile } from '../protocol/profiles.js'
import type { ValidatorModels } from './validatorState.js'

/**
 * Loads the validator's models from the base model directory: the trainable policy, the frozen
 * verify model (also the KL reference) and the GRPO trainer over them. Whatever was loaded is
 * freed when a later load fails.
 *
 * @param p - The model directory, the profile (training defaults) and GRPO overrides.
 * @returns The {@link ValidatorModels}; the caller owns and disposes them.
 * @throws model loading errors; trainer option errors.
 */
export async function loadValidatorModels(p: {
  modelDir: string
  profile: ProtocolProfile
  grpo?: Omit<GrpoOptions, 'profile'> | undefined
}): Promise<ValidatorModels> {
  const policy = await loadModel(p.modelDir)
  try {
    const verifyModel = await loadModel(p.modelDir, { trainable: false })
    try {
      const trainer = createTrainer({
        ...p.grpo,
        profile: p.profile,
        model: policy,
        referenceModel: verifyModel,
      })
      return { policy, verifyModel, trainer }
    } catch (e) {
      verifyModel.dispose()
      throw e
    }
  } catch (e) {
    policy.dispose()
    throw e
  }
}

/**
 * Frees the models of {@link loadValidatorModels}: the trainer's state, then both models.
 *
 * @param m - The models.
 */
export function disposeValidatorModels(m: ValidatorModels): void {
  m.trainer.dispose()
  m.verifyModel.dispose()
  m.policy.dispose()
}
