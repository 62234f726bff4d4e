import { sha256 } from '@noble/hashes/sha2'
import { invalidArgument } from '../errors/base.js'
import { concatBytes, fromHex, toHex } from '../_utils/bytes.js'

/**
 * The digest of one trained batch, recorded per window in a custody manifest:
 * `hex(SHA256(h_1 ‖ h_2 ‖ … ‖ h_n))` over the 32-byte rollout hashes in the order the batch was
 * trained on. A rollout hash is the E3 archive's per-rollout `hash`, SHA-256 over the BE32 token
 * ids (`hashTokens`). In Python: `sha256(b"".join(bytes.fromhex(h) for h in hashes)).hexdigest()`.
 *
 * @param rolloutHashes - Hex strings (64 chars, optional `0x`) or 32-byte arrays; at least one.
 * @returns Lowercase hex (64 chars).
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for an empty list or a hash that is not 32 bytes.
 * @example
 * ```ts
 * import { batchDigest } from 'reliquary/manifest'
 * batchDigest(batch.flatMap((s) => s.rollouts.map((r) => r.hash)))
 * ```
 */
export function batchDigest(rolloutHashes: readonly (string | Uint8Array)[]): string {
  if (!Array.isArray(rolloutHashes) || rolloutHashes.length === 0)
    throw invalidArgument('rolloutHashes', 'a non-empty array', rolloutHashes)
  const parts = rolloutHashes.map((h, i) => {
    const b = typeof h === 'string' ? fromHex(h.replace(/^0x/i, ''), `rolloutHashes[${i}]`) : h
    if (!(b instanceof Uint8Array) || b.length !== 32)
      throw invalidArgument(`rolloutHashes[${i}]`, 'a 32-byte hash', h)
    return b
  })
  return toHex(sha256(concatBytes(...parts)))
}
