import type { VerifiedCheckpointManifest } from '../manifest/checkpointManifest.js'
import type { VerifiedCustodyManifest } from '../manifest/custodyManifest.js'
import type { VerifyChainOptions } from '../manifest/verifyChain.js'
import {
  checkCommitTitle,
  checkDownloadParameters,
  checkHubFileList,
  readClaimedCustody,
  refuseCustody,
  refuseReference,
  stageSnapshot,
  verifyCustodyChain,
  verifyReference,
} from './_downloadSteps.js'
import { hubContext } from './_hubClient.js'
import type { OnTransferProgress, TransferProgress } from './transferProgress.js'

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
  /**
   * Called with the bytes, rate and ETA of the snapshot download ({@link TransferProgress}),
   * throttled, then once with `status: 'done'` after every digest was checked. An exception it
   * throws aborts the download (the staging directory is deleted).
   */
  onProgress?: OnTransferProgress | undefined
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

/**
 * Downloads and verifies a published checkpoint before anyone loads it (the miner side of
 * docs/protocol.md §9 "How a miner verifies", with the chain of custody on top). In order:
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
 * - Spec: docs/protocol.md §9; custody chain: `verifyChain`, `verifySnapshotFiles`.
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
  const maxBytes = checkDownloadParameters(parameters)
  const p = parameters
  const x = p.expected
  const { revision, signal } = p
  const ctx = hubContext(p)
  signal?.throwIfAborted()
  // 1. The reference manifest: no network needed, so it fails first.
  const reference = await verifyReference(p)
  // 2. The file list at the pinned revision (this also proves the revision exists) and the custody manifest.
  const { tree, custodyBytes, claimed } = await readClaimedCustody(ctx, p, maxBytes)
  const n = claimed.checkpoint_n
  if (reference !== null && reference.checkpoint_n !== n) {
    throw refuseReference(
      'checkpoint_n_mismatch',
      `The reference manifest names checkpoint ${reference.checkpoint_n}, the custody manifest ${n}.`,
    )
  }
  if (x.minCheckpointN !== undefined && n < x.minCheckpointN)
    throw refuseCustody('checkpoint_n', `checkpoint_n ${n} is below ${x.minCheckpointN}.`)
  // 3. The Hub commit title, when the API offers it.
  const commitTitleChecked = await checkCommitTitle(ctx, p, n)
  // 4. The chain of custody, back to the base model.
  const chain = await verifyCustodyChain(ctx, p, custodyBytes, maxBytes)
  const head = chain.links[0]!
  // 5. The Hub's file list must be the manifest's before anything large is fetched.
  checkHubFileList(tree, head, `at ${p.repoId}@${revision}`)
  // 6-7. Stage, verify every digest, then publish the directory by renaming it.
  const { dir, checked, cached } = await stageSnapshot(ctx, p, head, custodyBytes)
  return Object.freeze({
    dir,
    revision,
    checkpointN: n,
    referenceManifest: reference,
    custodyManifest: head,
    chain: chain.digests,
    commitTitleChecked,
    files: checked.files,
    bytes: checked.bytes,
    cached,
  })
}
