import type { SealWindowReturnType } from '../../window/seal/sealWindow.js'
import type { ValidSubmission } from '../../window/seal/validSubmission.js'
import type { WindowBatcher } from '../../window/seal/windowBatcher.js'
import type { ValidatorContext } from '../validatorContext.js'
import type { SealReason } from './admitUntilSeal.js'

/**
 * Step 3, seal: the phase moves to `training` and the open window is sealed now, whatever the
 * trigger (admission closes for good, the batch is selected, the winning prompts enter the
 * cooldown and their rollout hashes the dedup).
 *
 * - Spec: docs/protocol.md §5.2, §5.3.
 *
 * @param batcher - The open window.
 * @param ctx - The phase, the pending-submission count and the events are used.
 * @param p - Why it seals, and when (unix seconds).
 * @returns The seal: batch, `rewardsByHotkey`, `burn`, `trained`.
 */
export function sealOpenWindow(
  batcher: WindowBatcher,
  ctx: Pick<ValidatorContext, 'machine' | 'pendingSubmissions' | 'emit'>,
  p: { reason: SealReason; atSeconds: number },
): SealWindowReturnType<ValidSubmission> {
  ctx.machine.startTraining(p.atSeconds)
  const sealed = batcher.seal(p.atSeconds, { queueDepth: ctx.pendingSubmissions(), force: true })
  ctx.emit({
    type: 'sealed',
    windowN: batcher.windowStart,
    reason: p.reason,
    validSubmissions: batcher.validCount,
    batchSize: sealed.batch.length,
    trained: sealed.trained,
  })
  return sealed
}
