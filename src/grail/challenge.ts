import { sha256 } from '@noble/hashes/sha2'
import { ReliquaryError } from '../errors/base.js'
import { DEFAULT_PROFILE, type ProtocolProfile } from '../protocol/profiles.js'

import { prf, PRF_LABELS } from './prf.js'
import { PyRandom } from './pyRandom.js'
import { decodeRandomness } from './randomness.js'
import { assertTokenIds } from './tokens.js'

/**
 * SHA-256 over the big-endian uint32 encodings of every token (`t & 0xFFFFFFFF`). This is the
 * `tokens_hash` of the challenge seed and the commit binding, and the per-rollout `hash` that E3
 * deduplicates on.
 *
 * - Spec: docs/protocol.md §1.4 step 1 (`reliquary/protocol/tokens.py::hash_tokens`).
 *
 * @param tokens - Token ids (integers).
 * @returns 32 bytes.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` if a token is not an integer.
 * @example
 * ```ts
 * import { hashTokens } from 'reliquary'
 * hashTokens([1, 2, 3])
 * ```
 */
export function hashTokens(tokens: ArrayLike<number>): Uint8Array {
  assertTokenIds(tokens, 'tokens', { allowEmpty: true })
  const h = sha256.create()
  const buf = new Uint8Array(4 * Math.min(tokens.length, 16384))
  const dv = new DataView(buf.buffer)
  for (let off = 0; off < tokens.length; off += 16384) {
    const n = Math.min(16384, tokens.length - off)
    for (let i = 0; i < n; i++) {
      const t = tokens[off + i]!
      dv.setUint32(4 * i, t >= 0 && t <= 0xffffffff ? t : Number(BigInt(t) & 0xffffffffn))
    }
    h.update(buf.subarray(0, 4 * n))
  }
  return h.digest()
}

/**
 * The 32-byte seed of the challenge RNG: `PRF("open", tokens_hash, randomness_bytes, 32)`.
 * @param tokens - The full rollout (prompt and completion).
 * @param randomness - Window randomness (hex) or its bytes.
 */
export function challengeSeed(
  tokens: ArrayLike<number>,
  randomness: string | Uint8Array,
): Uint8Array {
  const r = typeof randomness === 'string' ? decodeRandomness(randomness) : randomness
  return prf(PRF_LABELS.open, [hashTokens(tokens), r], 32)
}

/**
 * Positions the GRAIL sketch check challenges per rollout: `grail.challengeK` (32), or more when
 * the profile's `hardening.sketchChallengeK` option asks for more (docs/protocol.md §4.5). The
 * logprob check (§2.2) and the commit schema keep `grail.challengeK`.
 *
 * @param profile - @default e3
 * @returns A positive integer.
 * @example
 * ```ts
 * import { sketchChallengeCount } from 'reliquary/grail'
 * import { e3, withHardening } from 'reliquary/protocol'
 * sketchChallengeCount(withHardening(e3, { sketchChallengeK: 64 })) // 64
 * ```
 */
export function sketchChallengeCount(profile: ProtocolProfile = DEFAULT_PROFILE): number {
  return Math.max(profile.grail.challengeK, profile.hardening.sketchChallengeK)
}

/** Largest challenge population accepted (the shuffle path materialises it). */
export const MAX_CHALLENGE_POPULATION = 1 << 22

/** Parameters of {@link challengeIndices}. */
export type ChallengeIndicesParameters = {
  /** The full rollout token list; its hash seeds the draw (also for a sub-range). */
  tokens: ArrayLike<number>
  /** Window randomness (hex) or its decoded bytes. */
  randomness: string | Uint8Array
  /** Positions to draw. @default min({@link sketchChallengeCount}(profile), population) */
  k?: number | undefined
  /**
   * Population length for the whole-sequence form (`indices_from_root(tokens, R, seq_len, k)`).
   * @default tokens.length
   */
  seqLen?: number | undefined
  /** Range form: first position of the population (inclusive). */
  start?: number | undefined
  /** Range form: end of the population (exclusive). */
  end?: number | undefined
  /** @default e3 */
  profile?: ProtocolProfile | undefined
}

/**
 * Draws the challenged positions of a rollout: CPython `random.Random(seed)` with
 * `sample(range(L), k)` when `k < 0.1·L`, else `shuffle` then the first k; sorted ascending and
 * offset by `start`. The whole-sequence form (default population `tokens.length`, prompt
 * included) is the GRAIL challenge; the range form over `[promptLength, tokens.length)` is the
 * logprob challenge (k is clamped to the range there, as in the reference).
 *
 * - Spec: docs/protocol.md §1.4 (`indices_from_root`, `indices_from_root_in_range`).
 *
 * @returns Sorted absolute positions.
 * @throws {ReliquaryError} `GRAIL_CHALLENGE_INVALID` if tokens are empty, k ≤ 0, k > L in the
 *   whole-sequence form, or the range is empty or too large.
 * @example
 * ```ts
 * import { challengeIndices } from 'reliquary'
 * const tokens = Array.from({ length: 400 }, (_, i) => 1000 + i)
 * challengeIndices({ tokens, randomness: 'b8ae25a3d8be558258bd42c986a27580c1754c29f418fd135045adcb3721cf0b', k: 32 })
 * ```
 */
export function challengeIndices(p: ChallengeIndicesParameters): number[] {
  const profile = p.profile ?? DEFAULT_PROFILE
  if (p.tokens.length === 0)
    throw new ReliquaryError(
      'GRAIL_CHALLENGE_INVALID',
      'Cannot draw challenge positions over empty tokens.',
    )
  const ranged = p.start !== undefined || p.end !== undefined
  const start = ranged ? (p.start ?? 0) : 0
  const end = ranged ? (p.end ?? p.tokens.length) : (p.seqLen ?? p.tokens.length)
  if (
    !Number.isSafeInteger(start) ||
    !Number.isSafeInteger(end) ||
    start < 0 ||
    end <= start ||
    end - start > MAX_CHALLENGE_POPULATION
  ) {
    throw new ReliquaryError(
      'GRAIL_CHALLENGE_INVALID',
      `Challenge population [${String(start)}, ${String(end)}) is empty, negative or larger than ${MAX_CHALLENGE_POPULATION}.`,
    )
  }
  const L = end - start
  const kReq = p.k ?? Math.min(sketchChallengeCount(profile), L)
  if (!Number.isInteger(kReq) || kReq <= 0) {
    throw new ReliquaryError(
      'GRAIL_CHALLENGE_INVALID',
      `Challenge count k must be a positive integer, received ${String(kReq)}.`,
    )
  }
  // The range form clamps k to the population; the whole-sequence form refuses k > L.
  const k = ranged ? Math.min(kReq, L) : kReq
  if (k > L)
    throw new ReliquaryError(
      'GRAIL_CHALLENGE_INVALID',
      `Challenge count k=${k} exceeds the population ${L}.`,
    )
  const rng = PyRandom.fromBytes(challengeSeed(p.tokens, p.randomness))
  const picked =
    k < L * 0.1 ? rng.sample(L, k) : rng.shuffle(Array.from({ length: L }, (_, i) => i)).slice(0, k)
  picked.sort((a, b) => a - b)
  return start === 0 ? picked : picked.map((x) => x + start)
}
