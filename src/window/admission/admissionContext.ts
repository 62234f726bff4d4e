import type { QuotaLedger } from './quotaLedger.js'
import type { WindowBatcher } from '../seal/windowBatcher.js'
import type { WindowPhase } from '../windowStateMachine.js'
import type { AdmissionConfig, AdmissionRequest, UpcomingRollouts } from './admissionTypes.js'

/** What every check can read: the validator config, the parsed request, the batcher (if any). */
export type AdmissionContext = {
  readonly config: AdmissionConfig
  readonly request: AdmissionRequest
  readonly batcher: WindowBatcher | null
}

/** Context of the `/submit` handler checks. */
export type HandlerContext = AdmissionContext & {
  /** When the request reached the validator (unix seconds), stamped before body parsing. */
  readonly arrivalSeconds: number
  /** The validator's window phase. */
  readonly phase: WindowPhase
  /** Per-window quota and bad-envelope counters. */
  readonly ledger: QuotaLedger
  /**
   * The envelope signature already verified against `randomness` (e.g. in a parsing thread): the
   * envelope check takes `ok` when the window's randomness is still that one, else verifies.
   */
  readonly envelopeChecked?: { readonly randomness: string; readonly ok: boolean } | undefined
}

/** Values the worker checks compute for the accept step (filled in order). */
export type WorkerScratch = {
  rolloutHashes: string[]
  completionTexts: string[]
  sigma: number
  sketchDiffMax: number | null
  lpDevMax: number | null
  distQ10Min: number | null
}

/** Context of the queue-worker checks. */
export type WorkerContext = AdmissionContext & {
  /** The batcher the submission was queued for. */
  readonly batcher: WindowBatcher
  /** The batcher active now (a different one means the window rolled over: `worker_dropped`). */
  readonly activeBatcher: WindowBatcher | null
  readonly arrivalSeconds: number | undefined
  /** When the worker processes the item (unix seconds), if known. */
  readonly nowSeconds: number | undefined
  readonly scratch: WorkerScratch
  /** The submissions queued after this one (handed to `config.verifyRollouts`), when queued. */
  readonly upcoming?: UpcomingRollouts | undefined
}
