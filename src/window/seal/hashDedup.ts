import { sha256 } from '@noble/hashes/sha2'
import { invalidArgument } from '../../errors/base.js'
import type { ProtocolProfile } from '../../protocol/profiles.js'
import { DEFAULT_PROFILE } from '../../protocol/profiles.js'
import { toHex } from '../../_utils/bytes.js'
import type { WindowArchive } from '../archive/windowArchive.js'
import { archiveBatch, assertArchive, assertWindowNumber } from '../archive/windowArchive.js'

const HASH_HEX = /^[0-9a-f]{64}$/

function hashKey(h: string | Uint8Array, param: string): string {
  if (h instanceof Uint8Array) {
    if (h.length !== 32) throw invalidArgument(param, 'a 32-byte SHA-256 digest', h)
    return toHex(h)
  }
  if (typeof h !== 'string' || !HASH_HEX.test(h))
    throw invalidArgument(param, '64 lowercase hex characters', h)
  return h
}

/**
 * The E3 per-rollout content hash: `SHA256(BE32(t₀) ‖ BE32(t₁) ‖ …)` over the token ids, as hex.
 *
 * - Spec: docs/protocol.md §4.3 step 7 (mirrors `compute_rollout_hash` in `reliquary/validator/dedup.py`).
 *
 * @param tokens - Token ids, each an integer in [0, 2³²).
 * @returns 64 lowercase hex characters.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` if a token is not an integer in [0, 2³²).
 * @example
 * ```ts
 * import { rolloutHash } from 'reliquary'
 * rolloutHash([1, 2, 3]).length // 64
 * ```
 */
export function rolloutHash(tokens: readonly number[]): string {
  if (!Array.isArray(tokens)) throw invalidArgument('tokens', 'an array of token ids', tokens)
  // One buffer, one hash: a hash update per 4-byte token costs more than the hashing itself.
  const bytes = new Uint8Array(tokens.length * 4)
  const view = new DataView(bytes.buffer)
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]
    if (!Number.isInteger(t) || (t as number) < 0 || (t as number) > 0xffffffff)
      throw invalidArgument(`tokens[${i}]`, 'an integer in [0, 2^32)', t)
    view.setUint32(i * 4, t as number)
  }
  return toHex(sha256(bytes))
}

/** Options of the {@link HashDedup} constructor. */
export type HashDedupOptions = {
  /** `profile.window.hashDedupRetentionWindows` is the retention R (0 keeps nothing). @default DEFAULT_PROFILE */
  profile?: ProtocolProfile | undefined
}

/**
 * Rollout-hash deduplication across windows (E3 `HASH_DUPLICATE`): the hashes of every submission
 * on a winning prompt are remembered with the window they were sealed in, and an entry recorded at
 * W survives while `current − W < R` (half-open, like the cooldown).
 *
 * - Spec: docs/protocol.md §4.3 step 7 (mirrors `RolloutHashSet` in
 *   `reliquary/validator/dedup.py`).
 *
 * @example
 * ```ts
 * import { HashDedup, rolloutHash } from 'reliquary'
 * const dedup = new HashDedup()
 * dedup.add(rolloutHash([1, 2, 3]), 10)
 * dedup.findDuplicate([rolloutHash([4]), rolloutHash([1, 2, 3])]) // 1
 * ```
 */
export class HashDedup {
  /** The retention R in windows. */
  readonly retentionWindows: number
  readonly #entries = new Map<string, number>()

  /**
   * @param options - {@link HashDedupOptions}
   * @throws {ReliquaryError} `INVALID_ARGUMENT` if the profile's retention is not a non-negative integer.
   */
  constructor(options: HashDedupOptions = {}) {
    const { profile = DEFAULT_PROFILE } = options
    assertWindowNumber(
      profile.window.hashDedupRetentionWindows,
      'profile.window.hashDedupRetentionWindows',
    )
    this.retentionWindows = profile.window.hashDedupRetentionWindows
  }

  /** Number of remembered hashes. */
  get size(): number {
    return this.#entries.size
  }

