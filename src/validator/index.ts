export { createValidatorServer, VALIDATOR_SERVER_DEFAULTS } from './createValidatorServer.js'
export { toSubmitHttpResponse } from './http/toSubmitHttpResponse.js'
export type { SubmitHttpResponse } from './http/toSubmitHttpResponse.js'
export type {
  ValidatorServerParameters,
  SubmissionEvent,
  ValidatorServerStats,
  ValidatorServer,
} from './createValidatorServer.js'
export { createValidator } from './createValidator.js'
export type {
  ValidatorHubOptions,
  CreateValidatorParameters,
  HotkeyCounts,
  SealReason,
  WindowReport,
  ValidatorEvent,
  Validator,
} from './createValidator.js'
export { runValidator } from './runValidator.js'
export type { RunValidatorParameters, RunValidatorReturnType } from './runValidator.js'
export { identifyBaseModel } from './identifyBaseModel.js'
