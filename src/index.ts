/**
 * reliquary: the protocol core that custom miners and third-party validators build on, with no
 * TensorFlow.js: GRAIL sketches and their verification, protocol profiles and strict wire
 * schemas, signatures and digests, rewards and group advantages, rollout proofs and checks,
 * window sealing, scoring and archives, signed checkpoint manifests, and typed errors.
 *
 * The list is deliberate (test/architecture.test.ts snapshots it). Everything else is a subpath,
 * so that importing the root never loads a model runtime:
 *
 * - `reliquary/grpo`: GRPO training on TF.js: `grpoStep` (one
 *   optimizer step over a window's groups, the reference `train_step`), `grpoLoss`,
 *   `createTrainer`. Advantages alone need no TF.js: {@link groupAdvantages} is exported here.
 * - `reliquary/model`: the TF.js model runtime (`loadModel`, `generate`, `createRolloutEvaluator`,
 *   `proveWithModel`, `useBackend`); `reliquary/gpu`: WebGPU setup and kernels.
 * - `reliquary/window`: the validator's admission machinery (`AdmissionPipeline`, the check
 *   tables and individual checks, `WindowBatcher`, `WindowStateMachine`, `QuotaLedger`).
 * - `reliquary/rollout`: the individual behavioural checks (`checkTermination`, `checkLogprobs`,
 *   `checkDistribution`).
 * - `reliquary/grail`, `reliquary/protocol`, `reliquary/crypto`, `reliquary/drand` (BLS beacon
 *   verification and beacon sources), `reliquary/reward`, `reliquary/manifest`: each domain whole.
 * - `reliquary/validator`, `reliquary/miner`, `reliquary/hub`, `reliquary/demo`,
 *   `reliquary/conformance`: the roles, the Hub client and local server, the offline demo and the
 *   conformance harness.
 *
 * @example
 * ```ts
 * import { computeSketch, deriveSketchCoefficients, groupAdvantages } from 'reliquary'
 * import { grpoStep } from 'reliquary/grpo' // needs TF.js
 * ```
 * @packageDocumentation
 */

// Errors: one class, stable codes.
export { ReliquaryError, isReliquaryError, describeErrorCode } from './errors/base.js'
export type { ReliquaryErrorParameters } from './errors/base.js'
export { ERROR_CODES } from './errors/codes.js'
export type { ErrorCode } from './errors/codes.js'

// Protocol profiles and strict wire schemas.
export {
  e1,
  e3,
  DEFAULT_PROFILE,
  getProfile,
  listProfiles,
  defineProfile,
  E1_REJECT_REASONS,
  E3_REJECT_REASONS,
  HARDENING_REJECT_REASONS,
} from './protocol/profiles.js'
export type { ProtocolProfile, RejectReason } from './protocol/profiles.js'
export {
  WIRE_LIMITS,
  commitSchema,
  submitRequestSchema,
  submitResponseSchema,
  stateSchema,
  checkpointSchema,
  verdictsSchema,
  healthSchema,
  parseWire,
  parseSubmitRequest,
  parseCommit,
  parseSubmitResponse,
  parseState,
  parseCheckpoint,
  parseVerdicts,
  parseHealth,
} from './protocol/schemas.js'
export type {
  Commit,
  SubmitRequest,
  SubmitRequestE1,
  SubmitResponse,
  WindowState,
  CheckpointManifestWire,
  Verdicts,
  Health,
  ParseWireOptions,
} from './protocol/schemas.js'

// GRAIL: PRF, randomness, challenges, sketches and their verification (PyRandom: reliquary/grail).
export { prf, PRF_LABELS, PRF_MAX_OUT_BYTES } from './grail/prf.js'
export { decodeRandomness, MAX_RANDOMNESS_HEX_CHARS } from './grail/randomness.js'
export { deriveSketchCoefficients } from './grail/coefficients.js'
export {
  hashTokens,
  challengeSeed,
  challengeIndices,
  MAX_CHALLENGE_POPULATION,
} from './grail/challenge.js'
export type { ChallengeIndicesParameters } from './grail/challenge.js'
export { logMagnitudeBucket } from './grail/bucket.js'
export { sketchTolerance, sketchDistance } from './grail/tolerance.js'
export { computeSketch, computeSketchAsync } from './grail/computeSketch.js'
export type { ComputeSketchOptions, SketchCoefficientsInput } from './grail/computeSketch.js'
export { verifySketch, verifySketchAsync } from './grail/verifySketch.js'
export type {
  VerifySketchParameters,
  VerifySketchReturnType,
  SketchPositionCheck,
  CommitmentInput,
} from './grail/verifySketch.js'
export { MAX_HIDDEN_ELEMENTS } from './grail/hidden.js'
export type { HiddenInput, TensorLike2D } from './grail/hidden.js'
export { MAX_ROLLOUT_TOKENS } from './grail/tokens.js'

