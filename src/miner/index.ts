/**
 * The miner side of the protocol (meant as `reliquary/miner`; package.json and tsup.config.ts do not
 * list the entry yet). A prompt picker (frontier or uniform), the
 * `/submit` request builder, and {@link createMiner}, a complete E3 miner loop (poll `/state`,
 * verify and load announced checkpoints, generate, prove, submit, read `/verdicts`). Node only;
 * importing it loads `@tensorflow/tfjs` (through `reliquary/model`).
 */
export { createFrontierPicker, uniformPicker } from './frontier.js'
export {
  zoneSuccessCounts,
  binomialZoneProbability,
  betaBinomialZoneProbability,
} from './zoneProbability.js'
export type {
  PromptPicker,
  PickContext,
  PickerOptions,
  FrontierPickerOptions,
  FrontierPicker,
  PromptEstimate,
  GroupOutcome,
  GroupProgress,
} from './frontier.js'
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
