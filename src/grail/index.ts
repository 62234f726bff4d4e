export { prf, PRF_LABELS, PRF_MAX_OUT_BYTES } from './prf.js'
export { decodeRandomness, MAX_RANDOMNESS_HEX_CHARS } from './randomness.js'
export { deriveSketchCoefficients } from './coefficients.js'
export { PyRandom } from './pyRandom.js'
export {
  hashTokens,
  challengeSeed,
  challengeIndices,
  sketchChallengeCount,
  MAX_CHALLENGE_POPULATION,
} from './challenge.js'
export type { ChallengeIndicesParameters } from './challenge.js'
export { logMagnitudeBucket } from './bucket.js'
export {
  sketchTolerance,
  sketchDistance,
  sketchDrift,
  calibrateToleranceBase,
} from './tolerance.js'
export { computeSketch, computeSketchAsync } from './computeSketch.js'
export type { ComputeSketchOptions, SketchCoefficientsInput } from './computeSketch.js'
export { verifySketch, verifySketchAsync } from './verifySketch.js'
export type {
  VerifySketchParameters,
  VerifySketchReturnType,
  SketchPositionCheck,
  CommitmentInput,
} from './verifySketch.js'
export type { HiddenInput, TensorLike2D } from './hidden.js'
export { MAX_HIDDEN_ELEMENTS } from './hidden.js'
export { MAX_ROLLOUT_TOKENS } from './tokens.js'
