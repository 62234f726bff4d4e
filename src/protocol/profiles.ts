import { ReliquaryError } from '../errors/base.js'

/** Reject reasons of the E1 era (59b4718), lowercase as on the wire. */
export const E1_REJECT_REASONS = [
  'accepted',
  'bad_signature',
  'bad_prompt_idx',
  'prompt_mismatch',
  'distribution_suspicious',
  'stale_round',
  'prompt_in_cooldown',
  'superseded',
  'grail_fail',
  'logprob_mismatch',
  'reward_mismatch',
  'out_of_zone',
  'wrong_rollout_count',
  'window_mismatch',
  'window_not_active',
  'bad_schema',
  'bad_tokens',
  'bad_termination',
  'wrong_checkpoint',
] as const

/**
 * Reject reasons of checks that only a forgery can fail, taken from the reference's later
 * pipeline (docs/protocol.md §11) and on in every profile: `tokens_mismatch` (outer tokens differ
 * from `commit.tokens`, attack #27 of §10).
 */
export const HARDENING_REJECT_REASONS = ['tokens_mismatch'] as const

/**
 * Reject reasons of the registration check a validator runs only when it has a chain (HEAD,
 * docs/protocol.md §11): `hotkey_not_registered` (no uid on the netuid), `registration_unavailable`
 * (no metagraph could be read yet). Without a chain (demo, tests) nothing is checked.
 */
export const CHAIN_REJECT_REASONS = ['hotkey_not_registered', 'registration_unavailable'] as const

/**
 * Reject reasons of the E3 era (0b2d53f): E1's plus the drand-ordering and envelope reasons, plus
 * {@link HARDENING_REJECT_REASONS}.
 */
export const E3_REJECT_REASONS = [
  ...E1_REJECT_REASONS,
  'submitted',
  'bad_envelope_signature',
  'prompt_full',
  'hash_duplicate',
  'rate_limited',
  'batch_filled',
  'wrong_randomness',
  'worker_dropped',
  'future_round',
  ...HARDENING_REJECT_REASONS,
  ...CHAIN_REJECT_REASONS,
] as const

/** A reject reason string of any supported era. */
export type RejectReason = (typeof E3_REJECT_REASONS)[number]

/**
 * Every number and rule the protocol fixes for one era. Each check in the SDK takes its numbers
 * from a profile; nothing is read from scattered constants. Profiles are deeply frozen.
 *
 * Sources are the Python reference constants at the era's commit (docs/protocol.md §0-§9).
 */
