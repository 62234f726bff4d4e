// The steps of `downloadCheckpoint`, in its order: reference manifest, claimed custody manifest,
// commit title, custody chain, file list, staged and verified snapshot.
import { downloadFile, listCommits, listFiles } from '@huggingface/hub'
import { ReliquaryError, invalidArgument, isReliquaryError } from '../errors/base.js'
import type { VerifiedCheckpointManifest } from '../manifest/checkpointManifest.js'
import {
  parseCustodyManifest,
  type CustodyFileEntry,
  type CustodyManifest,
  type VerifiedCustodyManifest,
} from '../manifest/custodyManifest.js'
import { filesMismatchError, verifySnapshotFiles } from '../manifest/snapshotFiles.js'
import { verifyChain, type VerifyChainReturnType } from '../manifest/verifyChain.js'
import { verifyManifest } from '../manifest/verifyManifest.js'
import { checkpointCommitTitle } from './checkpointCommitTitle.js'
import { CUSTODY_MANIFEST_PATH, HUB_DEFAULTS, HUB_RESERVED_PATHS } from './constants.js'
import { createHubParentResolver } from './createHubParentResolver.js'
import {
  assertOnProgress,
  createProgressTracker,
  type ProgressTracker,
} from './transferProgress.js'
import type { DownloadCheckpointParameters } from './downloadCheckpoint.js'
import {
  assertAccessToken,
  assertFetch,
  assertRepoId,
  assertSignal,
  credentials,
  hubStatus,
  hubStep,
  readCustodyBytes,
  type HubContext,
} from './_hubClient.js'

/** A refusal of the reference manifest. @internal */
export const refuseReference = (
  reason: string,
  message: string,
  meta: Record<string, unknown> = {},
) =>
  new ReliquaryError('HUB_REFERENCE_MANIFEST_INVALID', message, {
    hints: ['Do not load this checkpoint; fetch /checkpoint again from a validator you trust.'],
    meta: { reason, ...meta },
  })

/** A refusal of the custody chain. @internal */
export const refuseCustody = (
  field: string,
  message: string,
  meta: Record<string, unknown> = {},
  details?: string,
) =>
  new ReliquaryError('HUB_CUSTODY_INVALID', message, {
    hints: [
      'Do not load this checkpoint: its chain of custody does not lead back to the expected base model under a trusted key.',
    ],
    details,
    meta: { field, ...meta },
  })

/** The files of a snapshot differ from its manifest. @internal */
export function filesMismatch(
  where: string,
  missing: string[],
  extra: string[],
  mismatched: string[],
): ReliquaryError {
  return filesMismatchError({ subject: `The snapshot ${where}`, missing, extra, mismatched }, [
    'Do not load this snapshot: it is not the checkpoint the validator signed.',
  ])
}

/** The commit title at `revision`, or null when the Hub does not offer the commit list. */
async function commitTitleAt(
  ctx: HubContext,
  revision: string,
): Promise<{ oid: string; title: string } | null> {
  const it = listCommits({
    repo: { type: 'model', name: ctx.repoId },
    revision,
    hubUrl: ctx.hubUrl,
    fetch: ctx.fetch,
    batchSize: 1,
    ...credentials(ctx),
  })
  try {
    const first = await it.next()
    return first.done ? null : { oid: first.value.oid, title: first.value.title }
  } catch (e) {
    const status = hubStatus(e)
    if (status === 404 || status === 405 || status === 501) return null
    throw e
  } finally {
    await it.return(undefined)
  }
}

