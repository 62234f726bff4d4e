import type { WindowPhase } from '../window/windowStateMachine.js'
import type { SubmissionEvent } from './http/createValidatorServer.js'
import type { SealReason } from './steps/admitUntilSeal.js'
import type { WindowReport } from './windowReport.js'

/** Progress events of a validator, one per step of the window (and one per submission). */
export type ValidatorEvent =
  | {
      readonly type: 'state'
      readonly windowN: number
      readonly from: WindowPhase
      readonly to: WindowPhase
      readonly atSeconds: number | undefined
    }
  | {
      readonly type: 'open'
      readonly windowN: number
      readonly round: number
      readonly randomness: string
      readonly checkpointN: number
    }
  | { readonly type: 'submission'; readonly windowN: number; readonly submission: SubmissionEvent }
  | {
      readonly type: 'sealed'
      readonly windowN: number
      readonly reason: SealReason
      readonly validSubmissions: number
      readonly batchSize: number
      readonly trained: boolean
    }
  | {
      readonly type: 'trained'
      readonly windowN: number
      readonly loss: number
      readonly kl: number
      readonly learningRate: number
      readonly rolloutsUsed: number
    }
  | { readonly type: 'train_failed'; readonly windowN: number; readonly error: string }
  | {
      readonly type: 'published'
      readonly windowN: number
      readonly checkpointN: number
      readonly revision: string
      readonly repoId: string
    }
  | { readonly type: 'publish_failed'; readonly windowN: number; readonly error: string }
  | {
      readonly type: 'archived'
      readonly windowN: number
      readonly path: string
      readonly bytes: number
    }
  | { readonly type: 'window'; readonly report: WindowReport }
  | {
      /** The validator resumed from its state directory (before its first window). */
      readonly type: 'resumed'
      /** The last committed window. */
      readonly windowN: number
      readonly checkpointN: number
      /** Whether the trainer (policy, optimizer, schedule) was restored rather than the base model. */
      readonly trainerRestored: boolean
      /** Archives replayed into the EMA, cooldown and hash dedup. */
      readonly archives: number
    }
