import { CHEAT_KINDS, type CheatKind } from './cheat.js'
import type { MinerContext } from './minerContext.js'
import type { MinerWindow } from './planWindow.js'
import type { ReplayMaterial } from './types.js'

/** The cheat a `strategy: 'cheat'` miner plays for its next group. @internal */
export type NextCheat = {
  readonly kind: CheatKind
  /** The honest group to replay (kind `replay` only). */
  readonly replay: ReplayMaterial | null
  /** Whether submitting this group moves the rotation on. */
  readonly advances: boolean
}

/**
 * The cheat for the next group: the rotation's kind; a replay without material from an earlier
 * window (outside the cooldown) falls back to fabricated sketches and stays due. A replay taken
 * here leaves the stash.
 * @internal
 */
export function nextCheat(ctx: MinerContext, window: MinerWindow): NextCheat {
  const { state } = ctx
  const kind = CHEAT_KINDS[state.cheatCycle % CHEAT_KINDS.length]!
  if (kind !== 'replay') return { kind, replay: null, advances: true }
  const i = state.replayStash.findIndex(
    (r) => r.windowN < window.windowN && !window.cooldown.has(r.promptIdx),
  )
  if (i < 0) return { kind: 'fabricate_sketch', replay: null, advances: false }
  return { kind, replay: state.replayStash.splice(i, 1)[0]!, advances: true }
}
