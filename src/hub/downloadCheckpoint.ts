import { downloadFile, listCommits, listFiles } from '@huggingface/hub'
import { ReliquaryError, invalidArgument, isReliquaryError } from '../errors/base.js'
import type { VerifiedCheckpointManifest } from '../manifest/checkpointManifest.js'
import {
  parseCustodyManifest,
  type CustodyFileEntry,
  type CustodyManifest,
  type VerifiedCustodyManifest,
} from '../manifest/custodyManifest.js'
import { verifySnapshotFiles } from '../manifest/snapshotFiles.js'
import { verifyChain, type VerifyChainOptions } from '../manifest/verifyChain.js'
import { verifyManifest } from '../manifest/verifyManifest.js'
import { checkpointCommitTitle } from './checkpointCommitTitle.js'
import { CUSTODY_MANIFEST_PATH, HUB_DEFAULTS, HUB_RESERVED_PATHS } from './constants.js'
import { createHubParentResolver } from './createHubParentResolver.js'
import {
  assertAccessToken,
  assertFetch,
  assertRepoId,
  assertSignal,
  credentials,
  hubFetch,
  hubStatus,
  hubStep,
  readCustodyBytes,
  resolveHubUrl,
  type HubContext,
} from './_hubClient.js'

/** What a downloaded checkpoint must match (see {@link downloadCheckpoint}). */
export type DownloadCheckpointExpected = {
  /** The validator hotkey (SS58 or 32-byte public key), from the metagraph or pinned out of band. */
  validatorHotkey: string | Uint8Array
  /** The `/checkpoint` document (untrusted) naming this revision. Without it, `checkpoint_n` comes from the custody manifest alone. */
  referenceManifest?: unknown
  /** The base model every custody link must name. */
  baseModel: { readonly id: string; readonly revision: string }
  /** When set, every custody link must carry this profile id. */
  profileId?: string | undefined
  /** Hotkeys allowed to sign custody links. @default [validatorHotkey] */
  trustedSigners?: readonly (string | Uint8Array)[] | undefined
  /** Finds parent custody manifests by digest. @default createHubParentResolver over this repo's history at `revision` */
  resolveParent?: VerifyChainOptions['resolveParent'] | undefined
  /** Longest custody chain walked. @default VERIFY_CHAIN_DEFAULT_MAX_LENGTH */
  maxChainLength?: number | undefined
  /** Lowest acceptable `checkpoint_n` (the last one accepted: checkpoints never go back). */
  minCheckpointN?: number | undefined
  /** Refuse when the Hub does not serve the commit list (by default the title check is then skipped). @default false */
  requireCommitTitle?: boolean | undefined
}

/** Parameters of {@link downloadCheckpoint}. */
export type DownloadCheckpointParameters = {
  /** Hub model repo, `namespace/name`. */
  repoId: string
  /** The pinned commit id (40 lowercase hex), e.g. the reference manifest's `revision`. Branch names are refused. */
  revision: string
  /** Where verified snapshots are kept, as `{cacheDir}/{namespace}/{name}/{revision}/`. */
  cacheDir: string
  /** What the checkpoint must match. */
  expected: DownloadCheckpointExpected
  /** Hub base URL. @default HUB_DEFAULTS.hubUrl */
  hubUrl?: string | undefined
  /** Read token for private repos (`hf_…`). */
  accessToken?: string | undefined
  /** `fetch` to use (a proxy, a test double). @default globalThis.fetch */
  fetch?: typeof fetch | undefined
  /** Aborts the download (pass `AbortSignal.timeout(ms)` for a deadline). */
  signal?: AbortSignal | undefined
  /** Largest custody manifest read. @default HUB_DEFAULTS.maxCustodyManifestBytes */
  maxCustodyManifestBytes?: number | undefined
}

/** Result of {@link downloadCheckpoint}: returned only once every check passed. */
export type DownloadCheckpointReturnType = {
  /** The verified snapshot directory, safe to hand to a loader. Holds exactly the listed files plus `reliquary_custody.json`. */
  readonly dir: string
  /** The pinned revision (`checkpoint_hash` for submissions). */
  readonly revision: string
  readonly checkpointN: number
  /** The verified reference manifest, or null when none was given. */
  readonly referenceManifest: VerifiedCheckpointManifest | null
  /** The verified head custody manifest. */
  readonly custodyManifest: VerifiedCustodyManifest
  /** `manifestDigest` of each custody link, from this checkpoint back to the first. */
  readonly chain: readonly string[]
  /** Whether the Hub served the commit title and it was checked (false only when the API does not offer it). */
  readonly commitTitleChecked: boolean
  /** Files and bytes whose SHA-256 was checked. */
  readonly files: number
  readonly bytes: number
  /** True when a snapshot verified earlier was found in `cacheDir` (and verified again). */
  readonly cached: boolean
}

const refuseReference = (reason: string, message: string, meta: Record<string, unknown> = {}) =>
  new ReliquaryError('HUB_REFERENCE_MANIFEST_INVALID', message, {
    hints: ['Do not load this checkpoint; fetch /checkpoint again from a validator you trust.'],
    meta: { reason, ...meta },
  })