export type ProtocolProfile = {
  /** Profile id, e.g. `"e3"`. */
  readonly id: string
  /** Human description. */
  readonly description: string
  /** The reference commit this profile mirrors. */
  readonly referenceCommit: string
  /** `commit.proof_version` on the wire. */
  readonly proofVersion: string
  readonly grail: {
    /** Sketch modulus (2^31 − 1). */
    readonly primeQ: number
    /** Challenged positions per rollout (`CHALLENGE_K`). */
    readonly challengeK: number
    /** Largest-|h| activations per position (`PROOF_TOPK`). */
    readonly topk: number
    /** Log-magnitude buckets per sign (`PROOF_NUM_BUCKETS`). */
    readonly numBuckets: number
    /** Sketch coefficients lie in [−coeffRange, coeffRange] (`PROOF_COEFF_RANGE`). */
    readonly coeffRange: number
    /** `PROOF_SKETCH_TOLERANCE_BASE`. */
    readonly toleranceBase: number
    /** `PROOF_SKETCH_TOLERANCE_GROWTH`: tolerance(p) = int(base + growth·√p). */
    readonly toleranceGrowth: number
    /** Hidden layer the proof is computed over (−1 = last hidden state after the final norm). */
    readonly layerIndex: number
    /** Values with |v| below this land in bucket 0. */
    readonly bucketDeadzone: number
  }
  readonly sampling: {
    /** `T_PROTO`. */
    readonly temperature: number
    /** `TOP_P_PROTO`. */
    readonly topP: number
    /** `TOP_K_PROTO` (0 disables). */
    readonly topK: number
    /** `MAX_NEW_TOKENS_PROTOCOL_CAP`; in E3 a rollout whose total length reaches it passes termination. */
    readonly maxNewTokensCap: number
  }
  readonly checks: {
    /** Termination: minimum probability mass of the EOS set at the second-to-last position. */
    readonly minEosProbability: number
    /** Whether reaching `maxNewTokensCap` total tokens satisfies termination (E2+). */
    readonly terminationCapPath: boolean
    /** Failing-termination rollouts tolerated per group (E3: 1). */
    readonly maxTruncatedPerGroup: number
    /** Logprob check: median of exp(|Δ|)−1 must not exceed this (`LOGPROB_IS_EPS`). */
    readonly logprobIsEps: number
    /** Logprob check fails completions shorter than this (`CHALLENGE_K`). */
    readonly logprobMinCompletion: number
    /** Accepted `token_logprobs` layouts. */
    readonly tokenLogprobsLayouts: readonly ('full' | 'completion')[]
    /** Distribution check: fewer probabilities than this means no decision (accept). */
    readonly samplingMinSteps: number
    readonly samplingLowP: number
    readonly samplingHighP: number
    /** Suspicious iff median < this … */
    readonly samplingMedianLowMax: number
    /** … or q10 < this. */
    readonly samplingLowQ10Max: number
    /** |recomputed − claimed| reward tolerance. */
    readonly rewardTolerance: number
    /** Fallback `max_position_embeddings` when the model config has none. */
    readonly maxPositionsFallback: number
  }
  readonly group: {
    /** Rollouts per submission (`M_ROLLOUTS`). */
    readonly rolloutsPerGroup: number
    /** Distinct prompts per sealed batch (`B_BATCH`). */
    readonly batchSize: number
    /** Zone threshold on the population std of rewards (`SIGMA_MIN`). */
    readonly sigmaMin: number
    /** Zone threshold during bootstrap (`BOOTSTRAP_SIGMA_MIN`). */
    readonly bootstrapSigmaMin: number
    /** Windows counted as bootstrap from the subnet start (`BOOTSTRAP_WINDOWS`). */
    readonly bootstrapWindows: number
    /** σ below this is treated as zero variance. */
    readonly sigmaEpsilon: number
  }
  readonly window: {
    /** How submissions are ordered: E1 miner-claimed `signed_round`, E3 arrival-checked `drand_round`. */
    readonly ordering: 'signed_round' | 'drand_round'
    /** `BATCH_PROMPT_COOLDOWN_WINDOWS` (half-open; 0 disables). */
    readonly cooldownWindows: number
    /** E1 `STALE_ROUND_LAG_MAX` (rounds). */
    readonly staleRoundLagMax: number
    /** E3 `DRAND_ROUND_BACKWARD_TOLERANCE` (rounds). */
    readonly drandBackwardTolerance: number
    /** E3 `MAX_SUBMISSIONS_PER_HOTKEY_PER_WINDOW` (0 = unlimited). */
    readonly maxSubmissionsPerHotkey: number
    /** E3 `MAX_SUBMISSIONS_PER_PROMPT` (0 = unlimited). */
    readonly maxSubmissionsPerPrompt: number
    /** E3 cap of bad-envelope verdicts recorded per hotkey per window. */
    readonly maxBadEnvelopeVerdicts: number
    /** E3 `HASH_DEDUP_RETENTION_WINDOWS` (0 disables cross-window dedup). */
    readonly hashDedupRetentionWindows: number
    /** `WINDOW_TIMEOUT_SECONDS`. */
    readonly windowTimeoutSeconds: number
    /** E3 seal waits this long past the next drand boundary. */
    readonly sealGraceSeconds: number
    /** Whether the envelope signature is required (E3 `ENFORCE_ENVELOPE_SIGNATURE`). */
    readonly envelopeSignature: boolean
    /** Verdict ring size per hotkey for `/verdicts`. */
    readonly verdictRingSize: number
  }
  readonly training: {
    readonly learningRate: number
    readonly ppoClipEpsilon: number
    readonly klBeta: number
    readonly gradClipNorm: number
    readonly warmupWindows: number
    readonly cosineMaxWindows: number
    readonly adamBeta1: number
    readonly adamBeta2: number
    readonly adamEpsilon: number
    readonly weightDecay: number
  }
  readonly scoring: {
    /** `EMA_ALPHA` = 2/73. */
    readonly emaAlpha: number
    /** EMA entries at or below this are pruned. */
    readonly emaPruneBelow: number
    /** Uid that receives the unassigned weight. */
    readonly burnUid: number
    /** Archives replayed to rebuild the EMA. */
    readonly replayWindows: number
    /** Total reward pool per window. */
    readonly pool: number
  }
  readonly publishing: {
    /** Publish when `window_n % intervalWindows === 0` (or no manifest yet) after a full batch. */
    readonly intervalWindows: number
  }
  readonly drand: {
    /** drand chain hash (quicknet). */
    readonly chainHash: string
    /** Seconds per round. */
    readonly periodSeconds: number
    /** Chain genesis (unix seconds). */
    readonly genesisTime: number
  }
  /**
   * Opt-in checks that can change an honest outcome against the reference (docs/protocol.md
   * §4.5); off in `e1` and `e3`. Set them with `withHardening` (`reliquary/protocol`).
   */
  readonly hardening: {
    /** Refuse (`hash_duplicate`) a rollout the same hotkey already had accepted this window. */
    readonly dedupeRepeats: boolean
    /** Sketch positions challenged per rollout: the larger of this and `grail.challengeK`. */
    readonly sketchChallengeK: number
    /** Id of the profile `withHardening` derived this one from ('' if none): the wire era's id. */
    readonly baseProfileId: string
  }
  /** Reject reasons this era can emit. */
  readonly rejectReasons: readonly RejectReason[]
}

