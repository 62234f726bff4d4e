import { sha256 } from '@noble/hashes/sha2'
import { toHex, utf8 } from '../_utils/bytes.js'

/**
 * The reference's canonical environment seed for (miner, window, problem index):
 * `int(sha256(b"seed|" + f"{wallet}:{window_hash}:{index}").hexdigest()[:8], 16)`.
 *
 * @returns An integer in [0, 2^32).
 */
export function deriveEnvSeed(
  walletAddress: string,
  windowHash: string,
  problemIndex: number,
): number {
  const idx = Number.isInteger(problemIndex) ? problemIndex : 0
  return parseInt(toHex(sha256(utf8(`seed|${walletAddress}:${windowHash}:${idx}`))).slice(0, 8), 16)
}
