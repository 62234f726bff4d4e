import { envelopeDigest } from '../../crypto/envelope.js'
import { verifyHotkeySignature } from '../../crypto/sr25519.js'
import { toHex } from '../../_utils/bytes.js'
import type { AdmissionRequest } from './admissionTypes.js'

/** Most entries in the cache below; it starts over when full (a sender cannot grow it). */
const MAX_ENTRIES = 4096
/**
 * Answers of recent verifications by (digest, signature text): a replayed body (the same
 * envelope again, to the same window) is verified once. The digest binds every other input,
 * the hotkey included.
 */
const answers = new Map<string, boolean>()

/**
 * Verifies the E3 envelope signature of a parsed `/submit` request against a window randomness:
 * the digest over (hotkey, window, prompt, merkle root, checkpoint, drand round, `randomness`,
 * nonce), then one sr25519 verification by `miner_hotkey` (a second over the wrapped digest only
 * when the first fails, as Bittensor's `Keypair.verify`); the same envelope seen again recently
 * is answered from memory. The same answer as `verifyEnvelope` on
 * the same fields: `false` for an E1 request (it has no envelope), malformed fields, an address
 * that does not decode or a signature that does not verify. Never throws.
 *
 * - Spec: docs/protocol.md §3.5, §4.3 handler step 1.
 *
 * @param r - The parsed request.
 * @param randomness - The window randomness (hex; `""` when none is active).
 * @returns Whether the envelope verifies.
 */
export async function verifyRequestEnvelope(
  r: AdmissionRequest,
  randomness: string,
): Promise<boolean> {
  if (!('drand_round' in r)) return false
  let digest: Uint8Array
  try {
    digest = envelopeDigest({
      minerHotkey: r.miner_hotkey,
      windowStart: r.window_start,
      promptIdx: r.prompt_idx,
      merkleRoot: r.merkle_root,
      checkpointHash: r.checkpoint_hash,
      drandRound: r.drand_round,
      randomness,
      nonce: r.nonce,
    })
  } catch {
    return false
  }
  const key = `${toHex(digest)}:${r.envelope_signature}`
  const known = answers.get(key)
  if (known !== undefined) return known
  // The address is decoded (once per recent address) by verifyHotkeySignature; one that does not
  // decode verifies nothing.
  const ok = await verifyHotkeySignature(digest, r.envelope_signature, r.miner_hotkey)
  if (answers.size >= MAX_ENTRIES) answers.clear()
  answers.set(key, ok)
  return ok
}
