import { invalidArgument } from '../../errors/base.js'
import type { ProtocolProfile } from '../../protocol/profiles.js'
import { DEFAULT_PROFILE } from '../../protocol/profiles.js'
import { pyRound, pySum } from '../../_utils/pyMath.js'
import type { WindowArchive } from '../archive/windowArchive.js'
import { archiveBatch, assertArchive } from '../archive/windowArchive.js'

/** Largest u16 weight on chain (Bittensor `U16_MAX`): a chain format constant, not a protocol number. */
export const U16_MAX = 65_535

/** Hotkey → value, as a `Map` or a plain record (for example a parsed `rewards_by_hotkey`). */
export type HotkeyValues = ReadonlyMap<string, number> | Readonly<Record<string, number>>

function entriesOf(values: HotkeyValues, param: string): [string, number][] {
  if (typeof values !== 'object' || values === null)
    throw invalidArgument(param, 'a Map or record of hotkey → number', values)
  const entries =
    values instanceof Map
      ? [...(values as ReadonlyMap<string, number>)]
      : Object.entries(values as Record<string, number>)
  for (const [k, v] of entries) {
    if (typeof k !== 'string') throw invalidArgument(`${param} key`, 'a hotkey string', k)
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw invalidArgument(`${param}[${JSON.stringify(k).slice(0, 60)}]`, 'a finite number ≥ 0', v)
  }
  return entries
}

function byHotkey(a: [string, number], b: [string, number]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0
}

/** Options of {@link updateEma} and {@link replayEma}. */
export type EmaOptions = {
  /** `scoring.emaAlpha` and `scoring.emaPruneBelow` (and, for E1/E2 archives, `group.batchSize` and `scoring.pool`) come from here. @default DEFAULT_PROFILE */
  profile?: ProtocolProfile | undefined
}

/**
 * One EMA step after a sealed window (partial windows included): for every hotkey seen so far or
 * paid now, `ema[h] = α·share_h + (1 − α)·ema[h]` (a missing share is 0); entries at or below
 * `scoring.emaPruneBelow` are dropped. The input is not modified.
 *
 * - Spec: PROTOCOL.md §8 "EMA" (mirrors `_update_ema` / `_replay_ema` in `reliquary/validator/service.py`
 *   and `weight_only.py`).
 *
 * @param ema - The EMA before the window.
 * @param shares - The window's `rewards_by_hotkey` (E3) or batch share per hotkey (E1/E2).
 * @param options - {@link EmaOptions}
 * @returns A new EMA map, keys in ascending order.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` if a value is negative or not finite.
 * @example
 * ```ts
 * import { updateEma } from 'reliquary'
 * const ema = updateEma(new Map(), { '5F…a': 0.25 })
 * ema.get('5F…a') // 0.25 · 2/73
 * ```
 */
export function updateEma(
  ema: HotkeyValues,
  shares: HotkeyValues,
  options: EmaOptions = {},
): Map<string, number> {
  const { profile = DEFAULT_PROFILE } = options
  const alpha = profile.scoring.emaAlpha
  const prev = new Map(entriesOf(ema, 'ema'))
  const now = new Map(entriesOf(shares, 'shares'))
  const keys = new Set([...prev.keys(), ...now.keys()])
  const out: [string, number][] = []
  for (const h of keys) {
    const v = alpha * (now.get(h) ?? 0) + (1 - alpha) * (prev.get(h) ?? 0)
    if (v > profile.scoring.emaPruneBelow) out.push([h, v])
  }
  return new Map(out.sort(byHotkey))
}

/** Options of {@link replayEma}. */
export type ReplayEmaOptions = EmaOptions & {
  /**
   * Replay only the most recent this-many archives (after sorting by `window_start`). The
   * reference reads `scoring.replayWindows` (216) archives from storage and replays all it read;
   * pass `profile.scoring.replayWindows` to reproduce a startup replay over a longer history.
   * @default all archives given
   */
  maxWindows?: number | undefined
}

/**
 * The per-hotkey share of one archived window: `rewards_by_hotkey` when present (E3+); otherwise
 * (E1/E2) each batch entry is worth `pool / B` to its hotkey.
 */
function archiveShares(a: WindowArchive, i: number, profile: ProtocolProfile): HotkeyValues {
  if (a.rewards_by_hotkey !== undefined) return a.rewards_by_hotkey
  const shares = new Map<string, number>()
  const slot = profile.scoring.pool / profile.group.batchSize
  archiveBatch(a, i).forEach((s, j) => {
    if (typeof s.hotkey !== 'string')
      throw invalidArgument(`archives[${i}].batch[${j}].hotkey`, 'a string', s.hotkey)
    shares.set(s.hotkey, (shares.get(s.hotkey) ?? 0) + slot)
  })
  return shares
}

/**
 * Rebuilds the EMA from archived windows, ascending by `window_start` (stable for ties), skipping
 * windows with `window_status === "aborted"`. Gives exactly the EMA that {@link updateEma} applied
 * live after each of those windows gives.
 *
 * - Spec: PROTOCOL.md §8 "EMA" (mirrors `_replay_ema`).
 *
 * @param archives - Parsed window archives, any order.
 * @param options - {@link ReplayEmaOptions}
 * @returns The EMA map, keys ascending.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a malformed archive or `maxWindows`.
 * @example
 * ```ts
 * import { replayEma } from 'reliquary'
 * replayEma([{ window_start: 1, rewards_by_hotkey: { '5F…a': 0.5 } }])
 * ```
 */
export function replayEma(
  archives: readonly WindowArchive[],
  options: ReplayEmaOptions = {},
): Map<string, number> {
  const { profile = DEFAULT_PROFILE, maxWindows } = options
  if (!Array.isArray(archives))
    throw invalidArgument('archives', 'an array of window archives', archives)
  if (maxWindows !== undefined && (!Number.isSafeInteger(maxWindows) || maxWindows < 0))
    throw invalidArgument('maxWindows', 'a non-negative integer', maxWindows)
  for (const [i, a] of archives.entries()) assertArchive(a, i)
  const order = archives
    .map((a, i) => ({ a, i }))
    .sort((x, y) => x.a.window_start - y.a.window_start || x.i - y.i)
  const used =
    maxWindows === undefined ? order : order.slice(Math.max(0, order.length - maxWindows))
  let ema: Map<string, number> = new Map()
  for (const { a, i } of used) {
    if (a.window_status === 'aborted') continue
    ema = updateEma(ema, archiveShares(a, i, profile), { profile })
  }
  return ema
}

/** Options of {@link emaToWeights}. */
export type EmaToWeightsOptions = {
  /** The metagraph lookup: a hotkey's uid, or `undefined` if it is not registered. */
  uidOf: (hotkey: string) => number | undefined
  /** `scoring.burnUid` and `scoring.pool` come from here. @default DEFAULT_PROFILE */
  profile?: ProtocolProfile | undefined
  /**
   * Also burn the EMA mass of unregistered hotkeys (`burn = pool − Σ registered`), as HEAD does
   * (`83ef932`). The E1–E3 reference computes `burn = pool − Σ ema` and silently drops that mass,
   * so chain normalisation redistributes it (PROTOCOL.md §13.18). @default false
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
 * - Spec: PROTOCOL.md §8 "Weights".
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
