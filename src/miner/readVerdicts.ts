import { describeError } from '../_utils/describeError.js'
import { sleep } from '../_utils/sleep.js'
import { parseVerdicts } from '../protocol/schemas.js'
import type { MinerContext } from './minerContext.js'
import type { ValidatorResponse } from './validatorClient.js'

/**
 * Step 5 of a miner's window: polls `/verdicts/{hotkey}` until every submission of window
 * `windowN` has its worker verdict or `verdictTimeoutMs` passes; verdicts of earlier windows
 * that arrive meanwhile are settled too. A group still without a verdict stays pending and is
 * settled by a later window's read.
 *
 * - Spec: docs/protocol.md §3.4 (`/verdicts`).
 * @internal
 * @throws the signal's reason when aborted; `SCHEMA_INVALID` / `JSON_INVALID` for a malformed answer.
 */
export async function readVerdicts(
  ctx: MinerContext,
  windowN: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  const { ledger, config } = ctx
  const deadline = Date.now() + config.verdictTimeoutMs
  const path = `/verdicts/${encodeURIComponent(config.hotkey.address)}`
  while (ledger.hasPending()) {
    let res: ValidatorResponse | null = null
    try {
      res = await ctx.http.request('GET', path, undefined, signal)
    } catch (e) {
      if (signal?.aborted) throw signal.reason
      ctx.log('warn', 'verdicts_unreachable', 'GET /verdicts failed; retrying', {
        error: describeError(e),
      })
    }
    if (res && res.status === 200) {
      for (const v of parseVerdicts(res.text).verdicts) {
        const g = ledger.takePending(v.window_n, v.merkle_root)
        if (!g) continue
        ledger.settle(g, v.accepted, v.reason)
        ctx.log(
          'info',
          'verdict',
          `window ${g.windowN} prompt ${g.promptIdx} (${g.kind}): ${v.reason}`,
          {
            windowN: g.windowN,
            promptIdx: g.promptIdx,
            kind: g.kind,
            reason: v.reason,
          },
        )
      }
    }
    if (!ledger.hasPending(windowN) || Date.now() >= deadline) break
    await sleep(config.pollIntervalMs, signal)
  }
  if (ledger.hasPending(windowN))
    ctx.log(
      'warn',
      'verdict_timeout',
      `no verdict yet for some groups of window ${windowN}; they stay pending`,
      {
        windowN,
      },
    )
}