const refuseCustody = (
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

function filesMismatch(
  where: string,
  missing: string[],
  extra: string[],
  mismatched: string[],
): ReliquaryError {
  const cap = (xs: string[]) => xs.slice(0, 100)
  return new ReliquaryError(
    'MANIFEST_FILES_MISMATCH',
    `The snapshot ${where} does not match its manifest: ${missing.length} missing, ${extra.length} extra, ${mismatched.length} differing file(s).`,
    {
      hints: ['Do not load this snapshot: it is not the checkpoint the validator signed.'],
      details: [
        ...cap(missing).map((p) => `missing ${p}`),
        ...cap(extra).map((p) => `extra ${p}`),
        ...cap(mismatched).map((p) => `differs ${p}`),
      ]
        .slice(0, 20)
        .join('; '),
      meta: { missing: cap(missing), extra: cap(extra), mismatched: cap(mismatched) },
    },
  )
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
        yield chunk
      }
    },
    createWriteStream(dest, { flags: 'wx' }),
  )
}

async function sameBytes(path: string, bytes: Uint8Array): Promise<boolean> {
  const { readFile } = await import('node:fs/promises')
  const local = await readFile(path).catch(() => null)
  return local?.equals(bytes) ?? false
}

/**
 * Downloads and verifies a published checkpoint before anyone loads it (the miner side of
 * PROTOCOL.md §9 "How a miner verifies", with the chain of custody on top). In order:
 *
 * 1. the reference manifest (when given) verifies under `validatorHotkey`, names this repo and
 *    exactly this `revision`, and is not below `minCheckpointN`;
 * 2. the repo at the pinned revision holds `reliquary_custody.json`;
 * 3. the Hub commit at `revision` is titled `checkpoint {n}` (skipped only when the Hub does not
 *    serve the commit list, unless `requireCommitTitle`);
 * 4. the custody chain verifies from this checkpoint back to the base model (`verifyChain`:
 *    signatures by trusted signers, base model, profile, parent digests, increasing
 *    `checkpoint_n` and windows), and its `checkpoint_n` equals the reference manifest's;
 * 5. the repo's file list equals the manifest's (no missing, extra or resized file; only
 *    `.gitattributes` is exempt) before anything large is fetched;
 * 6. the **whole** snapshot (every shard, not just `model.safetensors`) is streamed into a staging
 *    directory, each file capped at its listed size, and every file's SHA-256 is checked
 *    (`verifySnapshotFiles`);
 * 7. only then is the staging directory renamed to `{cacheDir}/{namespace}/{name}/{revision}` and
 *    that path returned.
 *
 * A snapshot that fails any check is deleted and never returned. A snapshot already in `cacheDir`
 * is checked again (steps 1–5 against the Hub, then every digest) rather than trusted; if it no
 * longer matches it is replaced by a fresh download.
 *
 * - Spec: PROTOCOL.md §9; custody chain: `verifyChain`, `verifySnapshotFiles`.
 *
 * @param parameters - {@link DownloadCheckpointParameters}.
 * @returns {@link DownloadCheckpointReturnType}, with the verified directory.
 * @throws {ReliquaryError} `HUB_REFERENCE_MANIFEST_INVALID` (bad signature, wrong repo, revision or
 *   number; `meta.reason`); `HUB_COMMIT_TITLE_MISMATCH`; `HUB_CUSTODY_INVALID` (missing manifest
 *   or broken chain; `meta.field`, `meta.index`); `MANIFEST_FILES_MISMATCH` (a missing, extra or
 *   tampered file; `meta.missing|extra|mismatched`); `HUB_REQUEST_FAILED`; `INVALID_ARGUMENT` for bad
 *   parameters (a branch name instead of a commit id); `SCHEMA_INVALID` / `JSON_INVALID` for a
 *   reference manifest that is not a `/checkpoint` document; `SIGNATURE_INVALID_KEY` for a malformed
 *   `validatorHotkey`. An aborted `signal` rejects with its reason.
 * @example
 * ```ts
 * import { downloadCheckpoint } from 'reliquary/hub'
 * const manifest = await (await fetch(`${validatorUrl}/checkpoint`)).json()
 * const { dir, revision } = await downloadCheckpoint({
 *   repoId: manifest.repo_id, revision: manifest.revision, cacheDir: 'state/hub',
 *   expected: { referenceManifest: manifest, validatorHotkey, baseModel: { id: 'Qwen/Qwen3-0.6B', revision: baseSha } },
 * })
 * const model = await loadModel(dir) // only ever a verified directory
 * ```
 */