// Signatures and digests.
export { commitmentsHash, commitBindingDigest } from './crypto/commitBinding.js'
export type { CommitBindingParameters } from './crypto/commitBinding.js'
export { signCommit, verifyCommitSignature } from './crypto/commitSignature.js'
export type { SignableCommit } from './crypto/commitSignature.js'
export {
  createHotkey,
  ensureCryptoReady,
  hotkeyAddress,
  hotkeyPublicKey,
  signHex,
  verifyHotkeySignature,
  verifyHotkeySignatureSync,
  SS58_PREFIX,
} from './crypto/sr25519.js'
export type { Hotkey } from './crypto/sr25519.js'
export { envelopeDigest, signEnvelope, verifyEnvelope } from './crypto/envelope.js'
export type { EnvelopeFields } from './crypto/envelope.js'
export { merkleLeaf, rolloutsMerkleRoot } from './crypto/merkle.js'
export type { MerkleRollout } from './crypto/merkle.js'
export { deriveEnvSeed } from './crypto/envSeed.js'

// drand: the pure round and randomness helpers; BLS verification and beacon sources (which load
// the BLS12-381 curve and drand-client) live in 'reliquary/drand'.
export {
  drandRoundAt,
  drandRoundTime,
  drandRoundForWindowE1,
  E1_BLOCK_TIME_SECONDS,
} from './drand/round.js'
export { windowRandomnessE3, windowRandomnessE1 } from './drand/windowRandomness.js'

// Rewards, zone filter and group advantages.
export {
  extractBoxedAnswer,
  lastBoxedOnlyString,
  stripBoxedWrapper,
} from './reward/extractBoxedAnswer.js'
export { normalizeMathAnswer, normalizeOmiAnswer } from './reward/normalizeMathAnswer.js'
export { mathReward } from './reward/mathReward.js'
export { omiReward } from './reward/omiReward.js'
export { groupSigma, isInZone, isBootstrapWindow, groupAdvantages } from './reward/groups.js'
export type {
  IsInZoneOptions,
  IsBootstrapWindowOptions,
  GroupAdvantagesOptions,
} from './reward/groups.js'
export { createMathEnvironment, problemId } from './reward/environment.js'
export type {
  RewardEnvironment,
  Problem,
  MathProblemRecord,
  CreateMathEnvironmentOptions,
} from './reward/environment.js'

// Rollouts: proving and verifying one rollout against any RolloutEvaluator (the individual
// checks: 'reliquary/rollout'; the TF.js evaluator and proveWithModel: 'reliquary/model').
export { rolloutScoresFromLogits } from './rollout/scores.js'
export type { RolloutScores, RolloutScoresOptions } from './rollout/scores.js'
export { verifyRollout } from './rollout/verifyRollout.js'
export type {
  RolloutEvaluator,
  VerifyRolloutParameters,
  VerifyRolloutReturnType,
} from './rollout/verifyRollout.js'
export { proveRollout } from './rollout/proveRollout.js'
export type { ProveRolloutParameters } from './rollout/proveRollout.js'
export type { TerminationResult, LogprobResult, DistributionResult } from './rollout/checks.js'

