import { ReliquaryError, invalidArgument, isReliquaryError } from '../errors/base.js'
import { downloadCheckpoint, type DownloadCheckpointReturnType } from '../hub/downloadCheckpoint.js'
import { loadModel } from '../model/loadModel.js'
import { loadTokenizer } from '../model/loadTokenizer.js'
import {
  parseCheckpoint,
  type CheckpointManifestWire as CheckpointManifest,
  type WindowState,
} from '../protocol/schemas.js'
import { loadBootstrapModel } from './loadBootstrapModel.js'
import type { MinerContext } from './minerContext.js'
import type { MinerHubOptions } from './types.js'

/**
 * Step 1 of a miner's window: brings the model onto the checkpoint `/state` announces. Nothing
 * happens while the validator announces the model already loaded. Otherwise the reference
 * manifest is read from `/checkpoint`, checked against `/state`, and the snapshot is downloaded
 * and verified by `downloadCheckpoint` (manifest signature, commit title, custody chain, every
 * file digest) before the loader sees it; only then is the old model disposed.
 *
 * - Spec: docs/protocol.md §3.3, §3.4 (`/checkpoint`), §9 (checkpoint verification).
 * @internal
 * @returns Whether a checkpoint was downloaded and loaded.
 * An announcement that goes back (a validator restarted without its state) is followed, as a
 * restarted miner would: checkpoint 0 reloads the bootstrap model, a lower checkpoint is
 * downloaded and verified like any other (logged as `checkpoint_went_back`).
 * @throws {ReliquaryError} `HUB_REFERENCE_MANIFEST_INVALID` when the announcement has no
 *   manifest or disagrees with `/checkpoint`; `INVALID_ARGUMENT` when a checkpoint is
 *   announced and the miner has no `hub`; the download's verification error otherwise.
 */
export async function syncCheckpoint(
  ctx: MinerContext,
  s: WindowState,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  const current = ctx.state.checkpoint
  const n = s.checkpoint_n
  if (n < current.n) {
    // The validator went back (it restarted without its state, or from a backup). A restarted
    // miner would follow it; so does this one, instead of refusing every window from now on.
    ctx.log(
      'warn',
      'checkpoint_went_back',
      `the validator announces checkpoint ${n} after checkpoint ${current.n}: following it`,
      { checkpointN: n, previousN: current.n },
    )
    if (n === 0) {
      await reloadBootstrap(ctx)
      return true
    }
  } else if (n === 0) return false
  if (
    n === current.n &&
    (s.checkpoint_revision === null || s.checkpoint_revision === current.revision)
  )
    return false
  const hub = ctx.config.hub
  if (!hub) {
    throw invalidArgument(
      'hub',
      '{ cacheDir, baseModel } to download announced checkpoints',
      undefined,
      [
        `The validator announces checkpoint ${n}; the miner never mines with weights it has not verified.`,
      ],
    )
  }
  ctx.log(
    'info',
    'checkpoint_announced',
    `checkpoint ${n} announced (revision ${s.checkpoint_revision ?? '?'})`,
    {
      checkpointN: n,
      revision: s.checkpoint_revision,
    },
  )
  const manifest = await fetchAnnouncedManifest(ctx, s, signal)
  const dl = await downloadAnnounced(ctx, hub, manifest, signal)
  await loadVerified(ctx, dl)
  return true
}

/** Back to the bootstrap model (checkpoint 0): the current model is freed and `modelDir` reloaded. */
async function reloadBootstrap(ctx: MinerContext): Promise<void> {
  const { state, config } = ctx
  state.model?.dispose()
  state.model = null
  state.loading = null
  await loadBootstrapModel(ctx)
  state.checkpoint = { n: 0, revision: '', dir: config.modelDir }
}

