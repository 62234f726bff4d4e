export { rolloutScoresFromLogits } from './scores.js'
export type { RolloutScores, RolloutScoresOptions } from './scores.js'
export { checkTermination, checkLogprobs, checkDistribution } from './checks.js'
export type {
  RolloutShape,
  TerminationResult,
  LogprobResult,
  DistributionResult,
} from './checks.js'
export { verifyRollout, verifyRollouts } from './verifyRollout.js'
export type {
  RolloutEvaluator,
  VerifyRolloutParameters,
  VerifyRolloutReturnType,
  VerifyRolloutsParameters,
} from './verifyRollout.js'
export { proveRollout } from './proveRollout.js'
export type { ProveRolloutParameters } from './proveRollout.js'
