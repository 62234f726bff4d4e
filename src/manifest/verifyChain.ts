import { ensureCryptoReady } from '../crypto/sr25519.js'
import { invalidArgument, isReliquaryError } from '../errors/base.js'
import { _markTrusted } from './_verified.js'
import { freezeManifest, signatureValid, signerTrusted, trustedKeySet } from './_custodyChecks.js'
import {
  parseCustodyManifest,
  type CustodyFileEntry,
  type CustodyManifest,
  type VerifiedCustodyManifest,
} from './custodyManifest.js'
import { manifestDigest } from './manifestDigest.js'

/** Default longest chain {@link verifyChain} walks before giving up. */
export const VERIFY_CHAIN_DEFAULT_MAX_LENGTH = 100_000

/** The manifest field a broken link is blamed on. */
export type CustodyChainField =
  /** The document is not a valid custody manifest. */
  | 'schema'
  /** The signature does not verify for the document's signer. */
  | 'signature'
  /** The signer is not trusted. */
  | 'signer'
  /** The base model differs from `expectedBase`. */
  | 'base_model'
  /** The profile differs from `expectedProfileId`. */
  | 'profile_id'
  /** The parent cannot be resolved, does not match the digest, loops, or the chain is too long. */
  | 'parent'
  /** `checkpoint_n` does not increase from parent to child. */
  | 'checkpoint_n'
  /** The child's windows do not all come after the parent's. */
  | 'windows'
  /** The head's file list differs from the `files` given. */
  | 'files'

/** Parameters of {@link verifyChain}. */
export type VerifyChainOptions = {
  /** Returns the manifest whose `manifestDigest` is `digest` (untrusted: it is checked), or null/undefined if unknown. */
  resolveParent: (digest: string) => unknown | Promise<unknown>
  /** The base model every link must name. */
  expectedBase: { readonly id: string; readonly revision: string }
  /** Hotkeys (SS58 or 32-byte public keys) allowed to sign links. */
  trustedSigners: readonly (string | Uint8Array)[]
  /** The snapshot's actual files (`hashSnapshotFiles`); the head must list exactly these. */
  files?: readonly CustodyFileEntry[] | undefined
  /** When set, every link must carry this profile id. */
  expectedProfileId?: string | undefined
  /** Longest chain walked. @default VERIFY_CHAIN_DEFAULT_MAX_LENGTH */
  maxLength?: number | undefined
}

/** Result of {@link verifyChain}. Links are returned, marked verified, only when the whole chain is valid. */
export type VerifyChainReturnType =
  | {
      readonly valid: true
      /** Verified manifests from the head (index 0) back to the first checkpoint (parent null). */
      readonly links: readonly VerifiedCustodyManifest[]
      /** `manifestDigest` of each link, same order. */
      readonly digests: readonly string[]
    }
  | {
      readonly valid: false
      /** The first broken link, counted from the head (0) towards the base model. */
      readonly index: number
      /** Which field of that link is at fault. */
      readonly field: CustodyChainField
      readonly reason: string
      /** `manifestDigest` of that link, when it parsed. */
      readonly digest: string | null
    }

type Failure = Extract<VerifyChainReturnType, { valid: false }>

function sameFiles(a: readonly CustodyFileEntry[], b: readonly CustodyFileEntry[]): string | null {
  const sortByPath = (x: readonly CustodyFileEntry[]) =>
    [...x].sort((p, q) => (p.path < q.path ? -1 : p.path > q.path ? 1 : 0))
  const A = sortByPath(a)
  const B = sortByPath(b)
  for (let i = 0; i < Math.max(A.length, B.length); i++) {
    const x = A[i]
    const y = B[i]
    if (!x || !y || x.path !== y.path)
      return `file list differs at ${JSON.stringify((x ?? y)!.path)}`
    if (x.size !== y.size || x.sha256 !== y.sha256)
      return `${JSON.stringify(x.path)} differs (size or sha256)`
  }
  return null
}

/**
 * Walks a chain of custody manifests from `head` back to the base model and reports the first
 * broken link. Each link is checked in this order: it parses (`schema`); its signature verifies
 * for its signer (`signature`); the signer is trusted (`signer`); it names `expectedBase`
 * (`base_model`) and, if given, `expectedProfileId` (`profile_id`); for the head, its file list
 * equals `files` when given (`files`). Then the parent is resolved by digest and checked the same
 * way, after which the link between them must hold: the parent's `manifestDigest` equals the
 * child's `parent` (else blamed on the child's `parent`), `checkpoint_n` strictly increases
 * (`checkpoint_n`) and every child window comes after every parent window (`windows`), both blamed
 * on the child. The walk ends at the link whose `parent` is null.
 *
 * Never throws on a bad or missing document (that is a verdict); only malformed options, or an
 * exception from `resolveParent` itself, propagate.
 *
 * @param head - The newest manifest (untrusted: JSON text, bytes or a parsed value).
 * @param options - {@link VerifyChainOptions}.
 * @returns `{ valid: true, links, digests }` with every link deeply frozen and marked verified, or
 *   `{ valid: false, index, field, reason, digest }` for the first broken link (index 0 = head).
 * @throws {ReliquaryError} `INVALID_ARGUMENT` / `SIGNATURE_INVALID_KEY` for malformed options.
 * @example
 * ```ts
 * import { verifyChain, hashSnapshotFiles } from 'reliquary/manifest'
 * const v = await verifyChain(headManifest, {
 *   resolveParent: (digest) => store.get(digest),
 *   expectedBase: { id: 'Qwen/Qwen3-0.6B', revision: baseSha },
 *   trustedSigners: [validatorHotkey],
 *   files: await hashSnapshotFiles(snapshotDir),
 * })
 * if (!v.valid) console.log(`link ${v.index}: bad ${v.field} (${v.reason})`)
 * ```
 */
