import {
  commitIter,
  createRepo,
  listCommits,
  repoExists,
  type CommitOperation,
} from '@huggingface/hub'
import { ReliquaryError, invalidArgument } from '../errors/base.js'
import type { Hotkey } from '../crypto/sr25519.js'
import type { CheckpointManifest } from '../manifest/checkpointManifest.js'
import {
  custodyManifestSigningBytes,
  parseCustodyManifest,
  type CustodyManifest,
} from '../manifest/custodyManifest.js'
import {
  signCustodyManifest,
  type SignCustodyManifestParameters,
} from '../manifest/signCustodyManifest.js'
import { signManifest } from '../manifest/signManifest.js'
import { SNAPSHOT_DEFAULT_IGNORE, hashSnapshotFiles } from '../manifest/snapshotFiles.js'
import { checkpointCommitTitle } from './checkpointCommitTitle.js'
import { CUSTODY_MANIFEST_PATH, HUB_DEFAULTS, HUB_RESERVED_PATHS } from './constants.js'
import {
  assertOnProgress,
  createProgressTracker,
  type OnTransferProgress,
  type ProgressTracker,
  type TransferProgress,
} from './transferProgress.js'
import {
  hubContext,
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

/** The custody fields of a checkpoint that the caller knows (the files and `checkpointN` are filled in by {@link publishCheckpoint}). */
export type PublishCheckpointCustody = Pick<
  SignCustodyManifestParameters,
  'baseModel' | 'profileId' | 'parent' | 'windows'
>

/** Parameters of {@link publishCheckpoint}. */
export type PublishCheckpointParameters = {
  /** Hub model repo, `namespace/name` (e.g. `aivolutionedge/reliquary-sn`). Created when missing. */
  repoId: string
  /**
   * The checkpoint directory (`save_pretrained` output plus the tokenizer: weights, shards and
   * their index, config, tokenizer files). Every file is published except `.cache/huggingface/`,
   * `.gitattributes` and `reliquary_custody.json`. It must not change while publishing.
   */
  dir: string
  /** Checkpoint number; the commit is titled `checkpoint {checkpointN}`. */
  checkpointN: number
  /** The validator hotkey: signs the custody manifest and the reference manifest. */
  hotkey: Hotkey
  /** Base model, profile, parent manifest (or its digest, or null for the first) and the windows trained since the parent. */
  custody: PublishCheckpointCustody
  /** Hugging Face write token (`hf_…`). */
  accessToken: string
  /** Hub base URL. @default HUB_DEFAULTS.hubUrl */
  hubUrl?: string | undefined
  /** `fetch` to use (a proxy, a test double). @default globalThis.fetch */
  fetch?: typeof fetch | undefined
  /** Aborts the publish (pass `AbortSignal.timeout(ms)` for a deadline). Nothing is committed once aborted before the commit request. */
  signal?: AbortSignal | undefined
  /** Visibility of the repo when it has to be created. @default the namespace's default */
  visibility?: 'public' | 'private' | undefined
  /**
   * Called with the bytes, rate and ETA of the upload ({@link TransferProgress}; the files the
   * Hub routes to LFS report as they are sent, the others with the commit request), throttled,
   * then once with `status: 'done'` when the commit landed. An exception it throws aborts the
   * publish before the commit lands.
   */
  onProgress?: OnTransferProgress | undefined
}

/** Result of {@link publishCheckpoint}. */
export type PublishCheckpointReturnType = {
  /** The Hub commit id (40 hex): `checkpoint_hash` in submissions. */
  readonly revision: string
  /** The signed `/checkpoint` document `{checkpoint_n, repo_id, revision, signature}` to serve. */
  readonly referenceManifest: CheckpointManifest
  /** The signed custody manifest committed as `reliquary_custody.json` in the same commit. */
  readonly custodyManifest: CustodyManifest
  /**
   * True when the repo head already was this very checkpoint (a previous attempt whose commit
   * landed but whose response was lost): nothing new was committed.
   */
  readonly reused: boolean
}

/** The commit the repo's default branch points at, or null for a repo without commits. */
async function headCommit(ctx: HubContext): Promise<{ oid: string; title: string } | null> {
  const it = listCommits({
    repo: { type: 'model', name: ctx.repoId },
    hubUrl: ctx.hubUrl,
    fetch: ctx.fetch,
    batchSize: 1,
    ...credentials(ctx),
  })
  try {
    const first = await it.next()
    return first.done ? null : { oid: first.value.oid, title: first.value.title }
  } finally {
    await it.return(undefined)
  }
}

const sameBody = (a: CustodyManifest, b: CustodyManifest): boolean => {
  const x = custodyManifestSigningBytes(a)
  const y = custodyManifestSigningBytes(b)
  return x.length === y.length && x.every((v, i) => v === y[i])
}

/**
 * Publishes a checkpoint to the Hugging Face Hub the way the reference validator does
 * (`upload_folder(commit_message=f"checkpoint {n}")`, then sign `"{n}|{revision}"`), with a
 * chain-of-custody manifest: creates the repo when missing, commits every snapshot file plus
 * `reliquary_custody.json` (sha256 and size of each file, the parent manifest's digest, base model,
 * profile, trained windows; signed by `hotkey`) in **one** commit titled `checkpoint {n}`, and
 * signs the reference manifest over the returned commit id. Files the Hub routes to LFS (over
 * 10 MB) are hashed and uploaded by `@huggingface/hub` before the commit.
 *
 * Atomicity: the custody manifest travels in the same commit as the weights. A Hub commit is
 * atomic: LFS objects are uploaded first but are invisible until the commit request names them,
 * and the commit either lands with every file or not at all. So a publish that fails midway
 * (during hashing, preupload, an LFS PUT, or a refused commit) leaves no `checkpoint {n}` commit
 * and no custody manifest on the Hub, and no reference manifest is signed. A retry with the same
 * parameters re-uploads only what is missing (the Hub reports LFS objects it already holds). If a
 * previous attempt's commit did land but its response was lost, the retry finds the head already
 * titled `checkpoint {n}` with the same custody content and returns that revision (`reused`)
 * instead of committing a duplicate `checkpoint {n}`, which would skew the reference's
 * commit-count recovery of `checkpoint_n`. (Committing the manifest in a second commit after the
 * weights would open a window where weights exist without their manifest, and give each
 * checkpoint two commits.) The commit names the head it was built on as `parentCommit`, so a
 * concurrent writer makes it fail rather than interleave.
 *
 * - Spec: docs/protocol.md §9 [59b4718:reliquary/validator/checkpoint.py]; custody manifest: `signCustodyManifest`.
 *
 * @param parameters - {@link PublishCheckpointParameters}.
 * @returns `{ revision, referenceManifest, custodyManifest, reused }`.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for bad parameters (a token without `hf_`, an empty
 *   directory); `SCHEMA_INVALID` for custody fields outside the schema; `HUB_REQUEST_FAILED` when a
 *   Hub request fails (`meta.step`, `meta.status`); `HUB_CHECKPOINT_CONFLICT` when the head is
 *   already a `checkpoint {n}` commit with other content. An aborted `signal` rejects with its reason.
 * @example
 * ```ts
 * import { createHotkey } from 'reliquary'
 * import { publishCheckpoint } from 'reliquary/hub'
 * const { revision, referenceManifest, custodyManifest } = await publishCheckpoint({
 *   repoId: 'aivolutionedge/reliquary-sn', dir: 'state/checkpoints/ckpt_3', checkpointN: 3,
 *   hotkey: await createHotkey(process.env.HOTKEY_URI!), accessToken: process.env.HF_TOKEN!,
 *   custody: { baseModel: { id: 'Qwen/Qwen3-0.6B', revision: baseSha }, profileId: 'e3', parent: previousCustody, windows },
 * })
 * ```
 */
export async function publishCheckpoint(
  parameters: PublishCheckpointParameters,
): Promise<PublishCheckpointReturnType> {
  const title = checkPublishParameters(parameters)
  const p = parameters
  const { signal } = p
  const ctx = hubContext(p)
  signal?.throwIfAborted()

  // 1. Hash the snapshot and sign the custody manifest before touching the network, so a bad
  //    directory or custody field fails without side effects.
  const files = await hashSnapshotFiles(p.dir, {
    ignore: [...SNAPSHOT_DEFAULT_IGNORE, ...HUB_RESERVED_PATHS],
  })
  if (files.length === 0)
    throw invalidArgument('dir', 'a directory holding the checkpoint files', p.dir, [
      'The directory is empty (reserved names are not published).',
    ])
  const custodyManifest = signCustodyManifest(p.hotkey, {
    ...p.custody,
    checkpointN: p.checkpointN,
    files,
  })
  signal?.throwIfAborted()
  // 2. Create the repo when missing.
  await ensureRepo(ctx, p)
  // 3. Idempotent retry: the head may already be this checkpoint (an earlier attempt's commit
  //    landed but its response was lost).
  const head = await hubStep('reading the repo head', signal, () => headCommit(ctx))
  const total = files.reduce((a, f) => a + f.size, 0)
  const progress = createProgressTracker('upload', total, p.onProgress)
  if (head !== null && head.title === title) {
    const existing = await landedCustody(ctx, p, head, title, custodyManifest)
    progress.done()
    return Object.freeze({
      revision: head.oid,
      referenceManifest: signManifest(p.hotkey, {
        checkpointN: p.checkpointN,
        repoId: p.repoId,
        revision: head.oid,
      }),
      custodyManifest: existing,
      reused: true,
    })
  }
  // 4. One atomic commit: every snapshot file plus the custody manifest (see the TSDoc above).
  const revision = await commitCheckpoint(ctx, p, { title, files, custodyManifest, head }, progress)
  progress.done()
  return Object.freeze({
    revision,
    referenceManifest: signManifest(p.hotkey, {
      checkpointN: p.checkpointN,
      repoId: p.repoId,
      revision,
    }),
    custodyManifest,
    reused: false,
  })
}

/** Checks the parameters before any work; returns the commit title `checkpoint {n}`. */
function checkPublishParameters(parameters: PublishCheckpointParameters): string {
  const p = parameters
  if (typeof parameters !== 'object' || parameters === null)
    throw invalidArgument('parameters', 'an object', parameters)
  assertRepoId(p.repoId)
  if (typeof p.dir !== 'string' || p.dir.length === 0)
    throw invalidArgument('dir', 'a directory path', p.dir)
  const title = checkpointCommitTitle(p.checkpointN)
  if (typeof p.hotkey?.sign !== 'function' || typeof p.hotkey.address !== 'string')
    throw invalidArgument('hotkey', 'a Hotkey from createHotkey', p.hotkey)
  if (typeof p.custody !== 'object' || p.custody === null)
    throw invalidArgument('custody', 'an object', p.custody)
  const parentN = (p.custody.parent as { checkpoint_n?: unknown } | null)?.checkpoint_n
  if (typeof parentN === 'number' && !(parentN < p.checkpointN)) {
    // verifyChain would refuse this link on every miner: fail here, before publishing it.
    throw invalidArgument(
      'checkpointN',
      `a number above the parent's checkpoint_n ${parentN}`,
      p.checkpointN,
    )
  }
  assertAccessToken(p.accessToken)
  assertFetch(p.fetch)
  assertSignal(p.signal)
  assertOnProgress(p.onProgress)
  if (p.visibility !== undefined && p.visibility !== 'public' && p.visibility !== 'private')
    throw invalidArgument('visibility', '"public" or "private"', p.visibility)
  return title
}

/** Creates the repo when missing. A 409 means someone created it in between: fine. */
async function ensureRepo(ctx: HubContext, p: PublishCheckpointParameters): Promise<void> {
  const { signal } = p
  const repo = { type: 'model' as const, name: p.repoId }
  const exists = await hubStep('checking that the repo exists', signal, () =>
    repoExists({ repo, hubUrl: ctx.hubUrl, fetch: ctx.fetch, accessToken: p.accessToken }),
  )
  if (!exists) {
    await hubStep('creating the repo', signal, async () => {
      try {
        await createRepo({
          repo,
          hubUrl: ctx.hubUrl,
          fetch: ctx.fetch,
          accessToken: p.accessToken,
          ...(p.visibility ? { visibility: p.visibility } : {}),
        })
      } catch (e) {
        if (hubStatus(e) !== 409) throw e
      }
    })
  }
}

/**
 * The custody manifest of a head already titled `checkpoint {n}`: it must be the one this call
 * would commit (an earlier attempt's commit landed but its response was lost).
 */
async function landedCustody(
  ctx: HubContext,
  p: PublishCheckpointParameters,
  head: { oid: string; title: string },
  title: string,
  custodyManifest: CustodyManifest,
): Promise<CustodyManifest> {
  const bytes = await hubStep('reading the head custody manifest', p.signal, () =>
    readCustodyBytes(ctx, head.oid, HUB_DEFAULTS.maxCustodyManifestBytes),
  )
  let existing: CustodyManifest | null = null
  try {
    existing = bytes === null ? null : parseCustodyManifest(bytes)
  } catch {
    existing = null
  }
  if (existing === null || !sameBody(existing, custodyManifest)) {
    throw new ReliquaryError(
      'HUB_CHECKPOINT_CONFLICT',
      `The head of ${p.repoId} is already "${title}" (${head.oid}) with different content.`,
      {
        hints: [
          'Publish the next checkpoint number, or verify the existing commit and serve its manifest.',
          "A second commit with the same title would break the reference validator's recovery of checkpoint_n from commit titles.",
        ],
        meta: { revision: head.oid, checkpointN: p.checkpointN },
      },
    )
  }
  return existing
}

/** Commits every snapshot file plus the custody manifest in one commit; returns its id. */
async function commitCheckpoint(
  ctx: HubContext,
  p: PublishCheckpointParameters,
  c: {
    title: string
    files: readonly { path: string; size: number }[]
    custodyManifest: CustodyManifest
    head: { oid: string } | null
  },
  progress: ProgressTracker,
): Promise<string> {
  const { title, files, custodyManifest, head } = c
  const { signal } = p
  const repo = { type: 'model' as const, name: p.repoId }
  const { pathToFileURL } = await import('node:url')
  const { join, resolve } = await import('node:path')
  const root = resolve(p.dir)
  const operations: CommitOperation[] = files.map((f) => ({
    operation: 'addOrUpdate',
    path: f.path,
    content: pathToFileURL(join(root, ...f.path.split('/'))),
  }))
  operations.push({
    operation: 'addOrUpdate',
    path: CUSTODY_MANIFEST_PATH,
    content: new Blob([`${JSON.stringify(custodyManifest, null, 2)}\n`], {
      type: 'application/json',
    }),
  })
  const sizes = new Map(files.map((f) => [f.path, f.size]))
  const out = await hubStep('committing the checkpoint', signal, async () => {
    const events = commitIter({
      repo,
      operations,
      title,
      hubUrl: ctx.hubUrl,
      fetch: ctx.fetch,
      accessToken: p.accessToken,
      description: `Reliquary checkpoint ${p.checkpointN}; chain-of-custody manifest in ${CUSTODY_MANIFEST_PATH}.`,
      ...(head !== null ? { parentCommit: head.oid } : {}),
      ...(signal ? { abortSignal: signal } : {}),
    })
    for (let r = await events.next(); ; r = await events.next()) {
      if (r.done) return r.value
      const e = r.value
      const size = e.event === 'fileProgress' ? sizes.get(e.path) : undefined
      if (e.event === 'fileProgress' && e.state === 'uploading' && size !== undefined)
        progress.set(e.path, Math.floor(size * e.progress), e.progress >= 1)
    }
  })
  // Files sent inside the commit request (not LFS) count once the commit landed.
  for (const f of files) progress.set(f.path, f.size)
  const revision = out?.commit.oid
  if (typeof revision !== 'string' || !/^[0-9a-f]{40}$/.test(revision)) {
    throw new ReliquaryError(
      'HUB_REQUEST_FAILED',
      'The Hub answered the commit without a 40-hex commit id.',
      { meta: { step: 'committing the checkpoint', status: null, revision: revision ?? null } },
    )
  }
  return revision
}