// Windows: sealing, batch selection, cooldown, dedup, EMA weights and archives (the admission
// machinery and its individual checks: 'reliquary/window').
export { sealWindow } from './window/seal/sealWindow.js'
export type {
  SealableSubmission,
  SealWindowParameters,
  SealWindowReturnType,
} from './window/seal/sealWindow.js'
export { selectBatchAndDistribute } from './window/seal/selectBatchAndDistribute.js'
export type {
  WindowSubmission,
  SelectBatchOptions,
  SelectBatchReturnType,
} from './window/seal/selectBatchAndDistribute.js'
export { Cooldown } from './window/seal/cooldown.js'
export type { CooldownView, CooldownSnapshot, CooldownOptions } from './window/seal/cooldown.js'
export { HashDedup, rolloutHash } from './window/seal/hashDedup.js'
export type { HashDedupOptions } from './window/seal/hashDedup.js'
export { updateEma } from './window/scoring/updateEma.js'
export type { EmaOptions } from './window/scoring/updateEma.js'
export { replayEma } from './window/scoring/replayEma.js'
export type { ReplayEmaOptions } from './window/scoring/replayEma.js'
export {
  emaToWeights,
  convertWeightsAndUidsForEmit,
  U16_MAX,
} from './window/scoring/emaToWeights.js'
export type { EmaToWeightsOptions, EmaToWeightsReturnType } from './window/scoring/emaToWeights.js'
export type { HotkeyValues } from './window/scoring/hotkeyValues.js'
export { ARCHIVE_LIMITS, windowArchiveRecordSchema } from './window/archive/windowArchive.js'
export type {
  WindowArchive,
  ArchivedSubmission,
  ArchivedRollout,
  WindowArchiveRecord,
} from './window/archive/windowArchive.js'
export { windowArchiveKey, encodeWindowArchive } from './window/archive/encodeWindowArchive.js'
export { decodeWindowArchive } from './window/archive/decodeWindowArchive.js'
export type { DecodeWindowArchiveOptions } from './window/archive/decodeWindowArchive.js'
export { buildWindowArchive } from './window/archive/buildWindowArchive.js'
export type { BuildWindowArchiveParameters } from './window/archive/buildWindowArchive.js'

// Checkpoint and chain-of-custody manifests.
export {
  manifestMessage,
  parseCheckpointManifest,
  isVerifiedCheckpointManifest,
  MANIFEST_SIGNATURE_PREFIX,
} from './manifest/checkpointManifest.js'
export type {
  CheckpointManifest,
  VerifiedCheckpointManifest,
} from './manifest/checkpointManifest.js'
export { signManifest } from './manifest/signManifest.js'
export type { SignManifestParameters } from './manifest/signManifest.js'
export { verifyManifest } from './manifest/verifyManifest.js'
export type {
  VerifyManifestOptions,
  VerifyManifestFailure,
  VerifyManifestReturnType,
} from './manifest/verifyManifest.js'
export {
  CUSTODY_MANIFEST_FORMAT,
  CUSTODY_MANIFEST_VERSION,
  CUSTODY_MANIFEST_LIMITS,
  custodyManifestSchema,
  custodyManifestV1Schema,
  custodyFileEntrySchema,
  parseCustodyManifest,
  custodyManifestSigningBytes,
  isVerifiedCustodyManifest,
} from './manifest/custodyManifest.js'
export type {
  CustodyManifest,
  CustodyFileEntry,
  CustodyWindowEntry,
  VerifiedCustodyManifest,
} from './manifest/custodyManifest.js'
export { signCustodyManifest } from './manifest/signCustodyManifest.js'
export type { SignCustodyManifestParameters } from './manifest/signCustodyManifest.js'
export { verifyCustodyManifest } from './manifest/verifyCustodyManifest.js'
export type {
  VerifyCustodyManifestOptions,
  VerifyCustodyManifestReturnType,
} from './manifest/verifyCustodyManifest.js'
export { manifestDigest } from './manifest/manifestDigest.js'
export { batchDigest } from './manifest/batchDigest.js'
export { verifyChain, VERIFY_CHAIN_DEFAULT_MAX_LENGTH } from './manifest/verifyChain.js'
export type {
  VerifyChainOptions,
  VerifyChainReturnType,
  CustodyChainField,
} from './manifest/verifyChain.js'
export {
  hashSnapshotFiles,
  verifySnapshotFiles,
  SNAPSHOT_DEFAULT_IGNORE,
} from './manifest/snapshotFiles.js'
export type { SnapshotFilesOptions } from './manifest/snapshotFiles.js'

export { VERSION } from './version.js'
