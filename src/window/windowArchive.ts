import { invalidArgument } from '../errors/base.js'

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
 * - Spec: PROTOCOL.md §3.7.
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
  if (typeof a !== 'object' || a === null || Array.isArray(a)) throw invalidArgument(`archives[${i}]`, 'a window archive object', a)
  const w = (a as Record<string, unknown>)['window_start']
  if (!Number.isSafeInteger(w) || (w as number) < 0) throw invalidArgument(`archives[${i}].window_start`, 'a non-negative safe integer', w)
  const batch = (a as Record<string, unknown>)['batch']
  if (batch !== undefined && !Array.isArray(batch)) throw invalidArgument(`archives[${i}].batch`, 'an array', batch)
}

/** Checks and returns the batch of an archive. @internal */
export function archiveBatch(a: WindowArchive, i: number): readonly ArchivedSubmission[] {
  const batch = a.batch ?? []
  batch.forEach((s, j) => {
    if (typeof s !== 'object' || s === null) throw invalidArgument(`archives[${i}].batch[${j}]`, 'an object', s)
    if (!Number.isSafeInteger(s.prompt_idx) || s.prompt_idx < 0) {
      throw invalidArgument(`archives[${i}].batch[${j}].prompt_idx`, 'a non-negative safe integer', s.prompt_idx)
    }
  })
  return batch
}

/** Throws unless `x` is a non-negative safe integer. @internal */
export function assertWindowNumber(x: unknown, param: string): asserts x is number {
  if (!Number.isSafeInteger(x) || (x as number) < 0) throw invalidArgument(param, 'a non-negative safe integer', x)
}
