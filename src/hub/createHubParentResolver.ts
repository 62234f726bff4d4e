import { listCommits } from '@huggingface/hub'
import { invalidArgument, isReliquaryError } from '../errors/base.js'
import { manifestDigest } from '../manifest/manifestDigest.js'
import { parseCheckpointCommitTitle } from './checkpointCommitTitle.js'
import { HUB_DEFAULTS } from './constants.js'
import {
  hubContext,
  assertAccessToken,
  assertFetch,
  assertRepoId,
  assertSignal,
  credentials,
  hubStep,
  readCustodyBytes,
} from './_hubClient.js'

/** Parameters of {@link createHubParentResolver}. */
export type CreateHubParentResolverParameters = {
  /** Hub model repo, `namespace/name`. */
  repoId: string
  /** The commit whose history is searched (the head checkpoint's revision): later pushes to the branch cannot change it. */
  revision: string
  /** Hub base URL. @default HUB_DEFAULTS.hubUrl */
  hubUrl?: string | undefined
  /** Read token, for private repos (`hf_…`). */
  accessToken?: string | undefined
  /** `fetch` to use (a proxy, a test double). @default globalThis.fetch */
  fetch?: typeof fetch | undefined
  /** Aborts every request of the resolver. */
  signal?: AbortSignal | undefined
  /** Largest custody manifest read. @default HUB_DEFAULTS.maxCustodyManifestBytes */
  maxCustodyManifestBytes?: number | undefined
}

/** A `resolveParent` for `verifyChain`: manifest bytes (untrusted) for a `manifestDigest`, or null. */
export type HubParentResolver = (digest: string) => Promise<Uint8Array | null>

/**
 * Builds a `verifyChain` `resolveParent` that finds parent custody manifests in the repo's own
 * history: it walks the commits of `revision` newest first, reads `reliquary_custody.json` at
 * each commit titled `checkpoint {n}`, and returns the one whose `manifestDigest` is asked for.
 * Commits without a (parseable) custody manifest are skipped. The walk is lazy and remembered, so
 * verifying a chain of k links reads each manifest once. What it returns is untrusted:
 * `verifyChain` checks every link.
 *
 * - Spec: docs/protocol.md §9 (the chain of `checkpoint N` commits).
 *
 * @param parameters - {@link CreateHubParentResolverParameters}.
 * @returns An async resolver; it rejects with `HUB_REQUEST_FAILED` when the Hub fails.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a bad repo id, revision, URL, token or option.
 * @example
 * ```ts
 * import { verifyChain } from 'reliquary/manifest'
 * import { createHubParentResolver } from 'reliquary/hub'
 * const resolveParent = createHubParentResolver({ repoId: 'org/model', revision })
 * const chain = await verifyChain(head, { resolveParent, expectedBase, trustedSigners: [validatorHotkey] })
 * ```
 */
export function createHubParentResolver(
  parameters: CreateHubParentResolverParameters,
): HubParentResolver {
  if (typeof parameters !== 'object' || parameters === null)
    throw invalidArgument('parameters', 'an object', parameters)
  const p = parameters
  assertRepoId(p.repoId)
  if (typeof p.revision !== 'string' || !/^[0-9a-f]{40}$/.test(p.revision))
    throw invalidArgument('revision', 'a 40-hex commit id', p.revision)
  if (p.accessToken !== undefined) assertAccessToken(p.accessToken)
  assertFetch(p.fetch)
  assertSignal(p.signal)
  const maxBytes = p.maxCustodyManifestBytes ?? HUB_DEFAULTS.maxCustodyManifestBytes
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1)
    throw invalidArgument('maxCustodyManifestBytes', 'a positive integer', maxBytes)
  const ctx = hubContext(p)

  const found = new Map<string, Uint8Array>()
  let commits: AsyncIterator<{ oid: string; title: string }> | null = null
  let exhausted = false
  // verifyChain asks one parent at a time; the queue keeps concurrent callers from sharing the iterator.
  let queue: Promise<unknown> = Promise.resolve()

  const resolve = async (digest: string): Promise<Uint8Array | null> => {
    const hit = found.get(digest)
    if (hit) return hit
    commits ??= listCommits({
      repo: { type: 'model', name: ctx.repoId },
      revision: p.revision,
      hubUrl: ctx.hubUrl,
      fetch: ctx.fetch,
      batchSize: 100,
      ...credentials(ctx),
    })
    while (!exhausted) {
      const next = await commits.next()
      if (next.done) {
        exhausted = true
        break
      }
      if (parseCheckpointCommitTitle(next.value.title) === null) continue
      const bytes = await readCustodyBytes(ctx, next.value.oid, maxBytes)
      if (bytes === null) continue
      let d: string
      try {
        d = manifestDigest(bytes)
      } catch (e) {
        if (isReliquaryError(e)) continue // not a custody manifest: cannot be anyone's parent
        throw e
      }
      found.set(d, bytes)
      if (d === digest) return bytes
    }
    return null
  }

  return (digest: string) => {
    const run = queue.then(() =>
      hubStep('resolving a parent custody manifest', p.signal, () => resolve(digest)),
    )
    queue = run.catch(() => undefined)
    return run
  }
}
