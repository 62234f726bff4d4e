export { commitmentsHash, commitBindingDigest } from './commitBinding.js'
export type { CommitBindingParameters } from './commitBinding.js'
export { signCommit, verifyCommitSignature } from './commitSignature.js'
export type { SignableCommit } from './commitSignature.js'
export {
  createHotkey,
  ensureCryptoReady,
  hotkeyAddress,
  hotkeyPublicKey,
  signHex,
  verifyHotkeySignature,
  verifyHotkeySignatureSync,
  SS58_PREFIX,
} from './sr25519.js'
export type { Hotkey } from './sr25519.js'
export { envelopeDigest, signEnvelope, verifyEnvelope } from './envelope.js'
export type { EnvelopeFields } from './envelope.js'
export { merkleLeaf, rolloutsMerkleRoot } from './merkle.js'
export type { MerkleRollout } from './merkle.js'
export { deriveEnvSeed } from './envSeed.js'
