import { sha256 } from '@noble/hashes/sha2'
import { ReliquaryError } from '../errors/base.js'
import { be64, concatBytes, fromHex, toHex } from '../_utils/bytes.js'

function hex32(x: string, name: string): Uint8Array {
  const s = typeof x === 'string' ? x.replace(/^0x/i, '') : x
  const b = fromHex(s, name)
  if (b.length === 0) throw new ReliquaryError('INVALID_HEX', `"${name}" must not be empty.`)
  return b
}

/**
 * E3 window randomness: `hex(SHA256(drand_randomness ‖ BE64(round)))`, published in
 * `/state.randomness`. Pass the randomness of a beacon that was verified first (see the drand
 * module); this function only hashes.
 *
 * - Spec: docs/protocol.md §1.10 (E3, `b1213d2`).
 *
 * @param drandRandomness - Hex of the beacon randomness (SHA-256 of its signature).
 * @param round - The beacon round.
 * @example
 * ```ts
 * import { windowRandomnessE3 } from 'reliquary'
 * windowRandomnessE3('ab'.repeat(32), 1000)
 * ```
 */
export function windowRandomnessE3(drandRandomness: string, round: number): string {
  if (!Number.isSafeInteger(round) || round < 0)
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      `"round" must be a non-negative integer, received ${String(round)}.`,
    )
  return toHex(sha256(concatBytes(hex32(drandRandomness, 'drandRandomness'), be64(round))))
}

/**
 * E1/E2 window randomness: `hex(SHA256(blockhash ‖ drand_randomness ‖ BE64(round)))`; with
 * `round` omitted, `hex(SHA256(blockhash ‖ drand_randomness))`; with no drand, the block hash
 * itself (without `0x`).
 *
 * - Spec: docs/protocol.md §1.10 (E1/E2, `compute_window_randomness`).
 */
export function windowRandomnessE1(
  blockHash: string,
  drand?: { randomness: string; round?: number | undefined } | undefined,
): string {
  const block = hex32(blockHash, 'blockHash')
  if (!drand) return toHex(block)
  const parts = [block, hex32(drand.randomness, 'drandRandomness')]
  if (drand.round !== undefined) {
    if (!Number.isSafeInteger(drand.round) || drand.round < 0)
      throw new ReliquaryError('INVALID_ARGUMENT', '"round" must be a non-negative integer.')
    parts.push(be64(drand.round))
  }
  return toHex(sha256(concatBytes(...parts)))
}