/** Streams one listed file into `root`, refusing more bytes than the manifest lists. */
async function fetchFile(
  ctx: HubContext,
  revision: string,
  entry: CustodyFileEntry,
  root: string,
  progress: ProgressTracker,
): Promise<void> {
  const { createWriteStream } = await import('node:fs')
  const { mkdir } = await import('node:fs/promises')
  const { dirname, join } = await import('node:path')
  const { Readable } = await import('node:stream')
  const { pipeline } = await import('node:stream/promises')
  const dest = join(root, ...entry.path.split('/'))
  await mkdir(dirname(dest), { recursive: true })
  const blob = await downloadFile({
    repo: { type: 'model', name: ctx.repoId },
    path: entry.path,
    revision,
    hubUrl: ctx.hubUrl,
    fetch: ctx.fetch,
    ...credentials(ctx),
  })
  if (blob === null) throw filesMismatch('on the Hub', [entry.path], [], [])
  if (blob.size !== entry.size) throw filesMismatch('on the Hub', [], [], [entry.path])
  let received = 0
  await pipeline(
    Readable.fromWeb(
      blob.stream() as unknown as import('node:stream/web').ReadableStream<Uint8Array>,
    ),
    async function* cap(source: AsyncIterable<Uint8Array>) {
      for await (const chunk of source) {
        received += chunk.length
        // A hostile server could stream without end: stop at the listed size.
        if (received > entry.size) throw filesMismatch('on the Hub', [], [], [entry.path])
        progress.add(entry.path, chunk.length)
        yield chunk
      }
    },
    createWriteStream(dest, { flags: 'wx' }),
  )
  progress.set(entry.path, received, true)
}

async function sameBytes(path: string, bytes: Uint8Array): Promise<boolean> {
  const { readFile } = await import('node:fs/promises')
  const local = await readFile(path).catch(() => null)
  return local?.equals(bytes) ?? false
}

/**
 * Checks {@link DownloadCheckpointParameters} before anything runs; returns the custody
 * manifest size bound.
 * @internal
 */
export function checkDownloadParameters(p: DownloadCheckpointParameters): number {
  if (typeof p !== 'object' || p === null) throw invalidArgument('parameters', 'an object', p)
  assertRepoId(p.repoId)
  if (typeof p.revision !== 'string' || !/^[0-9a-f]{40}$/.test(p.revision)) {
    throw invalidArgument('revision', 'a pinned 40-hex commit id', p.revision, [
      'Use the revision of a signed reference manifest, never a branch name.',
    ])
  }
  if (typeof p.cacheDir !== 'string' || p.cacheDir.length === 0)
    throw invalidArgument('cacheDir', 'a directory path', p.cacheDir)
  if (typeof p.expected !== 'object' || p.expected === null)
    throw invalidArgument('expected', 'an object', p.expected)
  if (p.accessToken !== undefined) assertAccessToken(p.accessToken)
  assertFetch(p.fetch)
  assertSignal(p.signal)
  assertOnProgress(p.onProgress)
  const x = p.expected
  if (
    x.minCheckpointN !== undefined &&
    (!Number.isSafeInteger(x.minCheckpointN) || x.minCheckpointN < 0)
  )
    throw invalidArgument('expected.minCheckpointN', 'a non-negative integer', x.minCheckpointN)
  if (x.requireCommitTitle !== undefined && typeof x.requireCommitTitle !== 'boolean')
    throw invalidArgument('expected.requireCommitTitle', 'a boolean', x.requireCommitTitle)
  if (x.resolveParent !== undefined && typeof x.resolveParent !== 'function')
    throw invalidArgument('expected.resolveParent', 'a function', x.resolveParent)
  const maxBytes = p.maxCustodyManifestBytes ?? HUB_DEFAULTS.maxCustodyManifestBytes
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1)
    throw invalidArgument('maxCustodyManifestBytes', 'a positive integer', maxBytes)
  return maxBytes
}

/**
 * Step 1: the reference manifest (when given) verifies under the validator hotkey, names this
 * repo and exactly this revision, and is not below `minCheckpointN`.
 * @internal
 */
export async function verifyReference(
  p: DownloadCheckpointParameters,
): Promise<VerifiedCheckpointManifest | null> {
  const x = p.expected
  if (x.referenceManifest === undefined) return null
  const v = await verifyManifest(x.referenceManifest, x.validatorHotkey, {
    expectedRepoId: p.repoId,
    ...(x.minCheckpointN !== undefined ? { minCheckpointN: x.minCheckpointN } : {}),
  })
  if (!v.valid) throw refuseReference(v.reason, `The reference manifest is refused: ${v.message}`)
  if (v.manifest.revision !== p.revision) {
    throw refuseReference(
      'revision_mismatch',
      `The reference manifest names revision ${v.manifest.revision}, not the requested ${p.revision}.`,
    )
  }
  return v.manifest
}

