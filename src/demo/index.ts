export { runDemo, DEMO_DEFAULTS } from './runDemo.js'
export type { DemoMinerKind, RunDemoOptions, RunDemoReturnType } from './runDemo.js'
export {
  createTargetTokenEnvironment,
  parseTargetRule,
  targetReward,
  DEFAULT_TARGET_ALPHABET,
} from './environment.js'
export type {
  CreateTargetTokenEnvironmentOptions,
  TargetRule,
  PromptTokenizer,
} from './environment.js'
export { renderDemoReport } from './report.js'
export type {
  DemoSummary,
  DemoMinerSummary,
  DemoWindowSummary,
  DemoGroupOutcome,
} from './report.js'
export type { DemoChainWeights, DemoChainWeightRow } from './chainWeights.js'
export { createDemoProfile, DEMO_PROFILE_NUMBERS, DEMO_PROFILE_ID } from './profile.js'
export type { DemoProfileDrand } from './profile.js'
export { bundledModelDir } from './bundledModel.js'
export { isTargetRewardDecided } from './environment.js'
