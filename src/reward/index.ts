export { extractBoxedAnswer, lastBoxedOnlyString, stripBoxedWrapper } from './extractBoxedAnswer.js'
export { normalizeMathAnswer, normalizeOmiAnswer } from './normalizeMathAnswer.js'
export { mathReward } from './mathReward.js'
export { omiReward } from './omiReward.js'
export { groupSigma, isInZone, isBootstrapWindow, groupAdvantages } from './groups.js'
export type { IsInZoneOptions, IsBootstrapWindowOptions, GroupAdvantagesOptions } from './groups.js'
export { createMathEnvironment, problemId } from './environment.js'
export type {
  RewardEnvironment,
  Problem,
  MathProblemRecord,
  CreateMathEnvironmentOptions,
} from './environment.js'
