import type { ProtocolProfile } from '../../protocol/profiles.js'
import { updateEma } from '../../window/scoring/updateEma.js'
import type { ValidatorState } from '../validatorState.js'

/**
 * Step 7, score: folds the window's emission shares into the EMA, partial windows included.
 *
 * - Spec: docs/protocol.md §8.
 *
 * @param state - Updated: `ema`.
 * @param ctx - The profile (EMA α).
 * @param rewardsByHotkey - The seal's `rewardsByHotkey`.
 */
export function scoreWindow(
  state: ValidatorState,
  ctx: { readonly profile: ProtocolProfile },
  rewardsByHotkey: ReadonlyMap<string, number>,
): void {
  state.ema = updateEma(state.ema, rewardsByHotkey, { profile: ctx.profile })
}
