import type { CausalLM } from '../model/loadModel.js'
import type { GrpoTrainer } from '../grpo/createTrainer.js'
import type { CustodyManifest } from '../manifest/custodyManifest.js'
import type { ProtocolProfile } from '../protocol/profiles.js'
import type { CheckpointManifestWire } from '../protocol/schemas.js'
import { Cooldown } from '../window/seal/cooldown.js'
import { HashDedup } from '../window/seal/hashDedup.js'
import type { WindowBatcher } from '../window/seal/windowBatcher.js'

/** One trained window since the last publish (a custody manifest's `windows[]` entry). */
export type TrainedWindow = { readonly windowN: number; readonly batchDigest: string }

/** The checkpoint the validator serves and builds on. */
export type CheckpointState = {
  /** Checkpoints published so far (0 before the first). */
  n: number
  /** The signed `/checkpoint` document, or `null` before the first publish. */
  manifest: CheckpointManifestWire | null
  /** The custody manifest of the last publish (the next one's parent), or `null`. */
  custody: CustodyManifest | null
  /** Windows trained since the last publish, oldest first (the next custody manifest's windows). */
  trainedSinceParent: TrainedWindow[]
}

/** The models a validator owns: the policy it trains, the verify model (= KL reference) and the trainer. */
export type ValidatorModels = {
  /** The policy being trained. */
  readonly policy: CausalLM
  /** The verify model and KL reference: the last published weights. */
  readonly verifyModel: CausalLM
  /** The GRPO trainer over `policy` (owns the optimizer moments and the schedule position). */
  readonly trainer: GrpoTrainer
}

/**
 * Everything a validator carries from one window to the next, in one object that each step of the
 * window reads and updates ({@link runWindow}). What must survive a restart is exactly this:
 * the window number, the checkpoint, the cooldown and hash dedup, the EMA and the trainer (policy
 * weights plus optimizer state). `batcher` is the open window's admission state, `null` between
 * windows; an interrupted window is not resumed (the reference starts the next one).
 */
export type ValidatorState = {
  /** The last window opened (the next window is `windowN + 1`). */
  windowN: number
  checkpoint: CheckpointState
  /** Prompts that won recent windows (read at admission, written at the seal). */
  readonly cooldown: Cooldown
  /** Rollout hashes of recent winning prompts (read at admission, written at the seal). */
  readonly hashDedup: HashDedup
  /** The EMA of each hotkey's window shares (the weights' source). */
  ema: Map<string, number>
  readonly models: ValidatorModels
  /** The open window, or `null` between windows. */
  batcher: WindowBatcher | null
}

/** Parameters of {@link createValidatorState}. */
export type CreateValidatorStateParameters = {
  /** The last window number already used. */
  lastWindowN: number
  profile: ProtocolProfile
  models: ValidatorModels
}

/**
 * The state of a validator that has published nothing yet: an empty cooldown, dedup and EMA.
 *
 * @param p - {@link CreateValidatorStateParameters}
 * @returns A fresh {@link ValidatorState}.
 */
export function createValidatorState(p: CreateValidatorStateParameters): ValidatorState {
  return {
    windowN: p.lastWindowN,
    checkpoint: { n: 0, manifest: null, custody: null, trainedSinceParent: [] },
    cooldown: new Cooldown({ profile: p.profile }),
    hashDedup: new HashDedup({ profile: p.profile }),
    ema: new Map(),
    models: p.models,
    batcher: null,
  }
}
