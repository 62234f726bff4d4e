import { mkdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { ReliquaryError } from '../../errors/base.js'
import type { WindowBatcher } from '../../window/seal/windowBatcher.js'
import {
  exists,
  moveDirOnce,
  syncTree,
  writeFileAtomic,
  writeFileOnce,
} from '../../_utils/atomicWrite.js'
import type { ValidatorContext } from '../validatorContext.js'
import type { ValidatorState } from '../validatorState.js'
import {
  storedCheckpoint,
  type PendingWindow,
  type StoredValidatorState,
  type ValidatorStore,
} from '../validatorStore.js'
import { encodeArchiveOf } from './archiveWindow.js'
import { publishDue, publishNow, type PublishedCheckpoint } from './publishPolicy.js'
import { encodeRunnerUpHashes, runnerUpHashesNeeded } from './runnerUpHashes.js'

/** What a validator with a state directory needs besides the {@link ValidatorContext}. */
export type ValidatorPersistence = {
  readonly store: ValidatorStore
  /** Saves the policy as a publishable checkpoint directory (`saveCheckpointDir`). */
  readonly saveCheckpoint: (state: ValidatorState, dir: string) => Promise<void>
  /**
   * Saves the trainer state (`GrpoTrainer.save`). @default `state.models.trainer.save(dir)`
   * (the model worker saves its own, which the main thread's trainer may not have pulled yet)
   */
  readonly saveTrainer?: ((state: ValidatorState, dir: string) => Promise<void>) | undefined
  /** The hotkey and profile the state file records. */
  readonly validatorHotkey: string
  readonly profileId: string
}

type CommitContext = ValidatorContext & { readonly persistence: ValidatorPersistence }

const STAGED_ARCHIVE = 'archive.json.gz'
const STAGED_CHECKPOINT = 'checkpoint'
const STAGED_RUNNER_UPS = 'runner-up-hashes.json'

/**
 * Steps 5-6 of a validator with a state directory (publish, archive), made crash-safe: the
 * window's outcome is staged and committed before anything leaves the process.
 *
 * 1. Stage in `pending/w<n>`: the archive bytes, the runner-up hashes where the profile needs
 *    them (`runnerUpHashesNeeded`) and, when the cadence publishes, the checkpoint directory; save the trainer state of a trained window to `trainer/w<n>`; flush everything.
 * 2. Commit: the state file names window `n`, its trainer state, the checkpoint (with the
 *    windows trained since its parent) and the pending archive and checkpoint. This atomic rename
 *    is the point after which the window counts; a crash before it re-runs window `n` on restart.
 * 3. Apply ({@link applyPendingWindow}): move the archive and the checkpoint in place (never over
 *    other content), publish (an interrupted publish is retried on restart; the Hub finds its
 *    own landed commit), commit again without `pending`.
 *
 * - Spec: docs/protocol.md §5.1 ("Restarts"), §9, §3.7.
 *
 * @param state - Updated: `checkpoint` (after a publish).
 * @param ctx - The validator context with its persistence.
 * @param batcher - The sealed window.
 * @param p - The window, whether it trained, and when the phase changes (unix seconds).
 * @returns The published checkpoint (or null) and the archive's path.
 * @throws {ReliquaryError} `STATE_CONFLICT` when an archive or checkpoint of another content is in
 *   the way; a file-system error (the window is then not committed).
 */
export async function commitWindow(
  state: ValidatorState,
  ctx: CommitContext,
  batcher: WindowBatcher,
  p: { windowN: number; trained: boolean; atSeconds: number },
): Promise<{ published: PublishedCheckpoint | null; archivePath: string }> {
  const { store } = ctx.persistence
  const { windowN } = p
  ctx.machine.startPublishing(p.atSeconds)
  const due = publishDue(state, ctx, p)
  const stage = store.pendingDir(windowN)
  await rm(stage, { recursive: true, force: true })
  await mkdir(stage, { recursive: true })
  await writeFileAtomic(join(stage, STAGED_ARCHIVE), await encodeArchiveOf(batcher, ctx))
  if (runnerUpHashesNeeded(ctx.profile))
    await writeFileAtomic(join(stage, STAGED_RUNNER_UPS), encodeRunnerUpHashes(batcher))
  if (due) await ctx.persistence.saveCheckpoint(state, join(stage, STAGED_CHECKPOINT))
  let trainerDir = store.current?.trainerDir ?? null
  if (p.trained) {
    trainerDir = store.trainerRel(windowN)
    const dir = store.trainerPath(trainerDir)
    await rm(dir, { recursive: true, force: true })
    const save = ctx.persistence.saveTrainer ?? ((s, d) => s.models.trainer.save(d))
    await save(state, dir)
    await syncTree(dir)
  }
  const pending: PendingWindow = { windowN, checkpointN: due ? state.checkpoint.n + 1 : null }
  await store.commit({
    format: 'reliquary.validator.state',
    version: 1,
    validatorHotkey: ctx.persistence.validatorHotkey,
    profileId: ctx.persistence.profileId,
    windowN,
    trainerDir,
    checkpoint: storedCheckpoint(state.checkpoint),
    pending,
  })
  return applyPendingWindow(state, ctx, pending)
}

/**
 * Finishes a committed window: moves its staged archive and checkpoint in place, publishes the
 * checkpoint, and commits the state without `pending`; run after {@link commitWindow}'s commit
 * and again on restart when the state file still names a pending window. Every step is
 * idempotent. A checkpoint whose publish fails is reported (`publish_failed`) and removed, since
 * it was never served.
 *
 * @param state - Updated: `checkpoint`.
 * @param ctx - The validator context with its persistence.
 * @param pending - The committed window.
 * @returns The published checkpoint (or null) and the archive's path.
 * @throws {ReliquaryError} `STATE_INVALID` when the committed archive is neither staged nor in
 *   place; `STATE_CONFLICT` as {@link commitWindow}.
 */
export async function applyPendingWindow(
  state: ValidatorState,
  ctx: CommitContext,
  pending: PendingWindow,
): Promise<{ published: PublishedCheckpoint | null; archivePath: string }> {
  const { store } = ctx.persistence
  const { windowN } = pending
  const stage = store.pendingDir(windowN)
  const archivePath = store.archivePath(windowN)
  const staged = join(stage, STAGED_ARCHIVE)
  if (await exists(staged)) {
    const bytes = await readFile(staged)
    await writeFileOnce(archivePath, bytes, 'Archive')
    ctx.emit({ type: 'archived', windowN, path: archivePath, bytes: bytes.length })
  } else if (!(await exists(archivePath)))
    throw new ReliquaryError(
      'STATE_INVALID',
      `The committed archive of window ${windowN} is missing.`,
      {
        hints: ['Restore the state directory from a backup, or start with a fresh --state-dir.'],
        meta: { windowN, path: archivePath },
      },
    )
  const runnerUps = join(stage, STAGED_RUNNER_UPS)
  if (await exists(runnerUps))
    await writeFileOnce(
      store.runnerUpHashesPath(windowN),
      await readFile(runnerUps),
      'Runner-up hash record',
    )
  let published: PublishedCheckpoint | null = null
  if (pending.checkpointN !== null && pending.checkpointN === state.checkpoint.n + 1) {
    const dir = store.checkpointPath(pending.checkpointN)
    const stagedCheckpoint = join(stage, STAGED_CHECKPOINT)
    if (await exists(stagedCheckpoint)) await moveDirOnce(stagedCheckpoint, dir, 'Checkpoint')
    published = await publishNow(state, ctx, { windowN, dir })
    if (published === null) await rm(dir, { recursive: true, force: true })
  }
  const current = store.current as StoredValidatorState
  await store.commit({ ...current, checkpoint: storedCheckpoint(state.checkpoint), pending: null })
  await rm(stage, { recursive: true, force: true })
  await store.cleanUncommitted()
  return { published, archivePath }
}