type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends readonly unknown[]
    ? T[K]
    : T[K] extends object
      ? DeepPartial<T[K]>
      : T[K]
}

function deepFreeze<T>(o: T): T {
  if (typeof o === 'object' && o !== null && !Object.isFrozen(o)) {
    Object.freeze(o)
    for (const v of Object.values(o)) deepFreeze(v)
  }
  return o
}

const QUICKNET = {
  chainHash: '52db9ba70e0cc0f6eaf7803dd07447a1f5477735fd3f661792ba94600c84e971',
  periodSeconds: 3,
  genesisTime: 1692803367,
} as const

/**
 * The E3 era (reference commit 0b2d53f, "v2.3"): drand-round ordering checked against arrival
 * time, window randomness in `/state`, envelope signatures, K-way prompt split. The default.
 */
export const e3: ProtocolProfile = /*#__PURE__*/ deepFreeze({
  id: 'e3',
  description: 'E3 era (reliquary 0b2d53f): drand-round ordering, envelope signatures, fair split',
  referenceCommit: '0b2d53f',
  proofVersion: 'v5',
  grail: {
    primeQ: 2_147_483_647,
    challengeK: 32,
    topk: 16,
    numBuckets: 8,
    coeffRange: 127,
    toleranceBase: 5000,
    toleranceGrowth: 5.0,
    layerIndex: -1,
    bucketDeadzone: 1e-6,
  },
  sampling: { temperature: 0.9, topP: 1.0, topK: 0, maxNewTokensCap: 8192 },
  checks: {
    minEosProbability: 0.01,
    terminationCapPath: true,
    maxTruncatedPerGroup: 1,
    logprobIsEps: 0.1,
    logprobMinCompletion: 32,
    tokenLogprobsLayouts: ['full', 'completion'],
    samplingMinSteps: 30,
    samplingLowP: 0.1,
    samplingHighP: 0.9,
    samplingMedianLowMax: 0.3,
    samplingLowQ10Max: 0.025,
    rewardTolerance: 1e-6,
    maxPositionsFallback: 16384,
  },
  group: {
    rolloutsPerGroup: 8,
    batchSize: 8,
    sigmaMin: 0.43,
    bootstrapSigmaMin: 0.33,
    bootstrapWindows: 100,
    sigmaEpsilon: 1e-8,
  },
  window: {
    ordering: 'drand_round',
    cooldownWindows: 1_000_000,
    staleRoundLagMax: 10,
    drandBackwardTolerance: 0,
    maxSubmissionsPerHotkey: 8,
    maxSubmissionsPerPrompt: 10,
    maxBadEnvelopeVerdicts: 2,
    hashDedupRetentionWindows: 10_000,
    windowTimeoutSeconds: 7200,
    sealGraceSeconds: 0.05,
    envelopeSignature: true,
    verdictRingSize: 200,
  },
  training: {
    learningRate: 5e-6,
    ppoClipEpsilon: 0.2,
    klBeta: 0.04,
    gradClipNorm: 1.0,
    warmupWindows: 10,
    cosineMaxWindows: 10_000,
    adamBeta1: 0.9,
    adamBeta2: 0.999,
    adamEpsilon: 1e-8,
    weightDecay: 0.01,
  },
  scoring: { emaAlpha: 2 / 73, emaPruneBelow: 1e-6, burnUid: 0, replayWindows: 216, pool: 1.0 },
  publishing: { intervalWindows: 10 },
  drand: QUICKNET,
  hardening: { dedupeRepeats: false, sketchChallengeK: 0, baseProfileId: '' },
  rejectReasons: E3_REJECT_REASONS,
} satisfies ProtocolProfile)

