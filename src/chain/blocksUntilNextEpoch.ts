import { invalidArgument } from '../errors/base.js'

/**
 * Blocks until a subnet's next epoch, as subtensor's `blocks_until_next_epoch` and the Bittensor
 * SDK compute it: `tempo − (block + netuid + 1) mod (tempo + 1)`; a tempo of 0 (no epochs) gives
 * `null`.
 *
 * - Spec: docs/protocol.md §8 "Cadence" (the reference submits when this is at most 20).
 *
 * @param parameters - `block` (current head), `netuid`, `tempo`.
 * @returns Blocks to wait, in `[0, tempo]`, or `null` for tempo 0.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for negative or non-integer inputs.
 * @example
 * ```ts
 * import { blocksUntilNextEpoch } from 'reliquary/chain'
 * blocksUntilNextEpoch({ block: 100, netuid: 81, tempo: 360 }) // 360 − (182 mod 361) = 178
 * ```
 */
export function blocksUntilNextEpoch(parameters: {
  block: number
  netuid: number
  tempo: number
}): number | null {
  const { block, netuid, tempo } = parameters
  for (const [k, v] of Object.entries({ block, netuid, tempo }))
    if (!Number.isSafeInteger(v) || v < 0) throw invalidArgument(k, 'a non-negative integer', v)
  if (tempo === 0) return null
  return tempo - ((block + netuid + 1) % (tempo + 1))
}
