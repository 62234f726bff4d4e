import type { WindowBatcher } from '../../window/seal/windowBatcher.js'
import type { ValidatorContext } from '../validatorContext.js'

/**
 * Why an open window sealed: its seal came due (`trigger`: the batch filled and the trigger
 * round's boundary plus grace passed with an empty queue), the window timed out, or the operator
 * closed it early (`closed`).
 */
export type SealReason = 'trigger' | 'timeout' | 'closed'

/**
 * Step 2, admit: the open window admits submissions (the server's handler and worker run
 * meanwhile) until its seal is due, it times out, or `signal` aborts. Polls every
 * `ctx.pollIntervalMs`; never seals anything itself.
 *
 * - Spec: docs/protocol.md §5.2 (seal rule).
 *
 * @param batcher - The open window.
 * @param ctx - The clock, the poll interval and the pending-submission count are used.
 * @param signal - Aborting it ends admission (`closed`), checked before each poll.
 * @returns The {@link SealReason}.
 */
export async function admitUntilSeal(
  batcher: WindowBatcher,
  ctx: Pick<ValidatorContext, 'now' | 'sleep' | 'pollIntervalMs' | 'pendingSubmissions'>,
  signal: AbortSignal,
): Promise<SealReason> {
  for (;;) {
    const t = ctx.now()
    if (signal.aborted) return 'closed'
    if (batcher.isTimedOut(t)) return 'timeout'
    if (batcher.isSealDue(t, { queueDepth: ctx.pendingSubmissions() })) return 'trigger'
    await ctx.sleep(ctx.pollIntervalMs)
  }
}
