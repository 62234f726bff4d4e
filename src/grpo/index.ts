/**
 * reliquary/grpo: the validator's GRPO training step on TensorFlow.js (docs/protocol.md §7): group
 * advantages, PPO clipped surrogate with a k3 KL penalty, global-norm clipping, AdamW with
 * decoupled weight decay, the warm-up + cosine schedule, and a trainer with exact save/restore.
 * Importing this entry point loads `@tensorflow/tfjs` (which registers the gradients training
 * needs); the library never picks a backend.
 */
export { grpoLoss } from './grpoLoss.js'
export type { GrpoLossOptions, GrpoLossReturnType } from './grpoLoss.js'
export { grpoStep } from './grpoStep.js'
export type { GrpoStepState, GrpoStepReturnType } from './grpoStep.js'
export { createTrainer } from './createTrainer.js'
export type {
  CreateTrainerParameters,
  GrpoTrainer,
  GrpoTrainerRestoreReturnType,
} from './createTrainer.js'
export { createAdamW, ADAMW_DEFAULTS } from './createAdamW.js'
export type { AdamW, AdamWOptions, AdamWParameterState } from './createAdamW.js'
export { learningRateAt } from './learningRateAt.js'
export { resolveGrpoOptions } from './resolveGrpoOptions.js'
export { parseGrpoBatch } from './parseGrpoBatch.js'
export type {
  GrpoBatch,
  GrpoBatchMetrics,
  GrpoGroup,
  GrpoNormalization,
  GrpoOptions,
  GrpoRollout,
  GrpoRolloutTerms,
  GrpoSkipReason,
  ResolvedGrpoOptions,
} from './types.js'
