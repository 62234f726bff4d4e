import type { HandlerContext, WorkerContext } from './admissionContext.js'
import type { AdmissionCheck } from './admissionTypes.js'
import {
  checkActiveWindow,
  checkCheckpoint,
  checkCooldown,
  checkDrandRound,
  checkEnvelope,
  checkPromptFull,
  checkPromptIdx,
  checkRateLimit,
  checkSealed,
  checkSealTrigger,
  checkHandlerWindowMatch,
  checkWindowMatch,
  checkWindowState,
} from './handlerChecks.js'
import {
  checkBatcherActive,
  checkHashDuplicate,
  checkReward,
  checkRollouts,
  checkSignedRound,
  checkSuperseded,
  checkZone,
} from './workerChecks.js'
import { checkTokensMatch } from './checkTokensMatch.js'

// ------------------------------------------------------------------------------------------------
// Ordered lists
// ------------------------------------------------------------------------------------------------

/** The E3 `/submit` handler checks, in the reference order (docs/protocol.md §4.3 handler steps 1–12). */
export const E3_HANDLER_CHECKS: readonly AdmissionCheck<HandlerContext>[] =
  /*#__PURE__*/ Object.freeze([
    checkEnvelope,
    checkRateLimit,
    checkWindowState,
    checkActiveWindow,
    checkHandlerWindowMatch,
    checkSealed,
    checkCheckpoint,
    checkDrandRound,
    checkSealTrigger,
    checkPromptIdx,
    checkCooldown,
    checkPromptFull,
  ])

/**
 * The E3 worker checks, in the reference order: the server worker's window and seal checks, then
 * `_accept_locked` steps 1–10 (docs/protocol.md §4.3), with `tokens_mismatch` (a check only a
 * forgery
 * can fail, from the reference's later pipeline) before the first step that reads rollout content.
 * Everything before `rollouts` is cheap; the model
 * runs only inside the rollout verifier.
 */
export const E3_WORKER_CHECKS: readonly AdmissionCheck<WorkerContext>[] =
  /*#__PURE__*/ Object.freeze([
    checkBatcherActive,
    checkSealed,
    checkSealTrigger,
    checkWindowMatch,
    checkCheckpoint,
    checkPromptIdx,
    checkCooldown,
    checkPromptFull,
    checkTokensMatch,
    checkHashDuplicate,
    checkReward,
    checkZone,
    checkRollouts,
  ])

/**
 * The E1 `/submit` handler checks (docs/protocol.md §4.1): state, active window (refused:
 * `no_active_window`), window (refused: `window_mismatch`); then a provisional `accepted`.
 */
export const E1_HANDLER_CHECKS: readonly AdmissionCheck<HandlerContext>[] =
  /*#__PURE__*/ Object.freeze([checkWindowState, checkActiveWindow, checkHandlerWindowMatch])

/** The E1 worker checks (`_accept_locked` at 59b4718, docs/protocol.md §4.1 steps 1–9), with `tokens_mismatch` before the reward step. */
export const E1_WORKER_CHECKS: readonly AdmissionCheck<WorkerContext>[] =
  /*#__PURE__*/ Object.freeze([
    checkBatcherActive,
    checkWindowMatch,
    checkCheckpoint,
    checkPromptIdx,
    checkSignedRound,
    checkCooldown,
    checkSuperseded,
    checkTokensMatch,
    checkReward,
    checkZone,
    checkRollouts,
  ])