  /**
   * Remembers `hash` at `window` (keeping the latest window if already known).
   *
   * @param hash - A rollout hash (hex or 32 bytes).
   * @param window - The sealed window.
   * @throws {ReliquaryError} `INVALID_ARGUMENT` for a malformed hash or window.
   */
  add(hash: string | Uint8Array, window: number): void {
    const k = hashKey(hash, 'hash')
    assertWindowNumber(window, 'window')
    if (window > (this.#entries.get(k) ?? -1)) this.#entries.set(k, window)
  }

  /**
   * Whether `hash` is remembered.
   *
   * @param hash - A rollout hash (hex or 32 bytes).
   * @returns `true` if known.
   * @throws {ReliquaryError} `INVALID_ARGUMENT` for a malformed hash.
   */
  has(hash: string | Uint8Array): boolean {
    return this.#entries.has(hashKey(hash, 'hash'))
  }

  /**
   * The index of the first rollout hash of a group that repeats an earlier hash of the same group
   * or a remembered one, or −1 when the group is clean.
   *
   * @param hashes - The group's rollout hashes, in rollout order.
   * @returns An index, or −1.
   * @throws {ReliquaryError} `INVALID_ARGUMENT` for a malformed hash.
   */
  findDuplicate(hashes: readonly (string | Uint8Array)[]): number {
    if (!Array.isArray(hashes))
      throw invalidArgument('hashes', 'an array of rollout hashes', hashes)
    const seen = new Set<string>()
    for (let i = 0; i < hashes.length; i++) {
      const k = hashKey(hashes[i]!, `hashes[${i}]`)
      if (seen.has(k) || this.#entries.has(k)) return i
      seen.add(k)
    }
    return -1
  }

  /**
   * Drops entries whose window is at or before `currentWindow − R` (R = 0 drops everything).
   *
   * @param currentWindow - The window just sealed.
   * @throws {ReliquaryError} `INVALID_ARGUMENT` for a malformed window.
   */
  prune(currentWindow: number): void {
    assertWindowNumber(currentWindow, 'currentWindow')
    if (this.retentionWindows === 0) {
      this.#entries.clear()
      return
    }
    const horizon = currentWindow - this.retentionWindows
    for (const [k, w] of [...this.#entries]) if (w <= horizon) this.#entries.delete(k)
  }

  /**
   * Replaces the state with the rollout hashes of archived batches newer than
   * `currentWindow − R`. Each rollout's hash is recomputed from its `tokens`; a stored `hash` must
   * match it.
   *
   * @param archives - Parsed window archives.
   * @param currentWindow - The window about to open.
   * @throws {ReliquaryError} `INVALID_ARGUMENT` for a malformed archive or a stored hash that does
   *   not match its tokens (the state is then unchanged).
   */
  rebuildFromArchives(archives: readonly WindowArchive[], currentWindow: number): void {
    if (!Array.isArray(archives))
      throw invalidArgument('archives', 'an array of window archives', archives)
    assertWindowNumber(currentWindow, 'currentWindow')
    const horizon = currentWindow - this.retentionWindows
    const restored = new Map<string, number>()
    archives.forEach((a, i) => {
      assertArchive(a, i)
      const w = a.window_start
      if (w <= horizon) return
      archiveBatch(a, i).forEach((s, j) => {
        const rollouts = s.rollouts ?? []
        if (!Array.isArray(rollouts))
          throw invalidArgument(`archives[${i}].batch[${j}].rollouts`, 'an array', rollouts)
        rollouts.forEach((r, k) => {
          const at = `archives[${i}].batch[${j}].rollouts[${k}]`
          if (typeof r !== 'object' || r === null || !Array.isArray(r.tokens))
            throw invalidArgument(`${at}.tokens`, 'an array of token ids', r?.tokens)
          const computed = rolloutHash(r.tokens)
          if (r.hash !== undefined && hashKey(r.hash, `${at}.hash`) !== computed) {
            throw invalidArgument(`${at}.hash`, `the SHA-256 of its tokens (${computed})`, r.hash)
          }
          if (w > (restored.get(computed) ?? -1)) restored.set(computed, w)
        })
      })
    })
    this.#entries.clear()
    for (const [k, w] of restored) this.#entries.set(k, w)
  }

  /**
   * The state as plain JSON-ready data: hash → window, keys ascending.
   *
   * @returns A record of hex hashes.
   */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const k of [...this.#entries.keys()].sort()) out[k] = this.#entries.get(k)!
    return out
  }
}
