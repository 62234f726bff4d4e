import * as z from 'zod'
import { invalidArgument } from '../../errors/base.js'

/** One rollout of an archived batch submission (only the fields this SDK reads). */
export type ArchivedRollout = {
  /** Completion token ids (the outer `rollout.tokens` in E1–E3). */
  readonly tokens?: readonly number[] | undefined
  /** E3: hex SHA-256 over the BE32 token ids. */
  readonly hash?: string | undefined
}

/** One archived batch member (only the fields this SDK reads). */
export type ArchivedSubmission = {
  readonly hotkey?: string | undefined
  readonly prompt_idx: number
  readonly rollouts?: readonly ArchivedRollout[] | undefined
}

/**
 * The part of an R2 window archive (`reliquary/dataset/window-<N>.json.gz`, parsed) that cooldown
 * rebuild, hash-dedup rebuild and EMA replay read. Field names are the archive's own.
 *
 * - Spec: docs/protocol.md §3.7.
 */
export type WindowArchive = {
  /** The window number. */
  readonly window_start: number
  /** The training batch (E1: the paid members too). */
  readonly batch?: readonly ArchivedSubmission[] | undefined
  /** E3: what each hotkey earned in this window (sums to at most the pool). */
  readonly rewards_by_hotkey?: Readonly<Record<string, number>> | undefined
  /** HEAD: `"aborted"` windows are skipped by the EMA replay. */
  readonly window_status?: string | undefined
}

/** Checks the fields of one archive that every reader needs. @internal */
export function assertArchive(a: unknown, i: number): asserts a is WindowArchive {
  if (typeof a !== 'object' || a === null || Array.isArray(a))
    throw invalidArgument(`archives[${i}]`, 'a window archive object', a)
  const w = (a as Record<string, unknown>).window_start
  if (!Number.isSafeInteger(w) || (w as number) < 0)
    throw invalidArgument(`archives[${i}].window_start`, 'a non-negative safe integer', w)
  const batch = (a as Record<string, unknown>).batch
  if (batch !== undefined && !Array.isArray(batch))
    throw invalidArgument(`archives[${i}].batch`, 'an array', batch)
}

/** Checks and returns the batch of an archive. @internal */
export function archiveBatch(a: WindowArchive, i: number): readonly ArchivedSubmission[] {
  const batch = a.batch ?? []
  batch.forEach((s, j) => {
    if (typeof s !== 'object' || s === null)
      throw invalidArgument(`archives[${i}].batch[${j}]`, 'an object', s)
    if (!Number.isSafeInteger(s.prompt_idx) || s.prompt_idx < 0) {
      throw invalidArgument(
        `archives[${i}].batch[${j}].prompt_idx`,
        'a non-negative safe integer',
        s.prompt_idx,
      )
    }
  })
  return batch
}

/** Throws unless `x` is a non-negative safe integer. @internal */
export function assertWindowNumber(x: unknown, param: string): asserts x is number {
  if (!Number.isSafeInteger(x) || (x as number) < 0)
    throw invalidArgument(param, 'a non-negative safe integer', x)
}

// ------------------------------------------------------------------------------------------------
// The full E3 archive record (docs/protocol.md §3.7; `_archive_window` in
// reliquary/validator/service.py
// at 0b2d53f). Objects are loose: fields written by other reference versions are kept, not
// rejected, so HEAD archives still read; every array and string is bounded.
// ------------------------------------------------------------------------------------------------

/** Bounds of the archive schema (not protocol numbers: they keep hostile archives cheap to reject). */
export const ARCHIVE_LIMITS = Object.freeze({
  maxTokensPerRollout: 65_536,
  maxRolloutsPerSubmission: 64,
  maxBatch: 1_024,
  maxEntries: 200_000,
  maxTextChars: 4_000_000,
  maxShortChars: 512,
  /** Largest decompressed archive accepted by the reader, in bytes. */
  maxBytes: 256 * 1024 * 1024,
  /** Largest compressed archive accepted by the reader, in bytes. */
  maxCompressedBytes: 64 * 1024 * 1024,
} as const)

