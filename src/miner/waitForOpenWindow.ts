import { sleep } from '../_utils/sleep.js'
import type { WindowState } from '../protocol/schemas.js'
import type { MinerContext } from './minerContext.js'

/**
 * The miner's clock: polls `/state` every `pollIntervalMs` until the validator's window is `open`
 * with randomness and this hotkey still has quota in it (`profile.window.maxSubmissionsPerHotkey`,
 * 0 = no quota). An unreachable validator or one with no active window is polled again.
 *
 * - Spec: docs/protocol.md §3.3 (`/state`).
 * @internal
 * @throws the signal's reason when aborted; `SCHEMA_INVALID` / `JSON_INVALID` for a malformed `/state`.
 */
export async function waitForOpenWindow(
  ctx: MinerContext,
  signal: AbortSignal | undefined,
): Promise<WindowState> {
  const quota = ctx.config.profile.window.maxSubmissionsPerHotkey
  let announced = -1
  for (;;) {
    signal?.throwIfAborted()
    const s = await ctx.http.getState(signal)
    if (s && s.state === 'open' && s.randomness !== '') {
      if (quota === 0 || ctx.ledger.submittedIn(s.window_n) < quota) return s
      if (announced !== s.window_n)
        ctx.log(
          'info',
          'quota_used',
          `quota of window ${s.window_n} used; waiting for the next window`,
          {
            windowN: s.window_n,
          },
        )
      announced = s.window_n
    }
    await sleep(ctx.config.pollIntervalMs, signal)
  }
}
