import { readdir, readFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { ReliquaryError } from '../errors/base.js'
import { decodeWindowArchive } from '../window/archive/decodeWindowArchive.js'
import type { WindowArchive } from '../window/archive/windowArchive.js'
import { replayEma } from '../window/scoring/replayEma.js'
import { reloadVerifyModel } from './hubPublisher.js'
import { applyPendingWindow, type ValidatorPersistence } from './steps/commitWindow.js'
import { readRunnerUpHashes, runnerUpHashesNeeded } from './steps/runnerUpHashes.js'
import type { ValidatorContext } from './validatorContext.js'
import type { ValidatorState } from './validatorState.js'

/** How far back archives are read at start (E3's `COOLDOWN_REBUILD_LOOKBACK`, docs/protocol.md §5.5). */
export const RESUME_ARCHIVE_LOOKBACK = 10_000

const ARCHIVE_NAME = /^window-(0|[1-9][0-9]*)\.json\.gz$/

/** What {@link resumeValidator} restored. */
export type ResumedState = {
  /** The last committed window (the next one opens `windowN + 1`). */
  readonly windowN: number
  readonly checkpointN: number
  /** Whether the trainer (policy, optimizer, schedule) was restored; otherwise it is the base model. */
  readonly trainerRestored: boolean
  /** Archives replayed into the EMA, cooldown and hash dedup. */
  readonly archives: number
  /** Whether a state file was found (otherwise only the archives were read). */
  readonly fromStateFile: boolean
}

/** The window numbers of the archives in the archive directory, ascending. */
async function archiveWindows(persistence: ValidatorPersistence): Promise<number[]> {
  const dir = dirname(persistence.store.archivePath(0))
  const names = await readdir(dir).catch((e: { code?: string }) => {
    if (e.code === 'ENOENT') return [] as string[]
    throw e
  })
  return names
    .map((n) => ARCHIVE_NAME.exec(n)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number)
    .filter(Number.isSafeInteger)
    .sort((a, b) => a - b)
}

/**
 * Adds the runner-up hashes of the archived windows the dedup still keeps (their records exist
 * only where the profile needs them, see `runnerUpHashesNeeded`), so the rebuilt dedup equals
 * the live one of an uninterrupted run.
 */
async function addRunnerUpHashes(
  state: ValidatorState,
  ctx: ValidatorContext & { readonly persistence: ValidatorPersistence },
  archives: readonly WindowArchive[],
): Promise<void> {
  if (!runnerUpHashesNeeded(ctx.profile)) return
  const horizon = state.windowN - ctx.profile.window.hashDedupRetentionWindows
  for (const { window_start: w } of archives) {
    if (w <= horizon) continue
    const hashes = await readRunnerUpHashes(ctx.persistence.store.runnerUpHashesPath(w), w)
    for (const h of hashes ?? []) state.hashDedup.add(h, w)
  }
}

/**
 * Restores a validator from its state directory before its first window: the committed window
 * number, checkpoint (the verify model reloaded from `ckpt_<n>`) and trainer state (policy,
 * AdamW moments, schedule position); a window committed but not finished is finished (archive and
 * checkpoint moved in place, publish retried); then the cooldown, the hash dedup and the EMA are
 * rebuilt from the archives of the last {@link RESUME_ARCHIVE_LOOKBACK} windows, as the reference
 * does at start (docs/protocol.md §5.1, §5.5, §8), the dedup with the runner-up hashes a profile
 * with a cooldown shorter than the dedup retention keeps beside the archives. Without a state file (archives of an older
 * validator) the window number is the highest archive's, as in the reference, and the policy
 * starts from the base model.
 *
 * @internal
 * @throws {ReliquaryError} `STATE_INVALID` for a malformed state file, or one written by another
 *   hotkey or profile; `GRPO_STATE_INVALID` for a broken trainer state; archive decoding errors.
 */
export async function resumeValidator(
  state: ValidatorState,
  ctx: ValidatorContext & { readonly persistence: ValidatorPersistence },
): Promise<ResumedState> {
  const { store } = ctx.persistence
  const stored = await store.read()
  let trainerRestored = false
  if (stored) {
    for (const [field, want] of [
      ['validatorHotkey', ctx.persistence.validatorHotkey],
      ['profileId', ctx.persistence.profileId],
    ] as const) {
      if (stored[field] !== want)
        throw new ReliquaryError(
          'STATE_INVALID',
          `The state directory ${store.stateDir} was written with ${field} ${stored[field]}, not ${want}.`,
          {
            hints: ['Start with the hotkey and profile that wrote it, or a fresh --state-dir.'],
            meta: { field, stored: stored[field], given: want },
          },
        )
    }
    state.windowN = Math.max(state.windowN, stored.windowN)
    state.checkpoint = {
      n: stored.checkpoint.n,
      manifest: stored.checkpoint.manifest,
      custody: stored.checkpoint.custody,
      trainedSinceParent: stored.checkpoint.trainedSinceParent.map((w) => ({ ...w })),
    }
    if (stored.trainerDir !== null) {
      await state.models.trainer.restore(store.trainerPath(stored.trainerDir))
      trainerRestored = true
    }
    if (state.checkpoint.n > 0)
      await reloadVerifyModel(state.models.verifyModel, store.checkpointPath(state.checkpoint.n))
  }
  await store.cleanUncommitted()
  if (stored?.pending) await applyPendingWindow(state, ctx, stored.pending)
  const windows = await archiveWindows(ctx.persistence)
  if (!stored && windows.length > 0) state.windowN = Math.max(state.windowN, windows.at(-1)!)
  const archives: WindowArchive[] = []
  for (const w of windows) {
    if (w > state.windowN || w <= state.windowN - RESUME_ARCHIVE_LOOKBACK) continue
    archives.push(await decodeWindowArchive(await readFile(store.archivePath(w))))
  }
  // Rebuilt as the live state stands after sealing window `windowN` (hash dedup pruned there).
  state.cooldown.rebuildFromArchives(archives, state.windowN)
  state.hashDedup.rebuildFromArchives(archives, state.windowN)
  await addRunnerUpHashes(state, ctx, archives)
  state.ema = replayEma(archives, { profile: ctx.profile })
  return {
    windowN: state.windowN,
    checkpointN: state.checkpoint.n,
    trainerRestored,
    archives: archives.length,
    fromStateFile: stored !== null,
  }
}
