import { sha256 } from '@noble/hashes/sha2'
import { ReliquaryError } from '../errors/base.js'
import { be64, concatBytes, fromHex, lp4, utf8 } from '../_utils/bytes.js'
import { decodeRandomness } from '../grail/randomness.js'
import { signHex, verifyHotkeySignature, type Hotkey } from './sr25519.js'

const ENVELOPE_DOMAIN = /*#__PURE__*/ utf8('reliquary-envelope-v1')

/** The fields of a `/submit` request bound by the E3 envelope signature. */
export type EnvelopeFields = {
  minerHotkey: string
  windowStart: number
  promptIdx: number
  /** 64-hex rollout merkle root. */
  merkleRoot: string
  /** Checkpoint revision string (UTF-8, not hex-decoded); `""` during bootstrap. */
  checkpointHash: string
  drandRound: number
  /** The validator's current window randomness (hex; `""` if none). */
  randomness: string
  nonce: string
}

function u64(x: number, name: string): Uint8Array {
  if (!Number.isSafeInteger(x) || x < 0)
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      `"${name}" must be a non-negative safe integer, received ${String(x)}.`,
    )
  return be64(x)
}

/**
 * The E3 envelope digest a miner signs over a submission:
 * `SHA256("reliquary-envelope-v1" ‖ LP4(hotkey) ‖ LP4(BE64(window)) ‖ LP4(BE64(prompt)) ‖
 * LP4(merkle bytes) ‖ LP4(checkpoint utf8) ‖ LP4(BE64(round)) ‖ LP4(randomness bytes) ‖ LP4(nonce))`.
 *
 * - Spec: docs/protocol.md §3.5 (E3 `build_envelope_binding`).
 *
 * @throws {ReliquaryError} `INVALID_HEX` / `INVALID_ARGUMENT` for malformed fields.
 */
export function envelopeDigest(f: EnvelopeFields): Uint8Array {
  if (typeof f.merkleRoot !== 'string' || !/^[0-9a-fA-F]{64}$/.test(f.merkleRoot)) {
    throw new ReliquaryError('INVALID_HEX', '"merkleRoot" must be 64 hex characters.')
  }
  return sha256(
    concatBytes(
      ENVELOPE_DOMAIN,
      lp4(utf8(f.minerHotkey)),
      lp4(u64(f.windowStart, 'windowStart')),
      lp4(u64(f.promptIdx, 'promptIdx')),
      lp4(fromHex(f.merkleRoot, 'merkleRoot')),
      lp4(utf8(f.checkpointHash)),
      lp4(u64(f.drandRound, 'drandRound')),
      lp4(f.randomness === '' ? new Uint8Array(0) : decodeRandomness(f.randomness)),
      lp4(utf8(f.nonce)),
    ),
  )
}

/** Signs the envelope with the miner hotkey; returns the `envelope_signature` hex. */
export function signEnvelope(hotkey: Hotkey, f: EnvelopeFields): string {
  return signHex(hotkey, envelopeDigest(f))
}

/**
 * Verifies an envelope signature against `f.minerHotkey`. Never throws: malformed fields or
 * signatures give `false` (the validator answers `bad_envelope_signature`).
 */
export async function verifyEnvelope(f: EnvelopeFields, signature: string): Promise<boolean> {
  let digest: Uint8Array
  try {
    digest = envelopeDigest(f)
  } catch {
    return false
  }
  return verifyHotkeySignature(digest, signature, f.minerHotkey)
}
