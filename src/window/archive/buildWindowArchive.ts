import { ReliquaryError, invalidArgument } from '../../errors/base.js'
import type { RewardEnvironment } from '../../reward/environment.js'
import type { ValidRollout, ValidSubmission } from '../seal/validSubmission.js'
import type { WindowBatcher } from '../seal/windowBatcher.js'
import type { ArchivedRolloutRecord, WindowArchiveRecord } from './windowArchive.js'

/** Parameters of {@link buildWindowArchive}. */
export type BuildWindowArchiveParameters = {
  /** A sealed batcher. */
  batcher: WindowBatcher
  /** The validator hotkey (provenance). */
  validatorHotkey: string
  /** Supplies `prompt` and `ground_truth` of batch members; its `id` is the `environment` name. */
  environment: RewardEnvironment
  /** The tokenizer's EOS id for `eos_terminated` (`null`: always false). */
  eosTokenId: number | null
  /** `{hotkey: {reason: count}}` (see `AdmissionPipeline.takeLateDrops`). @default {} */
  lateDrops?: Readonly<Record<string, Readonly<Record<string, number>>>> | undefined
}

function own(o: unknown, key: string): unknown {
  return typeof o === 'object' && o !== null && !Array.isArray(o) && Object.hasOwn(o, key)
    ? (o as Record<string, unknown>)[key]
    : undefined
}

function rolloutPayload(
  s: ValidSubmission,
  withText: boolean,
  eosTokenId: number | null,
): ArchivedRolloutRecord[] {
  return s.rollouts.map((r: ValidRollout, i) => {
    const tokens = [...r.tokens]
    const meta = own(r.commit, 'rollout')
    const pl = own(meta, 'prompt_length')
    const promptLength = typeof pl === 'number' && Number.isSafeInteger(pl) ? pl : 0
    const cl = own(meta, 'completion_length')
    const entry: ArchivedRolloutRecord = {
      tokens,
      reward: r.reward,
      completion_length:
        typeof cl === 'number' && Number.isSafeInteger(cl) && cl >= 0
          ? cl
          : Math.max(0, tokens.length - promptLength),
      eos_terminated:
        tokens.length > 0 && eosTokenId !== null && tokens[tokens.length - 1] === eosTokenId,
    }
    const h = s.rolloutHashes[i]
    if (h !== undefined) entry.hash = h
    if (withText) entry.completion_text = s.completionTexts[i] ?? ''
    return entry
  })
}

/**
 * Builds the E3 window archive record of a sealed window, field for field as the reference's
 * `_archive_window` writes it: the batch (with prompt, ground truth, rollouts with `hash` and
 * `completion_text`, response time, merkle root, claimed checkpoint and worst-case diagnostics),
 * the runners-up (valid submissions whose `(hotkey, prompt)` is not in the batch; metadata only),
 * the worker-stage `reject_summary` and capped `rejected[]`, `rewards_by_hotkey` from the seal and
 * the `late_drops`.
 *
 * `response_time` is `acceptedAtSeconds − openedAtSeconds` when both are known, else `null`.
 *
 * - Spec: docs/protocol.md §3.7 (mirrors `_archive_window` in `reliquary/validator/service.py` at 0b2d53f).
 *
 * @param p - {@link BuildWindowArchiveParameters}
 * @returns A {@link WindowArchiveRecord} ready for {@link encodeWindowArchive}.
 * @throws {ReliquaryError} `WINDOW_STATE_INVALID` if the batcher is not sealed; `INVALID_ARGUMENT`
 *   for a non-string validator hotkey.
 * @example
 * ```ts
 * import { buildWindowArchive, encodeWindowArchive } from 'reliquary'
 * batcher.seal(now)
 * const record = buildWindowArchive({ batcher, validatorHotkey, environment, eosTokenId: 151645, lateDrops: pipeline.takeLateDrops() })
 * const bytes = await encodeWindowArchive(record)
 * ```
 */
export function buildWindowArchive(p: BuildWindowArchiveParameters): WindowArchiveRecord {
  const { batcher, validatorHotkey, environment, eosTokenId, lateDrops = {} } = p
  const sealed = batcher?.sealResult
  if (!sealed)
    throw new ReliquaryError('WINDOW_STATE_INVALID', 'Only a sealed window can be archived.', {
      hints: ['Call batcher.seal(now) first.'],
    })
  if (typeof validatorHotkey !== 'string')
    throw invalidArgument('validatorHotkey', 'a string', validatorHotkey)
  const opened = batcher.openedAtSeconds
  const responseTime = (s: ValidSubmission): number | null =>
    opened === undefined || s.acceptedAtSeconds === undefined ? null : s.acceptedAtSeconds - opened
  const diag = (s: ValidSubmission) => ({
    sketch_diff_max: s.sketchDiffMax,
    lp_dev_max: s.lpDevMax,
    dist_q10_min: s.distQ10Min,
  })
  const batched = new Set(sealed.batch.map((s) => `${s.promptIdx}\u0000${s.hotkey}`))
  return {
    window_start: batcher.windowStart,
    validator_hotkey: validatorHotkey,
    randomness: batcher.randomness,
    environment: environment.id,
    batch: sealed.batch.map((s) => {
      const problem = environment.getProblem(s.promptIdx)
      return {
        hotkey: s.hotkey,
        prompt_idx: s.promptIdx,
        sigma: s.sigma,
        prompt: problem.prompt,
        ground_truth: problem.groundTruth,
        rollouts: rolloutPayload(s, true, eosTokenId),
        response_time: responseTime(s),
        merkle_root: s.merkleRoot.toLowerCase(),
        claimed_checkpoint_hash: s.claimedCheckpointHash,
        ...diag(s),
      }
    }),
    runners_up: batcher
      .validSubmissions()
      .filter((s) => !batched.has(`${s.promptIdx}\u0000${s.hotkey}`))
      .map((s) => ({
        hotkey: s.hotkey,
        prompt_idx: s.promptIdx,
        sigma: s.sigma,
        response_time: responseTime(s),
        merkle_root: s.merkleRoot.toLowerCase(),
        ...diag(s),
      })),
    reject_summary: batcher.rejectSummary(),
    rejected: batcher.rejectedSubmissions().map((r) => ({
      hotkey: r.hotkey,
      prompt_idx: r.promptIdx,
      reason: r.reason,
      sketch_diff_max: r.sketchDiffMax,
      lp_dev_max: r.lpDevMax,
      dist_q10_min: r.distQ10Min,
    })),
    rewards_by_hotkey: Object.fromEntries(sealed.rewardsByHotkey),
    late_drops: Object.fromEntries(Object.entries(lateDrops).map(([hk, m]) => [hk, { ...m }])),
  }
}
