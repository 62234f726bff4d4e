/**
 * reliquary/window: one validator window, stage by stage.
 *
 * - `admission/`: the `/submit` checks (handler and worker stages), their ordered lists per
 *   profile, and the queue-and-worker pipeline. Verdicts are transport-neutral; the validator's
 *   HTTP server maps them to status codes.
 * - `seal/`: the open window's state (`WindowBatcher`), the seal rule, batch selection and the
 *   memory across windows (cooldown, hash dedup).
 * - `scoring/`: the EMA of emission shares and its conversion to u16 weights, live or replayed.
 * - `archive/`: the window archive record, its build, encoding and decoding.
 * - `windowStateMachine.ts`: the phase reported by `/state` (open, training, publishing, ready).
 *
 * Words used with one meaning each:
 * - **seal**: the one-time act that ends a window's admission for good and fixes its batch
 *   (`WindowBatcher.seal`, which runs the pure `sealWindow`: select the batch, record the winning
 *   prompts in the cooldown and their rollout hashes in the dedup). "Sealed" means it happened.
 *   In the phase machine the seal is the `open → training` transition; there is no sealed phase.
 * - **seal trigger** (E3): the drand round of the submission that filled the batch. It schedules
 *   the seal (`sealDueAt`, `isSealDue`); it does not seal.
 * - **closed**: admission takes no new submissions (`isClosed`). E1 closes as soon as the batch
 *   fills, before the seal; E3 closes at the seal.
 *
 * @packageDocumentation
 */
export { selectBatchAndDistribute } from './seal/selectBatchAndDistribute.js'
export type {
  WindowSubmission,
  SelectBatchOptions,
  SelectBatchReturnType,
} from './seal/selectBatchAndDistribute.js'
export { Cooldown } from './seal/cooldown.js'
export type { CooldownView, CooldownSnapshot, CooldownOptions } from './seal/cooldown.js'
export { HashDedup, rolloutHash } from './seal/hashDedup.js'
export type { HashDedupOptions } from './seal/hashDedup.js'
export { updateEma } from './scoring/updateEma.js'
export type { EmaOptions } from './scoring/updateEma.js'
export { replayEma } from './scoring/replayEma.js'
export type { ReplayEmaOptions } from './scoring/replayEma.js'
export { emaToWeights, convertWeightsAndUidsForEmit, U16_MAX } from './scoring/emaToWeights.js'
export type { EmaToWeightsOptions, EmaToWeightsReturnType } from './scoring/emaToWeights.js'
export type { HotkeyValues } from './scoring/hotkeyValues.js'
export type { WindowArchive, ArchivedSubmission, ArchivedRollout } from './archive/windowArchive.js'
export type {
  ArchivedRolloutRecord,
  ArchivedBatchEntry,
  ArchivedRunnerUp,
  ArchivedReject,
  WindowArchiveRecord,
} from './archive/windowArchive.js'
export {
  ARCHIVE_LIMITS,
  windowArchiveRecordSchema,
  archivedRolloutSchema,
  archivedBatchEntrySchema,
  archivedRunnerUpSchema,
  archivedRejectSchema,
} from './archive/windowArchive.js'
export { windowArchiveKey, encodeWindowArchive } from './archive/encodeWindowArchive.js'
export { decodeWindowArchive } from './archive/decodeWindowArchive.js'
export type { DecodeWindowArchiveOptions } from './archive/decodeWindowArchive.js'
export { buildWindowArchive } from './archive/buildWindowArchive.js'
export type { BuildWindowArchiveParameters } from './archive/buildWindowArchive.js'
export { WindowStateMachine, WINDOW_TRANSITIONS } from './windowStateMachine.js'
export type {
  WindowPhase,
  WindowTransitionEvent,
  WindowEventName,
  WindowListener,
  WindowStateMachineOptions,
} from './windowStateMachine.js'
export { WindowBatcher, REJECTED_LIST_CAP_PER_HOTKEY } from './seal/windowBatcher.js'
export type {
  WindowBatcherParameters,
  WindowBatcherSnapshot,
  SealOptions,
} from './seal/windowBatcher.js'
export type { ValidSubmission, ValidRollout, RejectedSubmission } from './seal/validSubmission.js'
export { sealWindow } from './seal/sealWindow.js'
export type {
  SealableSubmission,
  SealWindowParameters,
  SealWindowReturnType,
} from './seal/sealWindow.js'
export { QuotaLedger } from './admission/quotaLedger.js'
export {
  E3_HANDLER_CHECKS,
  E3_WORKER_CHECKS,
  E1_HANDLER_CHECKS,
  E1_WORKER_CHECKS,
} from './admission/admissionChecks.js'
export { checkHotkeyRepeat } from './admission/checkHotkeyRepeat.js'
export {
  checkEnvelope,
  checkRateLimit,
  checkWindowState,
  checkActiveWindow,
  checkHandlerWindowMatch,
  checkWindowMatch,
  checkSealed,
  checkCheckpoint,
  checkDrandRound,
  checkSealTrigger,
  checkPromptIdx,
  checkCooldown,
  checkPromptFull,
} from './admission/handlerChecks.js'
export {
  checkBatcherActive,
  checkHashDuplicate,
  checkReward,
  checkZone,
  checkRollouts,
  checkSignedRound,
  checkSuperseded,
} from './admission/workerChecks.js'
export type {
  AdmissionContext,
  HandlerContext,
  WorkerContext,
  WorkerScratch,
} from './admission/admissionContext.js'
export {
  parseSubmission,
  runChecks,
  admissionChecksFor,
  runHandlerStage,
  runWorkerStage,
  newWorkerScratch,
} from './admission/runAdmission.js'
export type { ParseSubmissionReturnType } from './admission/runAdmission.js'
export { AdmissionPipeline } from './admission/admissionPipeline.js'
export type { AdmissionPipelineParameters, VerdictEntry } from './admission/admissionPipeline.js'
export type {
  AdmissionStage,
  AdmissionCheckId,
  AdmissionRequest,
  AdmissionReject,
  AdmissionRefusal,
  AdmissionAccept,
  AdmissionVerdict,
  CheckFailure,
  AdmissionCheck,
  RolloutVerdict,
  RolloutVerdictDiagnostics,
  RolloutVerifierParameters,
  RolloutVerifier,
  RolloutsVerifier,
  UpcomingRollouts,
  DrandTiming,
  AdmissionConfig,
} from './admission/admissionTypes.js'
