/**
 * The miner side of the protocol (meant as `reliquary/miner`; package.json and tsup.config.ts do not
 * list the entry yet). A prompt picker (frontier or uniform), the
 * `/submit` request builder, and {@link createMiner}, a complete E3 miner loop (poll `/state`,
 * verify and load announced checkpoints, generate, prove, submit, read `/verdicts`). Node only;
 * importing it loads `@tensorflow/tfjs` (through `reliquary/model`).
 */
export { createFrontierPicker } from './frontier.js'
export { uniformPicker } from './uniformPicker.js'
export { scoreForecasts, baseRateForecasts } from './calibration.js'
export type { Forecast, ForecastScore, CalibrationBin } from './calibration.js'
export {
  zoneSuccessCounts,
  binomialZoneProbability,
  betaBinomialZoneProbability,
} from './zoneProbability.js'
export type {
  PromptPicker,
  PickContext,
  PickerOptions,
  GroupOutcome,
  GroupProgress,
} from './promptPicker.js'
export type { FrontierPickerOptions, FrontierPicker, PromptEstimate } from './frontier.js'
export { buildSubmitRequest, randomNonce } from './submission.js'
export type { BuildSubmitRequestParameters, SubmissionRollout } from './submission.js'
export { fabricateSketches, zoneShapedRewards, CHEAT_KINDS } from './cheat.js'
export type { CheatKind } from './cheat.js'
export { createMiner } from './createMiner.js'
export type {
  CreateMinerParameters,
  Miner,
  MinerStrategy,
  MinerGroupKind,
  MinerHubOptions,
  MinerLogEntry,
  MinerGroupReport,
  MinerWindowStats,
  MinerStats,
  MinerWindowReport,
} from './types.js'
