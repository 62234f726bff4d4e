import { shouldPublish } from '../../hub/shouldPublish.js'
import type { CustodyManifest } from '../../manifest/custodyManifest.js'
import type { CheckpointManifestWire } from '../../protocol/schemas.js'
import { describeError } from '../../_utils/describeError.js'
import type { ValidatorContext } from '../validatorContext.js'
import type { TrainedWindow, ValidatorModels, ValidatorState } from '../validatorState.js'

/** A checkpoint published after a window. */
export type PublishedCheckpoint = {
  readonly checkpointN: number
  readonly revision: string
  readonly repoId: string
}

/** What a {@link CheckpointPublisher} is asked to publish. */
export type CheckpointPublisherParameters = {
  /** The number of the checkpoint to publish (the previous one plus 1). */
  readonly checkpointN: number
  /**
   * The policy to publish (current when `dir` is absent; with `dir`, the directory is what to
   * publish); the publisher also refreshes `verifyModel` to the published weights.
   */
  readonly models: ValidatorModels
  /** The previous custody manifest (the new one's parent), or `null`. */
  readonly parent: CustodyManifest | null
  /** The windows trained since the parent. */
  readonly windows: readonly TrainedWindow[]
  /**
   * The checkpoint directory when it is already saved (a validator with a state directory saves
   * it before committing the window); the publisher then publishes it as it is.
   */
  readonly dir?: string | undefined
}

/** What a {@link CheckpointPublisher} returns once the checkpoint is published and the verify model refreshed. */
export type CheckpointPublisherReturnType = PublishedCheckpoint & {
  /** The signed `/checkpoint` document to serve from now on. */
  readonly referenceManifest: CheckpointManifestWire
  /** The custody manifest committed with it. */
  readonly custodyManifest: CustodyManifest
}

/**
 * Saves and publishes the policy, then makes the verify model the published weights. Throws on
 * any failure; the validator's checkpoint state changes only after it returns.
 */
export type CheckpointPublisher = (
  p: CheckpointPublisherParameters,
) => Promise<CheckpointPublisherReturnType>

/**
 * Step 5, publish: the phase moves to `publishing`; when the profile's cadence says so
 * (`shouldPublish`: the first trained window without a manifest, then every
 * `publishing.intervalWindows`), the policy is published and becomes the served checkpoint. A
 * failing publish is reported (`publish_failed`) and the previous checkpoint stays in force.
 *
 * - Spec: docs/protocol.md §9.
 *
 * @param state - Read: `models`; updated: `checkpoint` (after a successful publish only).
 * @param ctx - The phase, the publisher (none: nothing is published) and the events are used.
 * @param p - The window, whether it trained, and when the phase changes (unix seconds).
 * @returns The published checkpoint, or `null`.
 */
export async function publishPolicy(
  state: ValidatorState,
  ctx: Pick<ValidatorContext, 'machine' | 'publisher' | 'profile' | 'emit' | 'pullModels'>,
  p: { windowN: number; trained: boolean; atSeconds: number },
): Promise<PublishedCheckpoint | null> {
  ctx.machine.startPublishing(p.atSeconds)
  if (!publishDue(state, ctx, p)) return null
  return publishNow(state, ctx, { windowN: p.windowN })
}

/**
 * Whether the window publishes: there is a publisher and the profile's cadence says so
 * (`shouldPublish`).
 *
 * @param state - Read: `checkpoint`.
 * @param ctx - The publisher and the profile are used.
 * @param p - The window and whether it trained.
 * @returns Whether to publish.
 */
export function publishDue(
  state: ValidatorState,
  ctx: Pick<ValidatorContext, 'publisher' | 'profile'>,
  p: { windowN: number; trained: boolean },
): boolean {
  return (
    ctx.publisher !== null &&
    shouldPublish({
      windowN: p.windowN,
      trained: p.trained,
      hasManifest: state.checkpoint.manifest !== null,
      profile: ctx.profile,
    })
  )
}

/**
 * Publishes checkpoint `checkpoint.n + 1` now (no cadence check) and makes it the served
 * checkpoint; a failure is reported (`publish_failed`) and returns `null`.
 *
 * @param state - Read: `models`; updated: `checkpoint` (after a successful publish only).
 * @param ctx - The publisher and the events are used.
 * @param p - The window, and the already saved checkpoint directory, if any.
 * @returns The published checkpoint, or `null`.
 */
export async function publishNow(
  state: ValidatorState,
  ctx: Pick<ValidatorContext, 'publisher' | 'emit' | 'pullModels'>,
  p: { windowN: number; dir?: string | undefined },
): Promise<PublishedCheckpoint | null> {
  const { windowN } = p
  const cp = state.checkpoint
  if (!ctx.publisher) return null
  const checkpointN = cp.n + 1
  try {
    // The publisher saves the policy itself: it must hold the last step.
    if (p.dir === undefined) await ctx.pullModels?.()
    const out = await ctx.publisher({
      checkpointN,
      models: state.models,
      parent: cp.custody,
      windows: cp.trainedSinceParent,
      ...(p.dir !== undefined ? { dir: p.dir } : {}),
    })
    state.checkpoint = {
      n: checkpointN,
      manifest: out.referenceManifest,
      custody: out.custodyManifest,
      trainedSinceParent: [],
    }
    const published = { checkpointN, revision: out.revision, repoId: out.repoId }
    ctx.emit({ type: 'published', windowN, ...published })
    return published
  } catch (e) {
    ctx.emit({ type: 'publish_failed', windowN, error: describeError(e, 500) })
    return null
  }
}
