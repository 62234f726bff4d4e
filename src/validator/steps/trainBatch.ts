import type { GrpoStepReturnType } from '../../grpo/grpoStep.js'
import { parseGrpoBatch } from '../../grpo/parseGrpoBatch.js'
import { batchDigest } from '../../manifest/batchDigest.js'
import type { SealWindowReturnType } from '../../window/seal/sealWindow.js'
import type { ValidSubmission } from '../../window/seal/validSubmission.js'
import { describeError } from '../../_utils/describeError.js'
import type { ValidatorContext } from '../validatorContext.js'
import type { ValidatorState } from '../validatorState.js'

/**
 * Step 4, train: one GRPO step on the sealed batch, only when it is full (`sealed.trained`). A
 * trained window is remembered for the next custody manifest. A failing step is reported
 * (`train_failed`) and the window goes on untrained, as the reference logs and continues.
 *
 * - Spec: docs/protocol.md §7.
 *
 * @param state - Read: `models.trainer`; updated: `checkpoint.trainedSinceParent`.
 * @param ctx - The events are used, and `trainStep` (the model worker) when set.
 * @param p - The window number and its seal.
 * @returns The step's statistics, or `null` when nothing was trained.
 */
export async function trainBatch(
  state: ValidatorState,
  ctx: Pick<ValidatorContext, 'emit' | 'trainStep'>,
  p: { windowN: number; sealed: SealWindowReturnType<ValidSubmission> },
): Promise<GrpoStepReturnType | null> {
  const { windowN, sealed } = p
  if (!sealed.trained) return null
  try {
    const batch = parseGrpoBatch(
      sealed.batch.map((s) => ({ promptIdx: s.promptIdx, rollouts: s.rollouts })),
    )
    const step = ctx.trainStep ? await ctx.trainStep(batch) : await state.models.trainer.step(batch)
    state.checkpoint.trainedSinceParent.push({
      windowN,
      batchDigest: batchDigest(sealed.batch.flatMap((s) => s.rolloutHashes)),
    })
    ctx.emit({
      type: 'trained',
      windowN,
      loss: step.loss,
      kl: step.kl,
      learningRate: step.learningRate,
      rolloutsUsed: step.rolloutsUsed,
    })
    return step
  } catch (e) {
    ctx.emit({ type: 'train_failed', windowN, error: describeError(e, 500) })
    return null
  }
}
