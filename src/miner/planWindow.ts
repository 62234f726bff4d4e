import type { WindowState } from '../protocol/schemas.js'
import { isBootstrapWindow } from '../reward/groups.js'
import type { MinerContext } from './minerContext.js'

/** One open window as the miner mines it. @internal */
export type MinerWindow = {
  /** The `/state` document the window was opened from. */
  readonly state: WindowState
  readonly windowN: number
  /** Prompts the validator keeps in cooldown (never picked). */
  readonly cooldown: ReadonlySet<number>
  /** Whether the zone is the bootstrap one in this window. */
  readonly bootstrap: boolean
  /** Groups to attempt: `groupsPerWindow`, bounded by the quota left for this hotkey. */
  readonly slots: number
}

/**
 * What the miner will do in the open window `s`: how many groups it may still attempt, which
 * prompts are cooling down, and which zone applies (docs/protocol.md §2.4 "Zone", §3.3, §5.6).
 * @internal
 */
export function planWindow(ctx: MinerContext, s: WindowState): MinerWindow {
  const { profile, groupsPerWindow } = ctx.config
  const w = s.window_n
  const quota = profile.window.maxSubmissionsPerHotkey
  ctx.ledger.openWindow(w)
  const submitted = ctx.ledger.submittedIn(w)
  return Object.freeze({
    state: s,
    windowN: w,
    cooldown: new Set(s.cooldown_prompts),
    bootstrap: isBootstrapWindow(w, { profile }),
    slots: quota === 0 ? groupsPerWindow : Math.min(groupsPerWindow, quota - submitted),
  })
}