const aUint = () => z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
const aFinite = () => z.number().refine(Number.isFinite, { message: 'must be finite' })
const aShort = () => z.string().max(ARCHIVE_LIMITS.maxShortChars)
const aText = () => z.string().max(ARCHIVE_LIMITS.maxTextChars)
const diagnostics = {
  /** Worst GRAIL sketch diff (never given for `grail_fail`). */
  sketch_diff_max: z.number().int().nullable(),
  /** Worst logprob median deviation. */
  lp_dev_max: aFinite().nullable(),
  /** Smallest distribution q10. */
  dist_q10_min: aFinite().nullable(),
}

/** One archived rollout: the outer tokens, claimed reward, and (E3) the hash of `commit.tokens`. */
export const archivedRolloutSchema = /*#__PURE__*/ z.looseObject({
  tokens: z.array(aUint()).max(ARCHIVE_LIMITS.maxTokensPerRollout),
  reward: aFinite(),
  completion_length: aUint(),
  eos_terminated: z.boolean(),
  hash: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters')
    .optional(),
  completion_text: aText().optional(),
})

/** One batch member (the trained submission of a winning prompt). */
export const archivedBatchEntrySchema = /*#__PURE__*/ z.looseObject({
  hotkey: aShort(),
  prompt_idx: aUint(),
  sigma: aFinite(),
  prompt: aText(),
  ground_truth: aText(),
  rollouts: z.array(archivedRolloutSchema).max(ARCHIVE_LIMITS.maxRolloutsPerSubmission),
  /** Seconds from window open to acceptance, or null. */
  response_time: aFinite().nullable(),
  merkle_root: aShort(),
  claimed_checkpoint_hash: aShort(),
  ...diagnostics,
})

/** A valid submission that did not make the batch (metadata only). */
export const archivedRunnerUpSchema = /*#__PURE__*/ z.looseObject({
  hotkey: aShort(),
  prompt_idx: aUint(),
  sigma: aFinite(),
  response_time: aFinite().nullable(),
  merkle_root: aShort(),
  ...diagnostics,
})

/** A worker-stage reject (at most 5 per hotkey). */
export const archivedRejectSchema = /*#__PURE__*/ z.looseObject({
  hotkey: aShort(),
  prompt_idx: aUint(),
  reason: aShort(),
  ...diagnostics,
})

/** The E3 window archive `reliquary/dataset/window-<N>.json.gz`. */
export const windowArchiveRecordSchema = /*#__PURE__*/ z.looseObject({
  window_start: aUint(),
  /** Validator hotkey (provenance). */
  validator_hotkey: aShort(),
  /** The window randomness (hex). */
  randomness: aShort(),
  /** Environment name. */
  environment: aShort(),
  batch: z.array(archivedBatchEntrySchema).max(ARCHIVE_LIMITS.maxBatch),
  runners_up: z.array(archivedRunnerUpSchema).max(ARCHIVE_LIMITS.maxEntries),
  /** Worker-stage reject counts by reason. */
  reject_summary: z.record(aShort(), aUint()),
  rejected: z.array(archivedRejectSchema).max(ARCHIVE_LIMITS.maxEntries),
  /** Emission per hotkey in units of the pool. */
  rewards_by_hotkey: z.record(aShort(), aFinite()),
  /** `{hotkey: {reason: count}}` of requests dropped late (window not active, rate limited, …). */
  late_drops: z.record(aShort(), z.record(aShort(), aUint())),
})

/** One archived rollout (E3). */
export type ArchivedRolloutRecord = z.output<typeof archivedRolloutSchema>
/** One archived batch member (E3). */
export type ArchivedBatchEntry = z.output<typeof archivedBatchEntrySchema>
/** One archived runner-up (E3). */
export type ArchivedRunnerUp = z.output<typeof archivedRunnerUpSchema>
/** One archived reject (E3). */
export type ArchivedReject = z.output<typeof archivedRejectSchema>
/** The full E3 window archive record, as {@link encodeWindowArchive} writes and {@link decodeWindowArchive} reads it. */
export type WindowArchiveRecord = z.output<typeof windowArchiveRecordSchema>