/**
 * Step 2: the file list at the pinned revision (which proves the revision exists) and the
 * custody manifest it must hold, parsed but not yet trusted.
 * @internal
 */
export async function readClaimedCustody(
  ctx: HubContext,
  p: DownloadCheckpointParameters,
  maxBytes: number,
): Promise<{ tree: Map<string, number>; custodyBytes: Uint8Array; claimed: CustodyManifest }> {
  const { revision, signal } = p
  const tree = new Map<string, number>()
  await hubStep('listing the snapshot files', signal, async () => {
    for await (const e of listFiles({
      repo: { type: 'model', name: p.repoId },
      revision,
      recursive: true,
      hubUrl: ctx.hubUrl,
      fetch: ctx.fetch,
      ...credentials(ctx),
    })) {
      if (e.type === 'file') tree.set(e.path, e.size)
    }
  })
  const missing = () =>
    refuseCustody('missing', `${p.repoId}@${revision} has no ${CUSTODY_MANIFEST_PATH}.`)
  if (!tree.has(CUSTODY_MANIFEST_PATH)) throw missing()
  const custodyBytes = await hubStep('reading the custody manifest', signal, () =>
    readCustodyBytes(ctx, revision, maxBytes),
  )
  if (custodyBytes === null) throw missing()
  try {
    return { tree, custodyBytes, claimed: parseCustodyManifest(custodyBytes) }
  } catch (e) {
    throw refuseCustody(
      'schema',
      `${CUSTODY_MANIFEST_PATH} is not a valid custody manifest.`,
      {},
      isReliquaryError(e) ? (e.details ?? e.shortMessage) : String(e),
    )
  }
}

/**
 * Step 3: the Hub commit at the revision is titled `checkpoint {n}`. Returns whether the title
 * was checked (false only when the Hub does not serve the commit list and it is not required).
 * @internal
 */
export async function checkCommitTitle(
  ctx: HubContext,
  p: DownloadCheckpointParameters,
  n: number,
): Promise<boolean> {
  const { revision } = p
  const commitInfo = await hubStep('reading the commit title', p.signal, () =>
    commitTitleAt(ctx, revision),
  )
  if (commitInfo === null && p.expected.requireCommitTitle === true) {
    throw new ReliquaryError(
      'HUB_COMMIT_TITLE_MISMATCH',
      `The Hub does not serve the commit list of ${p.repoId}, and expected.requireCommitTitle is set.`,
      { meta: { revision } },
    )
  }
  if (
    commitInfo !== null &&
    (commitInfo.oid !== revision || commitInfo.title !== checkpointCommitTitle(n))
  ) {
    throw new ReliquaryError(
      'HUB_COMMIT_TITLE_MISMATCH',
      `The commit ${commitInfo.oid} is titled ${JSON.stringify(commitInfo.title)}, expected "${checkpointCommitTitle(n)}" at ${revision}.`,
      {
        hints: [
          'The validator publishes each checkpoint in a commit titled "checkpoint {n}"; anything else is not a published checkpoint.',
        ],
        meta: { revision, oid: commitInfo.oid, title: commitInfo.title, checkpointN: n },
      },
    )
  }
  return commitInfo !== null
}

/** Step 4: the chain of custody verifies back to the base model (`verifyChain`). @internal */
export async function verifyCustodyChain(
  ctx: HubContext,
  p: DownloadCheckpointParameters,
  custodyBytes: Uint8Array,
  maxBytes: number,
): Promise<Extract<VerifyChainReturnType, { valid: true }>> {
  const x = p.expected
  const { signal } = p
  const chain = await verifyChain(custodyBytes, {
    resolveParent:
      x.resolveParent ??
      createHubParentResolver({
        repoId: p.repoId,
        revision: p.revision,
        hubUrl: ctx.hubUrl,
        fetch: ctx.fetch,
        maxCustodyManifestBytes: maxBytes,
        ...credentials(ctx),
      }),
    expectedBase: x.baseModel,
    trustedSigners: x.trustedSigners ?? [x.validatorHotkey],
    ...(x.profileId !== undefined ? { expectedProfileId: x.profileId } : {}),
    ...(x.maxChainLength !== undefined ? { maxLength: x.maxChainLength } : {}),
  }).catch((e: unknown) => {
    throw signal?.aborted ? signal.reason : e
  })
  if (!chain.valid) {
    throw refuseCustody(
      chain.field,
      `Custody link ${chain.index} (0 = this checkpoint) is broken at "${chain.field}": ${chain.reason}`,
      { index: chain.index, digest: chain.digest },
    )
  }
  return chain
}

