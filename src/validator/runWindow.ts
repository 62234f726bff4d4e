import { admitUntilSeal } from './steps/admitUntilSeal.js'
import { archiveWindow } from './steps/archiveWindow.js'
import { commitWindow } from './steps/commitWindow.js'
import { abortWindow, finishWindow } from './steps/finishWindow.js'
import { openWindow } from './steps/openWindow.js'
import { publishPolicy, type PublishedCheckpoint } from './steps/publishPolicy.js'
import { scoreWindow } from './steps/scoreWindow.js'
import { sealOpenWindow } from './steps/sealOpenWindow.js'
import { trainBatch } from './steps/trainBatch.js'
import type { ValidatorContext } from './validatorContext.js'
import type { ValidatorState } from './validatorState.js'
import { buildWindowReport, type WindowReport } from './windowReport.js'

/**
 * One window of the E3 validator, as the protocol orders it: open, admit, seal, train, publish,
 * archive, score, ready (with a state directory, publish and archive go through
 * `commitWindow`, which commits the window before anything leaves the process). Each step is a function of the {@link ValidatorState} it updates and
 * the {@link ValidatorContext} it depends on. Any error aborts the window back to `ready` and is
 * rethrown; the state keeps what the finished steps wrote.
 *
 * - Spec: docs/protocol.md §5.1 (mirrors `ValidatorService.run` in
 *   `reliquary/validator/service.py`).
 *
 * @param state - The validator's state, updated in place.
 * @param ctx - {@link ValidatorContext}
 * @param signal - Aborting it seals the window early (a partial seal), as soon as it is open.
 * @returns The {@link WindowReport}.
 * @throws {ReliquaryError} a drand error (no beacon), `WINDOW_STATE_INVALID`, or a file-system error.
 */
export async function runWindow(
  state: ValidatorState,
  ctx: ValidatorContext,
  signal: AbortSignal,
): Promise<WindowReport> {
  try {
    const opened = await openWindow(state, ctx)
    const { batcher, windowN } = opened
    const sealReason = await admitUntilSeal(batcher, ctx, signal)
    const sealedAt = ctx.now()
    const sealed = sealOpenWindow(batcher, ctx, { reason: sealReason, atSeconds: sealedAt })
    const step = await trainBatch(state, ctx, { windowN, sealed })
    const trainedAt = ctx.now()
    const trained = step !== null
    const { persistence } = ctx
    let published: PublishedCheckpoint | null
    let publishedAt: number
    let archivePath: string
    if (persistence) {
      const at = { windowN, trained, atSeconds: trainedAt }
      ;({ published, archivePath } = await commitWindow(
        state,
        { ...ctx, persistence },
        batcher,
        at,
      ))
      publishedAt = ctx.now()
    } else {
      published = await publishPolicy(state, ctx, { windowN, trained, atSeconds: trainedAt })
      publishedAt = ctx.now()
      archivePath = await archiveWindow(batcher, ctx)
    }
    scoreWindow(state, ctx, sealed.rewardsByHotkey)
    finishWindow(state, ctx)
    return buildWindowReport({
      opened,
      sealReason,
      sealed,
      validSubmissions: batcher.validCount,
      step,
      published,
      archivePath,
      rejects: ctx.tally.windowRejects(),
      perHotkey: ctx.tally.windowCounts(),
      times: { sealedAt, trainedAt, publishedAt },
    })
  } catch (e) {
    abortWindow(state, ctx)
    throw e
  }
}
