export { createValidatorServer, VALIDATOR_SERVER_DEFAULTS } from './http/createValidatorServer.js'
export { toSubmitHttpResponse } from './http/toSubmitHttpResponse.js'
export { SubmitPool, SUBMIT_POOL_DEFAULTS, defaultSubmitPoolSize } from './http/submitPool.js'
export type { SubmitHttpResponse } from './http/toSubmitHttpResponse.js'
export type { FastApiErrorItem, PreparedSubmit } from './http/submitPool.js'
export type {
  ValidatorServerParameters,
  SubmissionEvent,
  ValidatorServerStats,
  ValidatorServer,
} from './http/createValidatorServer.js'
export { createValidator } from './createValidator.js'
export type { CreateValidatorParameters, Validator } from './createValidator.js'
export type { ValidatorHubOptions } from './hubPublisher.js'
export type { HotkeyCounts } from './submissionTally.js'
export type { SealReason } from './steps/admitUntilSeal.js'
export type { WindowReport } from './windowReport.js'
export type { ValidatorEvent } from './validatorEvent.js'
export { runValidator } from './runValidator.js'
export type { RunValidatorParameters, RunValidatorReturnType } from './runValidator.js'
export { identifyBaseModel } from './identifyBaseModel.js'
export { MODEL_WORKER_DEFAULTS, createModelWorker } from './worker/createModelWorker.js'
export type {
  CreateModelWorkerParameters,
  ModelWorker,
  ModelWorkerFault,
  SaveCheckpointParameters,
} from './worker/createModelWorker.js'
export type { ValidatorCompute } from './worker/startModelWorker.js'
export type { ValidatorPrecision } from './createValidatorEvaluator.js'
export type { ValidatorModels } from './validatorState.js'
