import type { ProtocolProfile } from '../protocol/profiles.js'

/**
 * One rollout of a GRPO group, as the validator trains on it (docs/protocol.md §7): the full token
 * sequence (prompt + completion), its reward, where the completion starts, and the miner's
 * completion-only log-probs (π_old).
 */
export type GrpoRollout = {
  /** Prompt and completion token ids (E1–E3: the outer `rollout.tokens`). */
  readonly tokens: readonly number[]
  /** The validator's reward for this rollout. */
  readonly reward: number
  /** Number of prompt tokens; the completion is `tokens[promptLength …]`. */
  readonly promptLength: number
  /**
   * The miner's log-probs of the completion tokens (`commit.rollout.token_logprobs`), one per
   * completion token. Any other length makes the rollout skipped, as the reference does.
   */
  readonly tokenLogprobs: readonly number[]
}

/** The rollouts of one prompt; advantages are computed within a group. */
export type GrpoGroup = {
  /** The group's rollouts (M = 8 on the live network). */
  readonly rollouts: readonly GrpoRollout[]
  /** The prompt index, informational only. */
  readonly promptIdx?: number | undefined
}

/** The groups of one training window (B = 8 on the live network). */
export type GrpoBatch = readonly GrpoGroup[]

/**
 * How the loss is normalised across rollouts.
 * - `"rollout"`: token mean inside each rollout, then each rollout weighs `1 / n_total_rollouts`
 *   (the E1–E3 reference; `n_total_rollouts` counts every rollout of the batch, skipped ones too).
 * - `"token"`: DAPO token-level normalisation: every completion token of every rollout that
 *   contributes weighs `1 / N`, with N the number of such tokens.
 */
export type GrpoNormalization = 'rollout' | 'token'

/**
 * GRPO hyper-parameters. Every field defaults from `profile.training` (and `profile.group` for
 * the zero-variance cut-off), so `{}` reproduces the reference step of the profile's era.
 */
export type GrpoOptions = {
  /** Source of the defaults. @default DEFAULT_PROFILE */
  profile?: ProtocolProfile | undefined
  /** Base learning rate (`LEARNING_RATE`). @default profile.training.learningRate */
  learningRate?: number | undefined
  /**
   * Symmetric PPO clip ε (`PPO_CLIP_EPSILON`); sets both `clipEpsilonLow` and `clipEpsilonHigh`
   * unless they are given. @default profile.training.ppoClipEpsilon
   */
  clipEpsilon?: number | undefined
  /** Lower clip ε: the ratio is clamped from below at `1 − clipEpsilonLow`. @default clipEpsilon */
  clipEpsilonLow?: number | undefined
  /** Upper clip ε (DAPO clip-higher): clamped from above at `1 + clipEpsilonHigh`. @default clipEpsilon */
  clipEpsilonHigh?: number | undefined
  /**
   * Dual-clip constant c > 1: for negative advantages the per-token objective is floored at
   * `c · A`, bounding the loss of a very large ratio. `undefined` turns dual clip off.
   * @default undefined
   */
  dualClip?: number | undefined
  /** KL coefficient β (`KL_BETA`); 0 turns the KL term and the reference forward off. @default profile.training.klBeta */
  klBeta?: number | undefined
  /** Global gradient-norm clip (`GRAD_CLIP_NORM`); `Infinity` never clips. @default profile.training.gradClipNorm */
  gradClipNorm?: number | undefined
  /** Linear warm-up length in steps (`LR_WARMUP_WINDOWS`). @default profile.training.warmupWindows */
  warmupSteps?: number | undefined
  /** Step at which the cosine decay reaches 0 (`LR_COSINE_MAX_WINDOWS`). @default profile.training.cosineMaxWindows */
  cosineMaxSteps?: number | undefined
  /** AdamW β1. @default profile.training.adamBeta1 */
  adamBeta1?: number | undefined
  /** AdamW β2. @default profile.training.adamBeta2 */
  adamBeta2?: number | undefined
  /** AdamW ε (added to √v̂). @default profile.training.adamEpsilon */
  adamEpsilon?: number | undefined
  /** AdamW decoupled weight decay. @default profile.training.weightDecay */
  weightDecay?: number | undefined
  /** Loss normalisation. @default "rollout" */
  normalization?: GrpoNormalization | undefined
  /** Groups whose reward std is below this are skipped. @default profile.group.sigmaEpsilon */
  sigmaEpsilon?: number | undefined
}

