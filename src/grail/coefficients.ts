import { DEFAULT_PROFILE, type ProtocolProfile } from '../protocol/profiles.js'
import { prf, PRF_LABELS } from './prf.js'
import { decodeRandomness } from './randomness.js'

/**
 * Derives the sketch coefficient vector r from the window randomness:
 * `PRF("sketch", randomness, 2·topk)` read as big-endian int16 words `v`, then
 * `c = (|v| mod (2·range+1)) − range`.
 *
 * The absolute value is taken in int16 as numpy does, so `|−32768|` wraps to −32768 and gives
 * `c = 0` (not 1); this port reproduces that quirk.
 *
 * - Spec: docs/protocol.md §1.3 (`GRAILVerifier.generate_r_vec`).
 *
 * @param randomness - Window randomness (hex; see {@link decodeRandomness}) or its decoded bytes.
 * @param options.profile - Protocol profile (topk, coefficient range). @default e3
 * @returns `topk` coefficients in [−127, 127], in PRF order.
 * @throws {ReliquaryError} `INVALID_HEX` for malformed randomness.
 * @example
 * ```ts
 * import { deriveSketchCoefficients } from 'reliquary'
 * const r = deriveSketchCoefficients('b8ae25a3d8be558258bd42c986a27580c1754c29f418fd135045adcb3721cf0b')
 * ```
 */
export function deriveSketchCoefficients(
  randomness: string | Uint8Array,
  options: { profile?: ProtocolProfile | undefined } = {},
): Int8Array {
  const { topk, coeffRange } = (options.profile ?? DEFAULT_PROFILE).grail
  const bytes = typeof randomness === 'string' ? decodeRandomness(randomness) : randomness
  return coefficientsFromPrf(prf(PRF_LABELS.sketch, [bytes], 2 * topk), topk, coeffRange)
}

/** Maps raw PRF bytes to coefficients (exported for the int16 edge-case vectors). @internal */
export function coefficientsFromPrf(raw: Uint8Array, topk: number, coeffRange: number): Int8Array {
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
  const mod = 2 * coeffRange + 1
  const out = new Int8Array(topk)
  for (let j = 0; j < topk; j++) {
    const v = dv.getInt16(2 * j)
    // numpy int16 abs: −32768 stays −32768; Python-style floor mod then makes it coeffRange.
    const a = v === -32768 ? -32768 : Math.abs(v)
    out[j] = (((a % mod) + mod) % mod) - coeffRange
  }
  return out
}
