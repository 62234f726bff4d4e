/**
 * reliquary/manifest: the reference checkpoint manifest (`/checkpoint`, sr25519 over
 * `"{n}|{revision}"`) and the chain-of-custody manifest (signed canonical JSON linking each
 * checkpoint's files to its parent and, link by link, to the base model).
 */
export {
  manifestMessage,
  parseCheckpointManifest,
  isVerifiedCheckpointManifest,
  MANIFEST_SIGNATURE_PREFIX,
} from './checkpointManifest.js'
export type { CheckpointManifest, VerifiedCheckpointManifest } from './checkpointManifest.js'
export { signManifest } from './signManifest.js'
export type { SignManifestParameters } from './signManifest.js'
export { verifyManifest } from './verifyManifest.js'
export type {
  VerifyManifestOptions,
  VerifyManifestFailure,
  VerifyManifestReturnType,
} from './verifyManifest.js'
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
} from './custodyManifest.js'
export type {
  CustodyManifest,
  CustodyFileEntry,
  CustodyWindowEntry,
  VerifiedCustodyManifest,
} from './custodyManifest.js'
export { signCustodyManifest } from './signCustodyManifest.js'
export type { SignCustodyManifestParameters } from './signCustodyManifest.js'
export { verifyCustodyManifest } from './verifyCustodyManifest.js'
export type {
  VerifyCustodyManifestOptions,
  VerifyCustodyManifestReturnType,
} from './verifyCustodyManifest.js'
export { manifestDigest } from './manifestDigest.js'
export { batchDigest } from './batchDigest.js'
export { verifyChain, VERIFY_CHAIN_DEFAULT_MAX_LENGTH } from './verifyChain.js'
export type { VerifyChainOptions, VerifyChainReturnType, CustodyChainField } from './verifyChain.js'
export { hashSnapshotFiles, verifySnapshotFiles, SNAPSHOT_DEFAULT_IGNORE } from './snapshotFiles.js'
export type { SnapshotFilesOptions } from './snapshotFiles.js'
