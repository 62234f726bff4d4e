import type { GrpoStepReturnType } from '../grpo/grpoStep.js'
import { groupSigma } from '../reward/groups.js'
import type { SealWindowReturnType } from '../window/seal/sealWindow.js'
import type { ValidSubmission } from '../window/seal/validSubmission.js'
import type { SealReason } from './steps/admitUntilSeal.js'
import type { OpenedWindow } from './steps/openWindow.js'
import type { PublishedCheckpoint } from './steps/publishPolicy.js'
import type { HotkeyCounts } from './submissionTally.js'

/** What one window did, for reports and the demo summary. */
export type WindowReport = {
  readonly windowN: number
  /** The drand round whose beacon gave the randomness. */
  readonly round: number
  readonly randomness: string
  readonly sealReason: SealReason
  readonly validSubmissions: number
  /** Groups in the training batch. */
  readonly batchSize: number
  /** Whether a full batch was trained (and the step did not fail). */
  readonly trained: boolean
  /** Mean and population σ of the batch's rollout rewards (`null` for an empty batch). */
  readonly rewardMean: number | null
  readonly rewardStd: number | null
  /** The GRPO step's loss, mean KL and PPO loss (`null` without training). */
  readonly loss: number | null
  readonly kl: number | null
  readonly ppoLoss: number | null
  readonly gradNorm: number | null
  readonly learningRate: number | null
  /** The prompts trained on this window (the batch's). */
  readonly batchPrompts: readonly number[]
  /** `rewards_by_hotkey` of the seal. */
  readonly rewardsByHotkey: Readonly<Record<string, number>>
  readonly burn: number
  /** The checkpoint published after this window, if any. */
  readonly published: PublishedCheckpoint | null
  /** Rejects of the window by reason (handler and worker stages). */
  readonly rejects: Readonly<Record<string, number>>
  /** Counts per miner hotkey. */
  readonly perHotkey: Readonly<Record<string, HotkeyCounts>>
  readonly archivePath: string
  /** Seconds spent open, training and publishing. */
  readonly seconds: { readonly open: number; readonly train: number; readonly publish: number }
}

/** Parameters of {@link buildWindowReport}: what each step of the window returned. */
export type BuildWindowReportParameters = {
  opened: OpenedWindow
  sealReason: SealReason
  sealed: SealWindowReturnType<ValidSubmission>
  validSubmissions: number
  step: GrpoStepReturnType | null
  published: PublishedCheckpoint | null
  archivePath: string
  rejects: Readonly<Record<string, number>>
  perHotkey: Readonly<Record<string, HotkeyCounts>>
  /** When the window sealed, finished training and finished publishing (unix seconds). */
  times: { sealedAt: number; trainedAt: number; publishedAt: number }
}

function meanStd(xs: readonly number[]): { mean: number | null; std: number | null } {
  if (xs.length === 0) return { mean: null, std: null }
  return { mean: xs.reduce((a, b) => a + b, 0) / xs.length, std: groupSigma(xs) }
}

/**
 * Assembles the frozen {@link WindowReport} of a finished window.
 *
 * @param p - {@link BuildWindowReportParameters}
 * @returns The report.
 */
export function buildWindowReport(p: BuildWindowReportParameters): WindowReport {
  const { opened, sealed, step, times } = p
  const rewards = meanStd(sealed.batch.flatMap((s) => s.rollouts.map((r) => r.reward)))
  return Object.freeze({
    windowN: opened.windowN,
    round: opened.round,
    randomness: opened.randomness,
    sealReason: p.sealReason,
    validSubmissions: p.validSubmissions,
    batchSize: sealed.batch.length,
    trained: step !== null,
    rewardMean: rewards.mean,
    rewardStd: rewards.std,
    loss: step?.loss ?? null,
    kl: step?.kl ?? null,
    ppoLoss: step?.ppoLoss ?? null,
    gradNorm: step?.gradNorm ?? null,
    learningRate: step?.learningRate ?? null,
    batchPrompts: sealed.batch.map((s) => s.promptIdx),
    rewardsByHotkey: Object.fromEntries(sealed.rewardsByHotkey),
    burn: sealed.burn,
    published: p.published,
    rejects: p.rejects,
    perHotkey: p.perHotkey,
    archivePath: p.archivePath,
    seconds: {
      open: times.sealedAt - opened.openedAt,
      train: times.trainedAt - times.sealedAt,
      publish: times.publishedAt - times.trainedAt,
    },
  })
}