export async function verifyChain(
  head: unknown,
  options: VerifyChainOptions,
): Promise<VerifyChainReturnType> {
  if (typeof options !== 'object' || options === null)
    throw invalidArgument('options', 'an object', options)
  const { resolveParent, expectedBase, files, expectedProfileId } = options
  const keys = trustedKeySet(options.trustedSigners)
  if (typeof resolveParent !== 'function')
    throw invalidArgument('resolveParent', 'a function', resolveParent)
  if (typeof expectedBase?.id !== 'string' || typeof expectedBase?.revision !== 'string')
    throw invalidArgument('expectedBase', '{ id, revision } strings', expectedBase)
  if (files !== undefined && !Array.isArray(files))
    throw invalidArgument('files', 'an array of file entries', files)
  const maxLength = options.maxLength ?? VERIFY_CHAIN_DEFAULT_MAX_LENGTH
  if (!Number.isSafeInteger(maxLength) || maxLength < 1)
    throw invalidArgument('maxLength', 'a positive integer', maxLength)
  await ensureCryptoReady()

  const checkSelf = (doc: unknown, index: number) =>
    checkLink(doc, index, { keys, expectedBase, expectedProfileId })

  let current = checkSelf(head, 0)
  if ('valid' in current) return current
  if (files !== undefined) {
    const diff = sameFiles(current.m.files, files)
    if (diff)
      return fail(
        0,
        'files',
        `The head's files do not match the snapshot: ${diff}.`,
        current.digest,
      )
  }
  const links: CustodyManifest[] = [current.m]
  const digests: string[] = [current.digest]
  const seen = new Set<string>([current.digest])

  for (let index = 0; ; index++) {
    const child = current.m
    if (child.parent === null) break
    if (links.length >= maxLength)
      return fail(index, 'parent', `The chain is longer than ${maxLength} links.`, current.digest)
    if (seen.has(child.parent))
      return fail(index, 'parent', 'The parent link loops back into the chain.', current.digest)
    const doc = await resolveParent(child.parent)
    if (doc === null || doc === undefined)
      return fail(index, 'parent', `Parent ${child.parent} could not be resolved.`, current.digest)
    const parent = checkSelf(doc, index + 1)
    if ('valid' in parent) return parent
    if (parent.digest !== child.parent) {
      return fail(
        index,
        'parent',
        `The resolved parent has digest ${parent.digest}, not ${child.parent}.`,
        current.digest,
      )
    }
    const order = checkOrder(child, parent.m, index, current.digest)
    if (order) return order
    links.push(parent.m)
    digests.push(parent.digest)
    seen.add(parent.digest)
    current = parent
  }
  return {
    valid: true,
    links: Object.freeze(
      links.map((m) => _markTrusted(freezeManifest(m)) as VerifiedCustodyManifest),
    ),
    digests: Object.freeze(digests),
  }
}

function fail(
  index: number,
  field: Failure['field'],
  reason: string,
  digest: string | null,
): Failure {
  return { valid: false, index, field, reason, digest }
}

/** Parses and checks one document on its own; returns it with its digest, or the failure. */
function checkLink(
  doc: unknown,
  index: number,
  expected: {
    keys: ReturnType<typeof trustedKeySet>
    expectedBase: VerifyChainOptions['expectedBase']
    expectedProfileId: string | undefined
  },
): { m: CustodyManifest; digest: string } | Failure {
  const { keys, expectedBase, expectedProfileId } = expected
  let m: CustodyManifest
  try {
    m = parseCustodyManifest(doc)
  } catch (e) {
    return fail(
      index,
      'schema',
      isReliquaryError(e) ? (e.details ?? e.shortMessage) : 'not a custody manifest',
      null,
    )
  }
  const digest = manifestDigest(m)
  if (!signatureValid(m))
    return fail(
      index,
      'signature',
      'The signature does not verify for the manifest signer.',
      digest,
    )
  if (!signerTrusted(m, keys))
    return fail(index, 'signer', `Signer ${m.signer} is not a trusted signer.`, digest)
  if (m.base_model.id !== expectedBase.id || m.base_model.revision !== expectedBase.revision) {
    return fail(
      index,
      'base_model',
      `Base model ${m.base_model.id}@${m.base_model.revision} is not ${expectedBase.id}@${expectedBase.revision}.`,
      digest,
    )
  }
  if (expectedProfileId !== undefined && m.profile_id !== expectedProfileId) {
    return fail(
      index,
      'profile_id',
      `Profile ${JSON.stringify(m.profile_id)} is not ${JSON.stringify(expectedProfileId)}.`,
      digest,
    )
  }
  return { m, digest }
}

/** A child must come after its parent: a larger checkpoint number and later windows. */
function checkOrder(
  child: CustodyManifest,
  parent: CustodyManifest,
  index: number,
  digest: string,
): Failure | null {
  if (!(child.checkpoint_n > parent.checkpoint_n)) {
    return fail(
      index,
      'checkpoint_n',
      `checkpoint_n ${child.checkpoint_n} does not follow the parent's ${parent.checkpoint_n}.`,
      digest,
    )
  }
  const lastParentWindow = parent.windows.at(-1)?.window_n
  const firstChildWindow = child.windows[0]?.window_n
  if (
    lastParentWindow !== undefined &&
    firstChildWindow !== undefined &&
    !(firstChildWindow > lastParentWindow)
  ) {
    return fail(
      index,
      'windows',
      `Window ${firstChildWindow} is not after the parent's last window ${lastParentWindow}.`,
      digest,
    )
  }
  return null
}
