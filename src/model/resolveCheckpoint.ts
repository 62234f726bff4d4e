import { existsSync, statSync } from 'node:fs'
import { snapshotDownload } from '@huggingface/hub'
import { ReliquaryError } from '../errors/base.js'

/** Options of {@link resolveCheckpoint}. */
export type ResolveCheckpointOptions = {
  /** Hub endpoint. @default "https://huggingface.co" */
  hubUrl?: string | undefined
  /** Access token (`hf_…`) for private repos. */
  accessToken?: string | undefined
  /** Custom fetch (proxies, tests). */
  fetch?: typeof fetch | undefined
  /** Cache directory. @default the standard Hugging Face cache (`HF_HOME` / `~/.cache/huggingface/hub`) */
  cacheDir?: string | undefined
}

/**
 * Turns a checkpoint reference into a local directory for {@link loadModel}: an existing directory
 * is returned as is; `owner/name@revision` downloads the whole snapshot at that pinned revision
 * (every file, so sharded weights come along) into the standard Hugging Face cache layout with
 * `@huggingface/hub`, and returns the snapshot directory. The revision is required: an unpinned
 * checkpoint is not reproducible.
 *
 * This does not verify a manifest; miners following a validator should use `downloadCheckpoint`
 * from `reliquary/hub`, which refuses any file not covered by a verified custody manifest.
 *
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a reference that is neither; `MODEL_FILE_MISSING`
 *   when the download fails.
 */
export async function resolveCheckpoint(
  ref: string,
  options: ResolveCheckpointOptions = {},
): Promise<string> {
  if (typeof ref !== 'string' || ref.length === 0 || ref.length > 512)
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      '"ref" must be a directory or "owner/name@revision".',
    )
  if (existsSync(ref) && statSync(ref).isDirectory()) return ref
  const m = /^([\w.-]+\/[\w.-]+)@([\w./-]+)$/.exec(ref)
  if (!m) {
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      `"${ref.slice(0, 80)}" is neither an existing directory nor "owner/name@revision".`,
      {
        hints: ['Pin a revision (a commit hash) so every participant loads the same weights.'],
      },
    )
  }
  try {
    return await snapshotDownload({
      repo: { type: 'model', name: m[1]! },
      revision: m[2]!,
      ...(options.hubUrl ? { hubUrl: options.hubUrl } : {}),
      ...(options.accessToken ? { accessToken: options.accessToken } : {}),
      ...(options.fetch ? { fetch: options.fetch } : {}),
      ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
    })
  } catch (e) {
    throw new ReliquaryError('MODEL_FILE_MISSING', `Could not download ${m[1]}@${m[2]}.`, {
      cause: e,
      hints: ['Check the repo id, the revision and the network or hubUrl.'],
    })
  }
}
