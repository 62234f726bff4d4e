import { invalidArgument } from '../../errors/base.js'
import { pyRound, pySum } from '../../_utils/pyMath.js'
import type { ProtocolProfile } from '../../protocol/profiles.js'
import { DEFAULT_PROFILE } from '../../protocol/profiles.js'
import { byHotkey, entriesOf } from './_hotkeyEntries.js'
import type { HotkeyValues } from './hotkeyValues.js'

/** Largest u16 weight on chain (Bittensor `U16_MAX`): a chain format constant, not a protocol number. */
export const U16_MAX = 65_535

/** Options of {@link emaToWeights}. */
export type EmaToWeightsOptions = {
  /** The metagraph lookup: a hotkey's uid, or `undefined` if it is not registered. */
  uidOf: (hotkey: string) => number | undefined
  /** `scoring.burnUid` and `scoring.pool` come from here. @default DEFAULT_PROFILE */
  profile?: ProtocolProfile | undefined
  /**
   * Also burn the EMA mass of unregistered hotkeys (`burn = pool − Σ registered`), as HEAD does
   * (`83ef932`). The E1–E3 reference computes `burn = pool − Σ ema` and silently drops that mass,
   * so chain normalisation redistributes it (docs/protocol.md §13.18). @default false
   */
  burnUnregistered?: boolean | undefined
}

/** Result of {@link emaToWeights}. */
export type EmaToWeightsReturnType = {
  /** Uids ascending, zero weights omitted (what `set_weights` puts on chain). */
  uids: number[]
  /** u16 weights aligned with `uids`; the largest is 65535. */
  weights: number[]
  /** The float vector handed to `set_weights` before quantisation, uids ascending. */
  float: { uids: number[]; weights: number[] }
  /** The weight given to `scoring.burnUid` for the unpaid share. */
  burn: number
  /** EMA mass of hotkeys `uidOf` did not find. */
  unregistered: number
}

/**
 * The Bittensor SDK's `convert_weights_and_uids_for_emit` as `subtensor.set_weights` applies it to
 * Python lists: cast to float32 (`np.array(…, dtype=np.float32)`), divide by the largest, scale by
 * 65535 and round half to even (Python `round`), dropping weights that round to 0.
 *
 * @param uids - Destination uids.
 * @param weights - Non-negative float weights aligned with `uids`.
 * @returns `{ uids, weights }` as sent on chain; empty when every weight is 0.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for negative values or mismatched lengths.
 * @example
 * ```ts
 * import { convertWeightsAndUidsForEmit } from 'reliquary'
 * convertWeightsAndUidsForEmit([0, 3], [0.25, 0.75]) // { uids: [0, 3], weights: [21845, 65535] }
 * ```
 */
export function convertWeightsAndUidsForEmit(
  uids: readonly number[],
  weights: readonly number[],
): { uids: number[]; weights: number[] } {
  if (!Array.isArray(uids) || !Array.isArray(weights) || uids.length !== weights.length) {
    throw invalidArgument(
      'uids/weights',
      'two arrays of the same length',
      `${describeLen(uids)} and ${describeLen(weights)}`,
    )
  }
  uids.forEach((u, i) => {
    if (!Number.isSafeInteger(u) || u < 0)
      throw invalidArgument(`uids[${i}]`, 'a non-negative integer', u)
  })
  const f32 = weights.map((w, i) => {
    if (typeof w !== 'number' || !Number.isFinite(w) || w < 0)
      throw invalidArgument(`weights[${i}]`, 'a finite number ≥ 0', w)
    return Math.fround(w)
  })
  if (f32.every((w) => w === 0)) return { uids: [], weights: [] }
  const max = Math.max(...f32)
  const outUids: number[] = []
  const outWeights: number[] = []
  f32.forEach((w, i) => {
    const v = pyRound((w / max) * U16_MAX)
    if (v !== 0) {
      outUids.push(uids[i]!)
      outWeights.push(v)
    }
  })
  return { uids: outUids, weights: outWeights }
}

function describeLen(x: unknown): string {
  return Array.isArray(x) ? `length ${x.length}` : typeof x
}

/**
 * Turns the EMA into the weight vector a validator sets: each registered hotkey's EMA goes to its
 * uid (hotkeys sharing a uid add up), `burn = max(0, pool − Σ ema)` goes to `scoring.burnUid`, and
 * the floats are quantised to u16 like the Bittensor SDK (max-upscaled so the largest is 65535,
 * Python rounding). Uids come out ascending, so the result depends only on the EMA's contents.
 *
 * - Spec: docs/protocol.md §8 "Weights".
 *
 * @param ema - The EMA (from {@link replayEma} or {@link updateEma}).
 * @param options - {@link EmaToWeightsOptions}
 * @returns {@link EmaToWeightsReturnType}
 * @throws {ReliquaryError} `INVALID_ARGUMENT` if an EMA value is negative or not finite, or `uidOf`
 *   returns something other than an integer in [0, 65535] or `undefined`.
 * @example
 * ```ts
 * import { emaToWeights } from 'reliquary'
 * const uids = new Map([['5F…a', 3]])
 * emaToWeights(new Map([['5F…a', 0.25]]), { uidOf: (h) => uids.get(h) })
 * // { uids: [0, 3], weights: [65535, 21845], burn: 0.75, … }
 * ```
 */
export function emaToWeights(
  ema: HotkeyValues,
  options: EmaToWeightsOptions,
): EmaToWeightsReturnType {
  if (typeof options !== 'object' || options === null || typeof options.uidOf !== 'function') {
    throw invalidArgument('options.uidOf', 'a function hotkey → uid | undefined', options?.uidOf)
  }
  const { uidOf, profile = DEFAULT_PROFILE, burnUnregistered = false } = options
  const entries = entriesOf(ema, 'ema').sort(byHotkey)
  const byUid = new Map<number, number>()
  const registered: number[] = []
  const unregistered: number[] = []
  for (const [hotkey, w] of entries) {
    if (w <= 0) continue
    const uid = uidOf(hotkey)
    if (uid === undefined) {
      unregistered.push(w)
      continue
    }
    if (!Number.isSafeInteger(uid) || uid < 0 || uid > U16_MAX)
      throw invalidArgument(
        `uidOf(${JSON.stringify(hotkey).slice(0, 60)})`,
        'an integer uid in [0, 65535] or undefined',
        uid,
      )
    byUid.set(uid, (byUid.get(uid) ?? 0) + w)
    registered.push(w)
  }
  const paid = burnUnregistered ? pySum(registered) : pySum(entries.map(([, w]) => w))
  const burn = Math.max(0, profile.scoring.pool - paid)
  if (burn > 0) byUid.set(profile.scoring.burnUid, (byUid.get(profile.scoring.burnUid) ?? 0) + burn)
  const floatUids = [...byUid.keys()].sort((a, b) => a - b)
  const floatWeights = floatUids.map((u) => byUid.get(u)!)
  const emitted = convertWeightsAndUidsForEmit(floatUids, floatWeights)
  return {
    uids: emitted.uids,
    weights: emitted.weights,
    float: { uids: floatUids, weights: floatWeights },
    burn,
    unregistered: pySum(unregistered),
  }
}