export async function downloadCheckpoint(
  parameters: DownloadCheckpointParameters,
): Promise<DownloadCheckpointReturnType> {
  if (typeof parameters !== 'object' || parameters === null)
    throw invalidArgument('parameters', 'an object', parameters)
  const p = parameters
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
  const { revision, signal } = p
  const ctx: HubContext = {
    repoId: p.repoId,
    hubUrl: resolveHubUrl(p.hubUrl),
    fetch: hubFetch(p.fetch, signal),
    accessToken: p.accessToken,
    signal,
  }
  signal?.throwIfAborted()

  // 1. The reference manifest: no network needed, so it fails first.
  let reference: VerifiedCheckpointManifest | null = null
  if (x.referenceManifest !== undefined) {
    const v = await verifyManifest(x.referenceManifest, x.validatorHotkey, {
      expectedRepoId: p.repoId,
      ...(x.minCheckpointN !== undefined ? { minCheckpointN: x.minCheckpointN } : {}),
    })
    if (!v.valid) throw refuseReference(v.reason, `The reference manifest is refused: ${v.message}`)
    if (v.manifest.revision !== revision) {
      throw refuseReference(
        'revision_mismatch',
        `The reference manifest names revision ${v.manifest.revision}, not the requested ${revision}.`,
      )
    }
    reference = v.manifest
  }

  // 2. The file list at the pinned revision (this also proves the revision exists) and the custody manifest.
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
  if (!tree.has(CUSTODY_MANIFEST_PATH))
    throw refuseCustody('missing', `${p.repoId}@${revision} has no ${CUSTODY_MANIFEST_PATH}.`)
  const custodyBytes = await hubStep('reading the custody manifest', signal, () =>
    readCustodyBytes(ctx, revision, maxBytes),
  )
  if (custodyBytes === null)
    throw refuseCustody('missing', `${p.repoId}@${revision} has no ${CUSTODY_MANIFEST_PATH}.`)
  let claimed: CustodyManifest
  try {
    claimed = parseCustodyManifest(custodyBytes)
  } catch (e) {
    throw refuseCustody(
      'schema',
      `${CUSTODY_MANIFEST_PATH} is not a valid custody manifest.`,
      {},
      isReliquaryError(e) ? (e.details ?? e.shortMessage) : String(e),
    )
  }
  const n = claimed.checkpoint_n
  if (reference !== null && reference.checkpoint_n !== n) {
    throw refuseReference(
      'checkpoint_n_mismatch',
      `The reference manifest names checkpoint ${reference.checkpoint_n}, the custody manifest ${n}.`,
    )
  }
  if (x.minCheckpointN !== undefined && n < x.minCheckpointN) {
    throw refuseCustody('checkpoint_n', `checkpoint_n ${n} is below ${x.minCheckpointN}.`)
  }

  // 3. The Hub commit title, when the API offers it.
  const commitInfo = await hubStep('reading the commit title', signal, () =>
    commitTitleAt(ctx, revision),
  )
  if (commitInfo === null && x.requireCommitTitle === true) {
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

  // 4. The chain of custody, back to the base model.
  const chain = await verifyChain(custodyBytes, {
    resolveParent:
      x.resolveParent ??
      createHubParentResolver({
        repoId: p.repoId,
        revision,
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
  const head = chain.links[0]!

  // 5. The Hub's file list must be the manifest's before anything large is fetched.
  const listed = new Map(head.files.map((f) => [f.path, f.size]))
  const onHub = [...tree].filter(([path]) => !HUB_RESERVED_PATHS.includes(path))
  const missing = head.files.filter((f) => !tree.has(f.path)).map((f) => f.path)
  const extra = onHub.filter(([path]) => !listed.has(path)).map(([path]) => path)
  const resized = onHub
    .filter(([path, size]) => listed.has(path) && listed.get(path) !== size)
    .map(([path]) => path)
  if (missing.length || extra.length || resized.length)
    throw filesMismatch(`at ${p.repoId}@${revision}`, missing, extra, resized)

  // 6-7. Stage, verify every digest, then publish the directory by renaming it.
  const { mkdir, mkdtemp, rename, rm, stat, writeFile } = await import('node:fs/promises')
  const { join, resolve } = await import('node:path')
  const [namespace, name] = p.repoId.split('/') as [string, string]
  const parent = join(resolve(p.cacheDir), namespace, name)
  const dir = join(parent, revision)
  const ignore = [CUSTODY_MANIFEST_PATH]
  const result = (
    checked: { files: number; bytes: number },
    cached: boolean,
  ): DownloadCheckpointReturnType =>
    Object.freeze({
      dir,
      revision,
      checkpointN: n,
      referenceManifest: reference,
      custodyManifest: head,
      chain: chain.digests,
      commitTitleChecked: commitInfo !== null,
      files: checked.files,
      bytes: checked.bytes,
      cached,
    })
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

  if ((await stat(dir).catch(() => null))?.isDirectory()) {
    const checked = await reuse()
    if (checked) return result(checked, true)
  }
  await mkdir(parent, { recursive: true })
  const staging = await mkdtemp(join(parent, `.staging-${revision}-`))
  try {
    await writeFile(join(staging, CUSTODY_MANIFEST_PATH), custodyBytes, { flag: 'wx' })
    for (const entry of head.files) {
      signal?.throwIfAborted()
      await hubStep(`downloading ${entry.path}`, signal, () =>
        fetchFile(ctx, revision, entry, staging),
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
      return result(theirs, true)
    }
    return result(checked, false)
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}