/**
 * Step 5: the Hub's file list equals the manifest's (no missing, extra or resized file; only
 * the Hub's reserved paths are exempt).
 * @internal
 */
export function checkHubFileList(
  tree: ReadonlyMap<string, number>,
  head: CustodyManifest,
  where: string,
): void {
  const listed = new Map(head.files.map((f) => [f.path, f.size]))
  const onHub = [...tree].filter(([path]) => !HUB_RESERVED_PATHS.includes(path))
  const missing = head.files.filter((f) => !tree.has(f.path)).map((f) => f.path)
  const extra = onHub.filter(([path]) => !listed.has(path)).map(([path]) => path)
  const resized = onHub
    .filter(([path, size]) => listed.has(path) && listed.get(path) !== size)
    .map(([path]) => path)
  if (missing.length || extra.length || resized.length)
    throw filesMismatch(where, missing, extra, resized)
}

/**
 * Steps 6-7: the whole snapshot is streamed into a staging directory (each file capped at its
 * listed size), every digest is checked, and only then is it renamed to
 * `{cacheDir}/{namespace}/{name}/{revision}`. A finished directory already there is verified
 * again rather than trusted, and replaced when it no longer matches.
 * @internal
 */
export async function stageSnapshot(
  ctx: HubContext,
  p: DownloadCheckpointParameters,
  head: VerifiedCustodyManifest,
  custodyBytes: Uint8Array,
): Promise<{ dir: string; checked: { files: number; bytes: number }; cached: boolean }> {
  const { mkdir, mkdtemp, rename, rm, stat, writeFile } = await import('node:fs/promises')
  const { join, resolve } = await import('node:path')
  const { revision, signal } = p
  const [namespace, name] = p.repoId.split('/') as [string, string]
  const parent = join(resolve(p.cacheDir), namespace, name)
  const dir = join(parent, revision)
  const ignore = [CUSTODY_MANIFEST_PATH]
  /** Verifies a finished directory; null (after deleting it) when it no longer matches. */
  const reuse = async (): Promise<{ files: number; bytes: number } | null> => {
    try {
      if (!(await sameBytes(join(dir, CUSTODY_MANIFEST_PATH), custodyBytes)))
        throw filesMismatch('in the cache', [], [], [CUSTODY_MANIFEST_PATH])
      return await verifySnapshotFiles(head, dir, { ignore })
    } catch (e) {
      if (!isReliquaryError(e, 'MANIFEST_FILES_MISMATCH')) throw e
      await rm(dir, { recursive: true, force: true })
      return null
    }
  }
  const total = head.files.reduce((a, f) => a + f.size, 0)
  const progress = createProgressTracker('download', total, p.onProgress)
  if ((await stat(dir).catch(() => null))?.isDirectory()) {
    const checked = await reuse()
    if (checked) {
      progress.done()
      return { dir, checked, cached: true }
    }
  }
  await mkdir(parent, { recursive: true })
  const staging = await mkdtemp(join(parent, `.staging-${revision}-`))
  try {
    await writeFile(join(staging, CUSTODY_MANIFEST_PATH), custodyBytes, { flag: 'wx' })
    for (const entry of head.files) {
      signal?.throwIfAborted()
      await hubStep(`downloading ${entry.path}`, signal, () =>
        fetchFile(ctx, revision, entry, staging, progress),
      )
    }
    const checked = await verifySnapshotFiles(head, staging, { ignore })
    try {
      await rename(staging, dir)
    } catch (e) {
      // Another process finished the same revision first: use its directory once it verifies.
      const code = (e as { code?: string }).code
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e
      const theirs = await reuse()
      if (!theirs) throw e
      progress.done()
      return { dir, checked: theirs, cached: true }
    }
    progress.done()
    return { dir, checked, cached: false }
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}
