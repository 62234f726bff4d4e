import { esc, finite } from './_reportCharts.js'
import { chainWeightsSection, type DemoChainWeights } from './chainWeights.js'
import { checkSummary } from './_reportCheck.js'
import {
  minersSection,
  settingsSection,
  trainingSection,
  windowsSection,
} from './_reportSections.js'
import { predictionSection } from './_reportPrediction.js'
import { STYLE } from './_reportStyle.js'

/** One miner's totals over a demo run. */
export type DemoMinerSummary = {
  /** The miner's hotkey (SS58) or any unique name. */
  readonly hotkey: string
  /** Short display name (e.g. `"miner-1 (frontier)"`). @default hotkey */
  readonly label?: string | undefined
  /** Submissions the validator accepted. */
  readonly accepted: number
  /** Rejected submissions by reject reason (`out_of_zone`, `prompt_in_cooldown`, …). */
  readonly rejected: Readonly<Record<string, number>>
  /** The miner's final EMA weight (0 … 1). */
  readonly emaWeight: number
  /** Groups the miner generated (its own count; submitted or not). */
  readonly generated?: number | undefined
  /** Generated groups the miner kept back unsent, by reason (`duplicate_rollouts`, `given_up`, `out_of_zone`). */
  readonly keptBack?: Readonly<Record<string, number>> | undefined
  /** Every generated group with the picker's forecast, in order (the report's calibration panel). */
  readonly groups?: readonly DemoGroupOutcome[] | undefined
}

/**
 * One group a miner generated, as its own log tells it: the picker's in-zone forecast at pick
 * time and what the group turned out to be.
 */
export type DemoGroupOutcome = {
  /** The window it was generated for. */
  readonly windowN: number
  /** The prompt it was generated on. */
  readonly promptIdx: number
  /** The picker's probability that it lands in the zone (`PromptPicker.predict`); null without one. */
  readonly predicted: number | null
  /** All M rollouts were generated (not given up, not cut short by repeats). */
  readonly finished: boolean
  /** Finished and in the zone (the picker's zone: the bootstrap σ threshold). */
  readonly inZone: boolean
  /** Sent to the validator. */
  readonly sent: boolean
}

/** One window of a demo run. `null` (or a missing field) marks a value that does not exist, e.g. no training. */
export type DemoWindowSummary = {
  /** The window number. */
  readonly window: number
  /** Mean reward over the rollouts of the window's batch. */
  readonly rewardMean?: number | null | undefined
  /** Standard deviation of those rewards. */
  readonly rewardStd?: number | null | undefined
  /** GRPO loss of the window's training step. */
  readonly loss?: number | null | undefined
  /** KL to the reference policy after the step. */
  readonly kl?: number | null | undefined
  /** Mean reward of the current policy on the fixed set of trained prompts (the learning curve). */
  readonly trainedPromptReward?: number | null | undefined
  /** Mean reward of the base model on the same prompts with the same sampling seeds (the baseline). */
  readonly baseTrainedPromptReward?: number | null | undefined
  /**
   * Prompts those two rewards were measured on. The set fills over the first trained windows:
   * the table shows every window's numbers with this count, the learning curve only the windows
   * measured on the run's largest set (points on fewer prompts are not comparable). @default the
   * largest set
   */
  readonly trainedPrompts?: number | null | undefined
  /**
   * Per miner hotkey: submissions accepted / submitted in this window, and `paid`, its share of
   * the window's pool (E3 pays the first B distinct prompts by drand round, docs/protocol.md §5.3).
   */
  readonly miners?:
    | Readonly<
        Record<
          string,
          {
            readonly accepted: number
            readonly submitted: number
            readonly paid?: number | undefined
          }
        >
      >
    | undefined
}

/** Everything {@link renderDemoReport} draws. */
export type DemoSummary = {
  /** Page title. @default 'Reliquary demo' */
  readonly title?: string | undefined
  /** When the run finished (shown verbatim, e.g. an ISO date). */
  readonly generatedAt?: string | undefined
  /** Settings shown as a table (model, profile, environment, windows, …). */
  readonly config?: Readonly<Record<string, string | number | boolean>> | undefined
  /** Per-miner totals. */
  readonly miners: readonly DemoMinerSummary[]
  /** Per-window series, in window order. */
  readonly windows: readonly DemoWindowSummary[]
  /** `demo --chain`: the weights read back from the chain beside the EMA. */
  readonly chain?: DemoChainWeights | undefined
}

/**
 * Renders the summary of a `reliquary demo` run as one self-contained HTML page (inline CSS and
 * SVG charts, no scripts, no external assets): per miner accepted / rejected-by-reason / EMA
 * weight and acceptance rate; per window batch reward mean ± σ, GRPO loss and KL, and the mean
 * reward on trained prompts. Missing or `null` values leave gaps; all text is HTML-escaped.
 *
 * @param summary - The {@link DemoSummary} of the run.
 * @returns The HTML document as a string (write it to a `.html` file).
 * @throws {ReliquaryError} `INVALID_ARGUMENT` if the summary is malformed (non-array miners or
 *   windows, non-finite counts).
 * @example
 * ```ts
 * import { writeFileSync } from 'node:fs'
 * writeFileSync('demo-report.html', renderDemoReport({
 *   miners: [{ hotkey: 'miner-1', accepted: 12, rejected: { out_of_zone: 3 }, emaWeight: 0.6 }],
 *   windows: [{ window: 1, rewardMean: 0.4, rewardStd: 0.49, loss: 0.01, kl: 0.0002, trainedPromptReward: 0.4 }],
 * }))
 * ```
 */
export function renderDemoReport(summary: DemoSummary): string {
  checkSummary(summary)
  const title = summary.title ?? 'Reliquary demo'
  const miners = summary.miners
  const windows = [...summary.windows].sort((a, b) => a.window - b.window)
  const trained = windows.filter((w) => finite(w.loss)).length
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`
  const out = [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(title)}</title><style>${STYLE}</style></head><body>`,
    `<h1>${esc(title)}</h1>`,
    `<p class="muted">${summary.generatedAt ? `${esc(summary.generatedAt)} · ` : ''}${plural(miners.length, 'miner')} · ${plural(windows.length, 'window')} · ${plural(trained, 'training step')}</p>`,
    ...settingsSection(summary.config),
    ...minersSection(miners, windows),
    ...predictionSection(miners),
    ...chainWeightsSection(summary.chain),
    ...trainingSection(windows),
    ...windowsSection(windows),
    '</body></html>',
  ]
  return `${out.join('\n')}\n`
}
