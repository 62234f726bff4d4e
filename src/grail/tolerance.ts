import { DEFAULT_PROFILE, type ProtocolProfile } from '../protocol/profiles.js'

/**
 * The sketch tolerance at absolute position `position`: `int(base + growth·√position)`, with the
 * profile's base (5000 in E3, 1000 in E1) and growth 5.0.
 *
 * - Spec: docs/protocol.md §1.8 (`adaptive_sketch_tolerance`; the sequence length is unused there).
 *
 * @example
 * ```ts
 * import { sketchTolerance, e1 } from 'reliquary'
 * sketchTolerance(100, { profile: e1 }) // 1050
 * ```
 */
export function sketchTolerance(
  position: number,
  options: { profile?: ProtocolProfile | undefined } = {},
): number {
  const { toleranceBase, toleranceGrowth } = (options.profile ?? DEFAULT_PROFILE).grail
  return Math.trunc(toleranceBase + toleranceGrowth * Math.sqrt(position))
}

/** Circular distance of two sketches modulo Q, as the reference computes it. */
export function sketchDistance(a: number, b: number, primeQ: number): number {
  const d = Math.abs(a - b)
  return Math.min(d, primeQ - d)
}