/**
 * The E1 era (reference commit 59b4718, "v2.1"): miner-claimed `signed_round`, tolerance base
 * 1000, 50-window cooldown, strict EOS termination, full-length `token_logprobs`. Legacy.
 */
export const e1: ProtocolProfile = /*#__PURE__*/ deepFreeze({
  ...e3,
  id: 'e1',
  description: 'E1 era (reliquary 59b4718): signed_round ordering, tolerance base 1000 (legacy)',
  referenceCommit: '59b4718',
  grail: { ...e3.grail, toleranceBase: 1000 },
  checks: {
    ...e3.checks,
    minEosProbability: 0.02,
    terminationCapPath: false,
    maxTruncatedPerGroup: 0,
    logprobIsEps: 0.01,
    tokenLogprobsLayouts: ['full'],
  },
  window: {
    ...e3.window,
    ordering: 'signed_round',
    cooldownWindows: 50,
    maxSubmissionsPerHotkey: 0,
    maxSubmissionsPerPrompt: 0,
    maxBadEnvelopeVerdicts: 0,
    hashDedupRetentionWindows: 0,
    windowTimeoutSeconds: 3600,
    envelopeSignature: false,
  },
  rejectReasons: [...E1_REJECT_REASONS, ...HARDENING_REJECT_REASONS, ...CHAIN_REJECT_REASONS],
} satisfies ProtocolProfile)

/** The default profile (E3). */
export const DEFAULT_PROFILE: ProtocolProfile = e3

const REGISTRY: Readonly<Record<string, ProtocolProfile>> = Object.freeze({ e1, e3 })

/**
 * Looks up a built-in profile by id.
 *
 * @param id - `"e3"` (default era) or `"e1"` (legacy).
 * @throws {ReliquaryError} `PROFILE_UNKNOWN` for any other id.
 * @example
 * ```ts
 * import { getProfile } from 'reliquary'
 * getProfile('e1').grail.toleranceBase // 1000
 * ```
 */
export function getProfile(id: string): ProtocolProfile {
  const p = REGISTRY[id]
  if (!p) {
    throw new ReliquaryError(
      'PROFILE_UNKNOWN',
      `No protocol profile "${String(id).slice(0, 40)}".`,
      {
        hints: [
          `Built-in profiles: ${Object.keys(REGISTRY).join(', ')}.`,
          'Derive a custom one with defineProfile(base, overrides).',
        ],
      },
    )
  }
  return p
}

/** Ids of the built-in profiles. */
export function listProfiles(): readonly string[] {
  return Object.keys(REGISTRY)
}

/**
 * Derives a new frozen profile from `base` with some numbers changed (for a test network or a
 * demo). Every rule stays the protocol's; only the numbers differ. The new profile must have its
 * own `id`.
 *
 * @param base - The profile to start from.
 * @param overrides - Partial fields; nested groups are merged key by key.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` if `id` is missing or a number is not finite.
 */
export function defineProfile(
  base: ProtocolProfile,
  overrides: DeepPartial<ProtocolProfile> & { id: string },
): ProtocolProfile {
  if (typeof overrides.id !== 'string' || overrides.id.length === 0 || overrides.id === base.id) {
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      'A derived profile needs its own non-empty "id".',
      {
        hints: [
          'Name derived profiles distinctly so their verdicts are never confused with the base era.',
        ],
      },
    )
  }
  const merge = (
    a: Record<string, unknown>,
    b: Record<string, unknown>,
  ): Record<string, unknown> => {
    const out: Record<string, unknown> = { ...a }
    for (const [k, v] of Object.entries(b)) {
      if (v === undefined) continue
      const av = a[k]
      if (
        typeof v === 'object' &&
        v !== null &&
        !Array.isArray(v) &&
        typeof av === 'object' &&
        av !== null
      )
        out[k] = merge(av as Record<string, unknown>, v as Record<string, unknown>)
      else {
        if (typeof v === 'number' && !Number.isFinite(v)) {
          throw new ReliquaryError(
            'INVALID_ARGUMENT',
            `Profile field "${k}" must be a finite number.`,
          )
        }
        out[k] = v
      }
    }
    return out
  }
  return deepFreeze(
    merge(base as unknown as Record<string, unknown>, overrides as Record<string, unknown>),
  ) as unknown as ProtocolProfile
}
