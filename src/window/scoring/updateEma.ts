import type { ProtocolProfile } from '../../protocol/profiles.js'
import { DEFAULT_PROFILE } from '../../protocol/profiles.js'
import { byHotkey, entriesOf } from './_hotkeyEntries.js'
import type { HotkeyValues } from './hotkeyValues.js'

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
 * - Spec: docs/protocol.md §8 "EMA" (mirrors `_update_ema` / `_replay_ema` in `reliquary/validator/service.py`
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
