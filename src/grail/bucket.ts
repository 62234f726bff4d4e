import { DEFAULT_PROFILE, type ProtocolProfile } from '../protocol/profiles.js'

/**
 * Signed log-magnitude bucket of one hidden value, in float64 like the reference's scalar path:
 * NaN → 0, ±∞ → ±(numBuckets−1), |v| < 1e-6 → 0, otherwise
 * `sign(v) · clamp(trunc(log2(|v| + 1) · numBuckets / 10), 0, numBuckets − 1)` (−0 gives +0).
 *
 * - Spec: docs/protocol.md §1.7 (`log_magnitude_bucket`).
 *
 * @param value - The hidden value (a float32/bf16 value widened exactly to float64).
 * @param options.profile - @default e3
 * @returns An integer in [−7, 7] for the default profile.
 * @example
 * ```ts
 * import { logMagnitudeBucket } from 'reliquary'
 * logMagnitudeBucket(31) // 4
 * ```
 */
export function logMagnitudeBucket(
  value: number,
  options: { profile?: ProtocolProfile | undefined } = {},
): number {
  const { numBuckets, bucketDeadzone } = (options.profile ?? DEFAULT_PROFILE).grail
  return bucketOf(value, numBuckets, numBuckets / 10.0, bucketDeadzone)
}

/** Hot-path form with the profile numbers pre-resolved. @internal */
export function bucketOf(v: number, numBuckets: number, scale: number, deadzone: number): number {
  if (Number.isNaN(v)) return 0
  const a = Math.abs(v)
  if (a === Infinity) return v > 0 ? numBuckets - 1 : -(numBuckets - 1)
  if (a < deadzone) return 0
  let b = Math.trunc(Math.log2(a + 1.0) * scale)
  if (b > numBuckets - 1) b = numBuckets - 1
  else if (b < 0) b = 0
  return v >= 0 || b === 0 ? b : -b
}