function refuse(
  reason: string,
  message: string,
  meta: Record<string, unknown> = {},
): ReliquaryError {
  return new ReliquaryError('HUB_REFERENCE_MANIFEST_INVALID', message, {
    hints: ['Nothing was generated with this checkpoint; the next runWindow tries again.'],
    meta: { reason, ...meta },
  })
}

/** `/checkpoint`, which must name the checkpoint, revision and repo `/state` announces. */
async function fetchAnnouncedManifest(
  ctx: MinerContext,
  s: WindowState,
  signal: AbortSignal | undefined,
): Promise<CheckpointManifest> {
  const n = s.checkpoint_n
  const res = await ctx.http.request('GET', '/checkpoint', undefined, signal)
  if (res.status !== 200)
    throw refuse(
      'no_manifest',
      `/state announces checkpoint ${n} but GET /checkpoint answered ${res.status}.`,
      {
        status: res.status,
      },
    )
  const manifest = parseCheckpoint(res.text)
  if (
    manifest.checkpoint_n !== n ||
    (s.checkpoint_revision !== null && manifest.revision !== s.checkpoint_revision)
  ) {
    throw refuse(
      'state_mismatch',
      `/checkpoint names checkpoint ${manifest.checkpoint_n}@${manifest.revision}, /state ${n}@${s.checkpoint_revision}.`,
    )
  }
  if (s.checkpoint_repo_id !== null && manifest.repo_id !== s.checkpoint_repo_id)
    throw refuse(
      'state_mismatch',
      `/checkpoint names repo ${manifest.repo_id}, /state ${s.checkpoint_repo_id}.`,
    )
  return manifest
}

function downloadAnnounced(
  ctx: MinerContext,
  hub: MinerHubOptions,
  manifest: CheckpointManifest,
  signal: AbortSignal | undefined,
): Promise<DownloadCheckpointReturnType> {
  const current = ctx.state.checkpoint
  return downloadCheckpoint({
    repoId: manifest.repo_id,
    revision: manifest.revision,
    cacheDir: hub.cacheDir,
    ...(hub.hubUrl !== undefined ? { hubUrl: hub.hubUrl } : {}),
    ...(hub.accessToken !== undefined ? { accessToken: hub.accessToken } : {}),
    ...(ctx.config.fetch ? { fetch: ctx.config.fetch } : {}),
    ...(signal ? { signal } : {}),
    ...(hub.onProgress !== undefined ? { onProgress: hub.onProgress } : {}),
    expected: {
      validatorHotkey: ctx.config.validatorHotkey,
      referenceManifest: manifest,
      baseModel: hub.baseModel,
      ...(hub.profileId !== undefined ? { profileId: hub.profileId } : {}),
      ...(current.n > 0 && manifest.checkpoint_n >= current.n ? { minCheckpointN: current.n } : {}),
      ...(hub.requireCommitTitle !== undefined
        ? { requireCommitTitle: hub.requireCommitTitle }
        : {}),
    },
  })
}

/** Loads a verified snapshot (only a verified directory reaches the loader), then swaps it in. */
async function loadVerified(ctx: MinerContext, dl: DownloadCheckpointReturnType): Promise<void> {
  const { state } = ctx
  const next = await loadModel(dl.dir)
  let nextTokenizer = state.tokenizer
  try {
    nextTokenizer = await loadTokenizer(dl.dir)
  } catch (e) {
    if (!isReliquaryError(e, 'MODEL_FILE_MISSING')) {
      next.dispose()
      throw e
    }
  }
  state.model?.dispose()
  state.model = next
  state.tokenizer = nextTokenizer
  state.checkpoint = { n: dl.checkpointN, revision: dl.revision, dir: dl.dir }
  ctx.log(
    'info',
    'checkpoint_loaded',
    `checkpoint ${dl.checkpointN} verified (${dl.files} files, chain of ${dl.chain.length}) and loaded`,
    { checkpointN: dl.checkpointN, revision: dl.revision, dir: dl.dir, cached: dl.cached },
  )
}