/** {@link GrpoOptions} with every default filled in and checked; frozen. */
export type ResolvedGrpoOptions = {
  readonly profileId: string
  readonly learningRate: number
  readonly clipEpsilonLow: number
  readonly clipEpsilonHigh: number
  readonly dualClip: number | null
  readonly klBeta: number
  readonly gradClipNorm: number
  readonly warmupSteps: number
  readonly cosineMaxSteps: number
  readonly adamBeta1: number
  readonly adamBeta2: number
  readonly adamEpsilon: number
  readonly weightDecay: number
  readonly normalization: GrpoNormalization
  readonly sigmaEpsilon: number
}

/** Why a rollout did not contribute to the loss. */
export type GrpoSkipReason =
  /** Its group's rewards have zero variance (all advantages 0): the whole group is skipped. */
  | 'zero_variance_group'
  /** `promptLength ≤ 0` or empty `tokenLogprobs` (the reference's first `ValueError`). */
  | 'missing_logprobs'
  /** `tokenLogprobs.length ≠ tokens.length − promptLength` (the reference's length `ValueError`). */
  | 'length_mismatch'

/** Per-rollout terms, in batch order (group by group). All plain numbers. */
export type GrpoRolloutTerms = {
  /** Group index in the batch. */
  readonly group: number
  /** Rollout index in its group. */
  readonly index: number
  /** Group-relative advantage (0 for a skipped group). */
  readonly advantage: number
  /** Whether the rollout contributed to the loss. */
  readonly used: boolean
  /** Why not, when `used` is false. */
  readonly skipReason: GrpoSkipReason | null
  /** Completion tokens the rollout contributes (0 when skipped). */
  readonly tokens: number
  /** `−mean_t min(ratio·A, clip(ratio)·A)` (with dual clip when on); `null` when skipped. */
  readonly ppoLoss: number | null
  /** Schulman k3 `mean_t(exp(ref − new) − 1 − (ref − new))`; 0 when β = 0; `null` when skipped. */
  readonly kl: number | null
  /** Tokens whose surrogate gradient is cut by clipping (PPO clip or dual clip). */
  readonly clippedTokens: number
}

/** Batch-level metrics shared by {@link GrpoLossReturnType} and {@link GrpoStepReturnType}. */
export type GrpoBatchMetrics = {
  /**
   * The loss whose gradient the step follows: Σ of the per-rollout losses
   * `(ppo + β·kl) / n_total_rollouts` (or the token-normalised sum).
   */
  readonly loss: number
  /**
   * Mean PPO loss: over used rollouts (`"rollout"`, the reference's `train/ppo_loss`) or over
   * their tokens (`"token"`). 0 when nothing was used.
   */
  readonly ppoLoss: number
  /** Mean KL, averaged like `ppoLoss`; 0 when β = 0 or nothing was used. */
  readonly kl: number
  /** Fraction of contributing completion tokens whose surrogate gradient is clipped. */
  readonly clippedFraction: number
  /** Groups skipped for zero reward variance. */
  readonly skippedGroups: number
  /** Rollouts skipped inside non-degenerate groups (missing or mismatched log-probs). */
  readonly skippedRollouts: number
  /** Rollouts that contributed (the reference's `rollouts_processed`). */
  readonly rolloutsUsed: number
  /** All rollouts of the batch (the reference's `n_total_rollouts`). */
  readonly rolloutsTotal: number
  /** Completion tokens that contributed. */
  readonly tokensUsed: number
}
