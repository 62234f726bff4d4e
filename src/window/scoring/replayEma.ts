import { invalidArgument } from '../../errors/base.js'
import type { ProtocolProfile } from '../../protocol/profiles.js'
import { DEFAULT_PROFILE } from '../../protocol/profiles.js'
import type { WindowArchive } from '../archive/windowArchive.js'
import { archiveBatch, assertArchive } from '../archive/windowArchive.js'
import type { HotkeyValues } from './hotkeyValues.js'
import { updateEma, type EmaOptions } from './updateEma.js'

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
 * - Spec: docs/protocol.md §8 "EMA" (mirrors `_replay_ema`).
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
