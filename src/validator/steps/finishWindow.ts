import type { ValidatorContext } from '../validatorContext.js'
import type { ValidatorState } from '../validatorState.js'

/**
 * Step 8, ready: the phase returns to `ready` and the window is cleared (`/state` answers 503
 * until the next window opens).
 *
 * @param state - Updated: `batcher` becomes `null`.
 * @param ctx - The clock, phase and pipeline are used.
 */
export function finishWindow(
  state: ValidatorState,
  ctx: Pick<ValidatorContext, 'now' | 'machine' | 'pipeline'>,
): void {
  ctx.machine.finish(ctx.now())
  ctx.pipeline.setActiveBatcher(null)
  state.batcher = null
}

/**
 * The error path (the reference's `Window iteration failed`): the phase returns to `ready` from
 * wherever it was and the window is dropped.
 *
 * @param state - Updated: `batcher` becomes `null`.
 * @param ctx - The clock, phase and pipeline are used.
 */
export function abortWindow(
  state: ValidatorState,
  ctx: Pick<ValidatorContext, 'now' | 'machine' | 'pipeline'>,
): void {
  ctx.machine.abort(ctx.now())
  ctx.pipeline.setActiveBatcher(null)
  state.batcher = null
}
