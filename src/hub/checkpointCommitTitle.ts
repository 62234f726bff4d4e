import { invalidArgument } from '../errors/base.js'

const TITLE = /^checkpoint (0|[1-9][0-9]*)$/

/**
 * The Hub commit title of checkpoint `n`, exactly as the reference validator writes it:
 * `HfApi.upload_folder(commit_message=f"checkpoint {n}")`. At start-up the reference counts the
 * commits whose title starts with `"checkpoint "` to recover `checkpoint_n`.
 *
 * - Spec: docs/protocol.md §9 [59b4718:reliquary/validator/checkpoint.py].
 *
 * @param checkpointN - Non-negative integer.
 * @returns `"checkpoint {n}"`.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a negative or non-integer `checkpointN`.
 * @example
 * ```ts
 * import { checkpointCommitTitle } from 'reliquary/hub'
 * checkpointCommitTitle(7) // "checkpoint 7"
 * ```
 */
export function checkpointCommitTitle(checkpointN: number): string {
  if (!Number.isSafeInteger(checkpointN) || checkpointN < 0)
    throw invalidArgument('checkpointN', 'a non-negative integer', checkpointN)
  return `checkpoint ${checkpointN}`
}

/**
 * The checkpoint number a Hub commit title names, or null when the title is not exactly
 * `checkpoint {n}` (decimal, no sign, no leading zeros, no trailing text).
 *
 * @param title - A commit title (the first line of the commit message).
 * @example
 * ```ts
 * import { parseCheckpointCommitTitle } from 'reliquary/hub'
 * parseCheckpointCommitTitle('checkpoint 12') // 12
 * parseCheckpointCommitTitle('initial commit') // null
 * ```
 */
export function parseCheckpointCommitTitle(title: string): number | null {
  const m = typeof title === 'string' ? TITLE.exec(title) : null
  if (!m) return null
  const n = Number(m[1])
  return Number.isSafeInteger(n) ? n : null
}
