import { invalidArgument } from '../../errors/base.js'
import { DEFAULT_PROFILE, type ProtocolProfile } from '../../protocol/profiles.js'
import type { Cooldown } from './cooldown.js'
import type { HashDedup } from './hashDedup.js'
import { selectBatchAndDistribute, type WindowSubmission } from './selectBatchAndDistribute.js'
import { assertWindowNumber } from '../archive/windowArchive.js'

/** A valid submission as sealing reads it: selection fields plus the rollout hashes to remember. */
export type SealableSubmission = WindowSubmission & {
  /** E3 per-rollout hashes (hex), recorded in the hash dedup when the prompt wins. */
  readonly rolloutHashes?: readonly string[] | undefined
}

/** Parameters of {@link sealWindow}. */
export type SealWindowParameters<S extends SealableSubmission> = {
  /** Every valid submission of the window, in any order. */
  submissions: readonly S[]
  /** The window being sealed. */
  windowStart: number
  /** Read for selection, then the winning prompts are recorded at `windowStart`. @default none */
  cooldown?: Cooldown | undefined
  /** Every rollout hash of every submission on a winning prompt is recorded, then it is pruned. @default none */
  hashDedup?: HashDedup | undefined
  /** B, the pool and the ordering rule. @default DEFAULT_PROFILE */
  profile?: ProtocolProfile | undefined
}

/** Result of {@link sealWindow}. */
export type SealWindowReturnType<S extends SealableSubmission> = {
  readonly windowStart: number
  /** The training batch (one submission per winning prompt), in selection order. */
  readonly batch: S[]
  /** Emission per hotkey in units of the pool (sums to at most the pool). */
  readonly rewardsByHotkey: Map<string, number>
  /** The unfilled share of the pool. */
  readonly burn: number
  /** The prompts of `batch`, in order (recorded in the cooldown). */
  readonly winningPrompts: number[]
  /** Whether the batch is full (`batch.length ≥ B`): only then does the reference train. */
  readonly trained: boolean
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function merkleText(m: string | Uint8Array): string {
  return typeof m === 'string'
    ? m.toLowerCase()
    : Array.from(m, (x) => x.toString(16).padStart(2, '0')).join('')
}

/**
 * Seals a window: selects the training batch and the emission per hotkey with
 * {@link selectBatchAndDistribute}, then records the winning prompts in the cooldown and the
 * rollout hashes of every submission on a winning prompt in the hash dedup (then prunes it), as
 * the reference's `seal_batch` does.
 *
 * The submissions are put in a canonical order (round, prompt, hotkey, merkle root) first, so the
 * result (batch, amounts and the key order of `rewardsByHotkey`) does not depend on the order in
 * which they were accepted. The amounts are the reference's bit for bit: within one prompt every
 * submitter is credited the same value, so reordering them cannot change a sum.
 *
 * - Spec: docs/protocol.md §5.3 (mirrors `GrpoWindowBatcher.seal_batch` at 0b2d53f).
 *
 * @param p - {@link SealWindowParameters}
 * @returns {@link SealWindowReturnType}
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a malformed submission or window number (from
 *   selection; nothing is recorded then).
 * @example
 * ```ts
 * import { sealWindow, Cooldown, HashDedup } from 'reliquary'
 * const cooldown = new Cooldown()
 * const hashDedup = new HashDedup()
 * const r = sealWindow({ submissions: [{ hotkey: '5F…', promptIdx: 3, merkleRoot: 'ab'.repeat(32), drandRound: 9 }], windowStart: 12, cooldown, hashDedup })
 * r.burn // 0.875 with B = 8
 * ```
 */
export function sealWindow<S extends SealableSubmission>(
  p: SealWindowParameters<S>,
): SealWindowReturnType<S> {
  if (typeof p !== 'object' || p === null)
    throw invalidArgument('parameters', 'an object { submissions, windowStart, … }', p)
  const { submissions, windowStart, cooldown, hashDedup, profile = DEFAULT_PROFILE } = p
  assertWindowNumber(windowStart, 'windowStart')
  if (!Array.isArray(submissions))
    throw invalidArgument('submissions', 'an array of submissions', submissions)
  const round = (s: S): number =>
    (profile.window.ordering === 'drand_round' ? s.drandRound : s.signedRound) ?? -1
  const ordered = [...submissions].sort(
    (a, b) =>
      round(a) - round(b) ||
      a.promptIdx - b.promptIdx ||
      compareText(String(a.hotkey), String(b.hotkey)) ||
      compareText(merkleText(a.merkleRoot), merkleText(b.merkleRoot)),
  )
  const r = selectBatchAndDistribute(ordered, { currentWindow: windowStart, cooldown, profile })
  // Selection succeeded, so the inputs are well formed: record (reference `seal_batch`).
  cooldown?.recordAll(r.winningPrompts, windowStart)
  if (hashDedup) {
    const winning = new Set(r.winningPrompts)
    for (const s of ordered) {
      if (!winning.has(s.promptIdx)) continue
      for (const h of s.rolloutHashes ?? []) hashDedup.add(h, windowStart)
    }
    hashDedup.prune(windowStart)
  }
  return {
    windowStart,
    batch: r.batch,
    rewardsByHotkey: r.rewardsByHotkey,
    burn: r.burn,
    winningPrompts: r.winningPrompts,
    trained: r.batch.length >= profile.group.batchSize,
  }
}
