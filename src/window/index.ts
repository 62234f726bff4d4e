export { selectBatchAndDistribute } from './selectBatchAndDistribute.js'
export type {
  WindowSubmission,
  SelectBatchOptions,
  SelectBatchReturnType,
} from './selectBatchAndDistribute.js'
export { Cooldown } from './cooldown.js'
export type { CooldownView, CooldownSnapshot, CooldownOptions } from './cooldown.js'
export { HashDedup, rolloutHash } from './hashDedup.js'
export type { HashDedupOptions } from './hashDedup.js'
export {
  updateEma,
  replayEma,
  emaToWeights,
  convertWeightsAndUidsForEmit,
  U16_MAX,
} from './scoring.js'
export type {
  HotkeyValues,
  EmaOptions,
  ReplayEmaOptions,
  EmaToWeightsOptions,
  EmaToWeightsReturnType,
} from './scoring.js'
export type { WindowArchive, ArchivedSubmission, ArchivedRollout } from './windowArchive.js'
export type {
  ArchivedRolloutRecord,
  ArchivedBatchEntry,
  ArchivedRunnerUp,
  ArchivedReject,
  WindowArchiveRecord,
} from './windowArchive.js'
export {
  ARCHIVE_LIMITS,
  windowArchiveRecordSchema,
  archivedRolloutSchema,
  archivedBatchEntrySchema,
  archivedRunnerUpSchema,
  archivedRejectSchema,
} from './windowArchive.js'
export { windowArchiveKey, encodeWindowArchive } from './encodeWindowArchive.js'
export { decodeWindowArchive } from './decodeWindowArchive.js'
export type { DecodeWindowArchiveOptions } from './decodeWindowArchive.js'
export { buildWindowArchive } from './buildWindowArchive.js'
export type { BuildWindowArchiveParameters } from './buildWindowArchive.js'
export { WindowStateMachine, WINDOW_TRANSITIONS } from './windowStateMachine.js'
export type {
  WindowPhase,
  WindowTransitionEvent,
  WindowEventName,
  WindowListener,
  WindowStateMachineOptions,
} from './windowStateMachine.js'
export { WindowBatcher, REJECTED_LIST_CAP_PER_HOTKEY } from './windowBatcher.js'
export type {
  ValidSubmission,
  ValidRollout,
  RejectedSubmission,
  WindowBatcherParameters,
  WindowBatcherSnapshot,
  SealOptions,
} from './windowBatcher.js'
export { sealWindow } from './sealWindow.js'
export type {
  SealableSubmission,
  SealWindowParameters,
  SealWindowReturnType,
} from './sealWindow.js'
export { QuotaLedger } from './quotaLedger.js'
export {
  E3_HANDLER_CHECKS,
  E3_WORKER_CHECKS,
  E1_HANDLER_CHECKS,
  E1_WORKER_CHECKS,
  checkEnvelope,
  checkRateLimit,
  checkWindowState,
  checkActiveWindow,
  checkWindowMatchHttp,
  checkWindowMatch,
  checkSealed,
  checkCheckpoint,
  checkDrandRound,
  checkSealTrigger,
  checkPromptIdx,
  checkCooldown,
  checkPromptFull,
  checkBatcherActive,
  checkHashDuplicate,
  checkReward,
  checkZone,
  checkRollouts,
  checkSignedRound,
  checkSuperseded,
} from './admissionChecks.js'
export type {
  AdmissionContext,
  HandlerContext,
  WorkerContext,
  WorkerScratch,
} from './admissionChecks.js'
export {
  parseSubmission,
  runChecks,
  admissionChecksFor,
  runHandlerStage,
  runWorkerStage,
  newWorkerScratch,
  rolloutVerifierFromModel,
  toSubmitHttpResponse,
} from './runAdmission.js'
export type { ParseSubmissionReturnType, SubmitHttpResponse } from './runAdmission.js'
export { AdmissionPipeline } from './admissionPipeline.js'
export type { AdmissionPipelineParameters, VerdictEntry } from './admissionPipeline.js'
export type {
  AdmissionStage,
  AdmissionCheckId,
  AdmissionRequest,
  AdmissionReject,
  AdmissionAccept,
  AdmissionVerdict,
  CheckFailure,
  AdmissionCheck,
  RolloutVerdict,
  RolloutVerdictDiagnostics,
  RolloutVerifierParameters,
  RolloutVerifier,
  DrandTiming,
  AdmissionConfig,
} from './admissionTypes.js'
