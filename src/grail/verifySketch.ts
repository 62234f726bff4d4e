import { ReliquaryError } from '../errors/base.js'
import { DEFAULT_PROFILE, type ProtocolProfile } from '../protocol/profiles.js'
import { challengeIndices, sketchChallengeCount } from './challenge.js'
import { deriveSketchCoefficients } from './coefficients.js'
import { sketchMatrix } from './computeSketch.js'
import { toMatrix, toMatrixAsync, type HiddenInput, type Matrix } from './hidden.js'
import { sketchDistance, sketchTolerance } from './tolerance.js'

/** A miner commitment: the wire object `{ sketch }` or the bare integer. */
export type CommitmentInput = number | { readonly sketch: number }

/** Parameters of {@link verifySketch}. */
export type VerifySketchParameters = {
  /** The rollout's full token list (prompt and completion). */
  tokens: ArrayLike<number>
  /** The miner's commitments, one per token. */
  commitments: readonly CommitmentInput[]
  /** The validator's own window randomness (never the miner's `beacon.randomness`). */
  randomness: string | Uint8Array
  /** The validator's hidden states: every row of the sequence, or only the challenged rows. */
  hidden: HiddenInput
  /**
   * `"sequence"`: `hidden` has one row per token (default). `"challenges"`: `hidden` has one row
   * per challenged position, in ascending position order.
   */
  hiddenRows?: 'sequence' | 'challenges' | undefined
  /** Protocol profile (tolerance base, K, modulus). @default e3 */
  profile?: ProtocolProfile | undefined
}

/** The check at one challenged position. */
export type SketchPositionCheck = {
  /** Absolute position in the sequence. */
  position: number
  /** The validator's recomputed sketch. */
  expected: number
  /** The miner's commitment. */
  received: number
  /** Circular distance modulo Q (for out-of-range commitments: the raw distance). */
  diff: number
  /** Tolerance at this position. */
  tolerance: number
  pass: boolean
}

/** Verdict of {@link verifySketch}. */
export type VerifySketchReturnType = {
  /** True iff every checked position passed and at least `required` positions were checked. */
  valid: boolean
  /** Positions checked. */
  checked: number
  /** Positions that passed. */
  passed: number
  /** `min(K, len(tokens))`, K = {@link sketchChallengeCount} (32 unless hardened). */
  required: number
  /** Largest `diff` over checked positions (the reference's `sketch_diff_max`). */
  sketchDiffMax: number
  /** Challenged positions, ascending. */
  challengeIndices: number[]
  /** Per-position diagnostics. */
  positions: SketchPositionCheck[]
}

function prepare(p: VerifySketchParameters) {
  const profile = p.profile ?? DEFAULT_PROFILE
  const n = p.tokens.length
  if (!Array.isArray(p.commitments))
    throw new ReliquaryError('INVALID_ARGUMENT', '"commitments" expected an array.')
  if (p.commitments.length !== n) {
    throw new ReliquaryError(
      'GRAIL_SHAPE_MISMATCH',
      `${p.commitments.length} commitments for ${n} tokens; the protocol requires one per token.`,
      {
        hints: ['A validator treats this as a failed proof (the reference returns checked = 0).'],
      },
    )
  }
  const required = Math.min(sketchChallengeCount(profile), n)
  const indices = challengeIndices({
    tokens: p.tokens,
    randomness: p.randomness,
    k: required,
    profile,
  })
  return { profile, required, indices }
}

function judge(
  p: VerifySketchParameters,
  m: Matrix,
  profile: ProtocolProfile,
  required: number,
  indices: number[],
): VerifySketchReturnType {
  const mode = p.hiddenRows ?? 'sequence'
  const expectedRows = mode === 'sequence' ? p.tokens.length : indices.length
  if (m.rows !== expectedRows) {
    throw new ReliquaryError(
      'GRAIL_SHAPE_MISMATCH',
      `Hidden matrix has ${m.rows} rows; ${expectedRows} expected for hiddenRows="${mode}".`,
    )
  }
  const r = deriveSketchCoefficients(p.randomness, { profile })
  const rows = mode === 'sequence' ? indices : indices.map((_, i) => i)
  const expected = sketchMatrix(m, r, profile, rows)
  const Q = profile.grail.primeQ
  const positions: SketchPositionCheck[] = []
  let passed = 0
  let sketchDiffMax = 0
  for (let i = 0; i < indices.length; i++) {
    const position = indices[i]!
    const c = p.commitments[position]
    const received = typeof c === 'number' ? c : (c as { sketch?: unknown } | null)?.sketch
    const tolerance = sketchTolerance(position, { profile })
    const e = expected[i]!
    let diff: number
    let pass: boolean
    if (
      typeof received === 'number' &&
      Number.isSafeInteger(received) &&
      received >= 0 &&
      received < Q
    ) {
      diff = sketchDistance(e, received, Q)
      pass = diff <= tolerance
    } else {
      // Out-of-range or non-integer sketches fail closed. (The reference's formula would give a
      // negative "distance" for values above 2Q and pass them; honest miners never send them.)
      diff =
        typeof received === 'number' && Number.isFinite(received)
          ? Math.abs(e - received)
          : Number.POSITIVE_INFINITY
      pass = false
    }
    if (diff > sketchDiffMax) sketchDiffMax = diff
    if (pass) passed++
    positions.push({
      position,
      expected: e,
      received: typeof received === 'number' ? received : Number.NaN,
      diff,
      tolerance,
      pass,
    })
  }
  const checked = indices.length
  return {
    valid: passed === checked && checked >= required,
    checked,
    passed,
    required,
    sketchDiffMax,
    challengeIndices: indices,
    positions,
  }
}

/**
 * Verifies a rollout's GRAIL commitments against the validator's own hidden states: derives r and
 * the challenged positions from the validator's randomness, recomputes the sketch at each, and
 * compares with the miner's commitment within `int(base + growth·√position)` (circular distance
 * modulo Q). The proof is valid iff every challenged position passes and all `min(K, T)` were
 * checked.
 *
 * A well-formed but wrong proof returns `valid: false` with per-position diagnostics; it never
 * throws for a protocol mismatch. Malformed input (shape, NaN, bad hex) throws.
 *
 * - Spec: docs/protocol.md §1.8 (`verify_commitment_proofs`, `verify_commitment`).
 *
 * @returns {@link VerifySketchReturnType}
 * @throws {ReliquaryError} `GRAIL_SHAPE_MISMATCH`, `NON_FINITE_VALUE`, `INVALID_HEX`, `INVALID_ARGUMENT`.
 * @example
 * ```ts
 * import { verifySketch, e1 } from 'reliquary'
 * const verdict = verifySketch({ tokens, commitments, randomness, hidden, profile: e1 })
 * if (!verdict.valid) console.log(verdict.sketchDiffMax)
 * ```
 */
export function verifySketch(p: VerifySketchParameters): VerifySketchReturnType {
  const { profile, required, indices } = prepare(p)
  return judge(p, toMatrix(p.hidden), profile, required, indices)
}

/** {@link verifySketch} for tensors on asynchronous backends (reads with `await tensor.data()`). */
export async function verifySketchAsync(
  p: VerifySketchParameters,
): Promise<VerifySketchReturnType> {
  const { profile, required, indices } = prepare(p)
  return judge(p, await toMatrixAsync(p.hidden), profile, required, indices)
}
