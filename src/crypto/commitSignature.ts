import { DEFAULT_PROFILE, type ProtocolProfile } from '../protocol/profiles.js'
import { commitBindingDigest } from './commitBinding.js'
import { signHex, verifyHotkeySignature, type Hotkey } from './sr25519.js'

/** The commit fields the signature binds. */
export type SignableCommit = {
  readonly tokens: readonly number[]
  readonly commitments: readonly { readonly sketch: number }[]
  readonly beacon: { readonly randomness: string }
  readonly model: { readonly name: string; readonly layer_index: number }
  readonly proof_version?: string | undefined
}

/**
 * Signs a rollout's commit binding with the miner hotkey; returns the `commit.signature` hex.
 * - Spec: docs/protocol.md §3.5 (commit binding).
 */
export function signCommit(hotkey: Hotkey, commit: SignableCommit): string {
  return signHex(
    hotkey,
    commitBindingDigest({
      tokens: commit.tokens,
      randomness: commit.beacon.randomness,
      modelName: commit.model.name,
      layerIndex: commit.model.layer_index,
      commitments: commit.commitments,
    }),
  )
}

/**
 * Verifies `commit.signature` against the miner hotkey, and that `proof_version` is the
 * profile's, as the reference's `verify_commit_signature` does. Never throws: any malformed
 * field gives `false` (the validator answers `bad_signature`).
 */
export async function verifyCommitSignature(
  commit: SignableCommit & { readonly signature: string },
  minerHotkey: string,
  options: { profile?: ProtocolProfile | undefined } = {},
): Promise<boolean> {
  const profile = options.profile ?? DEFAULT_PROFILE
  try {
    if (commit.proof_version !== profile.proofVersion) return false
    const digest = commitBindingDigest({
      tokens: commit.tokens,
      randomness: commit.beacon.randomness,
      modelName: commit.model.name,
      layerIndex: commit.model.layer_index,
      commitments: commit.commitments,
    })
    return await verifyHotkeySignature(digest, commit.signature, minerHotkey)
  } catch {
    return false
  }
}
