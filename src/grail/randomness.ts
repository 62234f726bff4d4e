import { ReliquaryError, describeValue } from '../errors/base.js'
import { fromHex } from '../_utils/bytes.js'

/** Bound on randomness strings accepted anywhere (a SHA-256 hex is 64 characters). */
export const MAX_RANDOMNESS_HEX_CHARS = 4096

/**
 * Decodes a randomness hex string the way the reference does before hashing it: strip surrounding
 * whitespace, remove every `0x`/`0X`, left-pad an odd length with one `0`, then hex-decode
 * (either case).
 *
 * - Spec: docs/protocol.md §1.2.
 *
 * @param randomness - Hex string, e.g. a window randomness from `/state`.
 * @returns The decoded bytes.
 * @throws {ReliquaryError} `INVALID_HEX` if anything but hex digits remains or it is too long.
 * @example
 * ```ts
 * import { decodeRandomness } from 'reliquary'
 * decodeRandomness('0xABC') // Uint8Array [0x0a, 0xbc]
 * ```
 */
export function decodeRandomness(randomness: string): Uint8Array {
  if (typeof randomness !== 'string' || randomness.length > MAX_RANDOMNESS_HEX_CHARS) {
    throw new ReliquaryError(
      'INVALID_HEX',
      `"randomness" expected a hex string of at most ${MAX_RANDOMNESS_HEX_CHARS} characters, received ${describeValue(randomness)}.`,
    )
  }
  // Python str.strip() strips Unicode whitespace; JS trim() strips the same set for our purposes
  // (any non-hex character left over is rejected below).
  let s = randomness.trim().replace(/0[xX]/g, '')
  if (s.length % 2 === 1) s = `0${s}`
  try {
    return fromHex(s, 'randomness')
  } catch (e) {
    throw new ReliquaryError(
      'INVALID_HEX',
      `"randomness" is not hex after normalisation: ${describeValue(randomness)}.`,
      {
        hints: [
          'Window randomness is a lowercase SHA-256 hex digest, as published in /state.randomness.',
        ],
        cause: e,
      },
    )
  }
}
