import type { BeaconSource } from '../drand/beacon.js'
import type { GrpoStepReturnType } from '../grpo/grpoStep.js'
import type { GrpoBatch } from '../grpo/types.js'
import type { ProtocolProfile } from '../protocol/profiles.js'
import type { RewardEnvironment } from '../reward/environment.js'
import type { AdmissionPipeline } from '../window/admission/admissionPipeline.js'
import type { DrandTiming } from '../window/admission/admissionTypes.js'
import type { WindowStateMachine } from '../window/windowStateMachine.js'
import type { ValidatorPersistence } from './steps/commitWindow.js'
import type { CheckpointPublisher } from './steps/publishPolicy.js'
import type { SubmissionTally } from './submissionTally.js'
import type { ValidatorEvent } from './validatorEvent.js'

/**
 * What the steps of a window depend on and never carry across a restart: the protocol numbers,
 * the clock, the beacon source, the admission pipeline and its server, the window phase, the
 * archive directory and the checkpoint publisher. Passed to every step explicitly, so a step can be
 * run with a fake clock, fake beacons or a fake publisher.
 */
export type ValidatorContext = {
  readonly profile: ProtocolProfile
  /** The beacon chain's timing (the admission gates and the seal boundary follow it). */
  readonly timing: DrandTiming
  /** The beacon chain's hash (binds the window randomness). */
  readonly chainHash: string
  /** Verified drand beacons. */
  readonly beacons: BeaconSource
  /** Clock in unix seconds. */
  readonly now: () => number
  /** Sleeps `ms` milliseconds. */
  readonly sleep: (ms: number) => Promise<void>
  /** How often the open window checks its seal condition. */
  readonly pollIntervalMs: number
  /** The window phase (`/state.state`). */
  readonly machine: WindowStateMachine
  readonly pipeline: AdmissionPipeline
  /** `/submit` requests not yet decided (the E3 seal waits for 0). */
  readonly pendingSubmissions: () => number
  /** The task source (archive rewards and texts). */
  readonly environment: RewardEnvironment
  /** The tokenizer's EOS id, for the archive. */
  readonly eosTokenId: number | null
  /** The validator hotkey's address (written into archives). */
  readonly validatorAddress: string
  /** Window archives are written here under `windowArchiveKey(n)`. */
  readonly archiveDir: string
  /** Publishes the policy; `null` when the validator has no publishing target. */
  readonly publisher: CheckpointPublisher | null
  readonly tally: SubmissionTally
  /**
   * Runs one GRPO step of the validator's trainer elsewhere (the model worker), which holds the
   * result when it resolves (`models` take it on `pullModels`). Absent: `models.trainer.step`
   * runs in this thread.
   */
  readonly trainStep?: ((batch: GrpoBatch) => Promise<GrpoStepReturnType>) | undefined
  /**
   * Brings `models` up to the last `trainStep` (the model worker's `pull`), before something on
   * this thread reads the policy. Absent: `models` are always current.
   */
  readonly pullModels?: (() => Promise<void>) | undefined
  /** The state directory (crash-safe commit of each window), or `null` without one. */
  readonly persistence?: ValidatorPersistence | null | undefined
  /** Progress events; never throws. */
  readonly emit: (event: ValidatorEvent) => void
}
