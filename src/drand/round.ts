import { ReliquaryError } from '../errors/base.js'
import { DEFAULT_PROFILE, type ProtocolProfile } from '../protocol/profiles.js'

/** CPython `float // float` (floor division), which is not always `Math.floor(a / b)`. @internal */
export function pyFloorDiv(a: number, b: number): number {
  const mod = a % b // C fmod, as CPython uses
  let div = (a - mod) / b
  if (mod !== 0 && b < 0 !== mod < 0) div -= 1
  if (div === 0) return 0
  let floordiv = Math.floor(div)
  if (div - floordiv > 0.5) floordiv += 1
  return floordiv
}

function finite(x: number, name: string): void {
  if (typeof x !== 'number' || !Number.isFinite(x))
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      `"${name}" must be a finite number, received ${String(x)}.`,
    )
}

/**
 * The drand round current at unix time `nowSeconds`: `1 + (now − genesis) // period`, and 1
 * before genesis. The E3 validator stamps each submission with this round at arrival.
 *
 * - Spec: docs/protocol.md §1.10, §4.3 step 8 (`compute_current_drand_round`).
 *
 * @param nowSeconds - Unix time in seconds (fractional allowed).
 * @param options - chain genesis and period; default the profile's drand chain (quicknet).
 * @example
 * ```ts
 * import { drandRoundAt } from 'reliquary'
 * drandRoundAt(1692803367 + 10) // 4
 * ```
 */
export function drandRoundAt(
  nowSeconds: number,
  options: {
    genesisTime?: number | undefined
    periodSeconds?: number | undefined
    profile?: ProtocolProfile | undefined
  } = {},
): number {
  const chain = (options.profile ?? DEFAULT_PROFILE).drand
  const genesis = options.genesisTime ?? chain.genesisTime
  const period = options.periodSeconds ?? chain.periodSeconds
  finite(nowSeconds, 'nowSeconds')
  finite(genesis, 'genesisTime')
  if (!(period > 0))
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      `"periodSeconds" must be positive, received ${String(period)}.`,
    )
  if (nowSeconds < genesis) return 1
  return 1 + pyFloorDiv(nowSeconds - genesis, period)
}

/** Unix time (seconds) at which `round` is published: `genesis + (round − 1)·period`. */
export function drandRoundTime(
  round: number,
  options: {
    genesisTime?: number | undefined
    periodSeconds?: number | undefined
    profile?: ProtocolProfile | undefined
  } = {},
): number {
  const chain = (options.profile ?? DEFAULT_PROFILE).drand
  if (!Number.isSafeInteger(round) || round < 1)
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      `"round" must be a positive integer, received ${String(round)}.`,
    )
  return (
    (options.genesisTime ?? chain.genesisTime) +
    (round - 1) * (options.periodSeconds ?? chain.periodSeconds)
  )
}

/** E1 seconds per block used to turn a window counter into a time (`BLOCK_TIME_SECONDS`). */
export const E1_BLOCK_TIME_SECONDS = 12

/**
 * E1/E2 `compute_drand_round_for_window`: the window counter is read as a block number at 12 s a
 * block; before the chain's genesis that is round 1 (which is what every realistic window gives).
 */
export function drandRoundForWindowE1(
  windowStartBlock: number,
  genesisTime: number,
  periodSeconds: number,
): number {
  return drandRoundAt(windowStartBlock * E1_BLOCK_TIME_SECONDS, { genesisTime, periodSeconds })
}
