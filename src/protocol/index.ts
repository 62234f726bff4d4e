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
  CHAIN_REJECT_REASONS,
} from './profiles.js'
export type { ProtocolProfile, RejectReason } from './profiles.js'
export { withHardening, publishedProfileId, MAX_SKETCH_CHALLENGE_K } from './withHardening.js'
export type { HardeningOptions } from './withHardening.js'
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
} from './schemas.js'
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
} from './schemas.js'
