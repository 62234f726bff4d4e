import { groupSigma, isInZone } from '../reward/groups.js'
import type { HotkeyCounts, WindowReport } from '../validator/createValidator.js'
import { PAY_RULE, fmt, lpad, pad, pct, rejectedTotal, signed } from './_format.js'
import type { DemoContext } from './demoContext.js'
import type { DemoMinerKind } from './demoOptions.js'
import type { TrainedPromptEvaluation } from './evaluateTrainedPrompts.js'
import type { DemoGroupOutcome, DemoWindowSummary } from './report.js'

/** One miner's totals in the summary. @internal */
export type DemoMinerRow = {
  readonly kind: DemoMinerKind
  readonly label: string
  readonly hotkey: string
  readonly counts: HotkeyCounts
  readonly emaWeight: number
  /** Pool shares paid over the run. */
  readonly paid: number
  /** Groups generated, and those kept back unsent by reason (the miner's side). */
  readonly generated: number
  readonly keptBack: Readonly<Record<string, number>>
  /** Each generated group's forecast and outcome. */
  readonly groups?: readonly DemoGroupOutcome[] | undefined
}

/** What {@link formatDemoSummary} prints. @internal */
export type FormatDemoSummaryParameters = {
  readonly reports: readonly WindowReport[]
  readonly seconds: number
  readonly minerRows: readonly DemoMinerRow[]
  readonly windowRows: readonly DemoWindowSummary[]
  readonly evaluation: TrainedPromptEvaluation
}

/**
 * The final summary table, as printed: per miner (submitted, accepted, rejected by reason,
 * acceptance rate, EMA weight), the frontier-vs-uniform acceptance, the learning curve on the
 * trained prompts, checkpoints, and one row per window.
 * @internal
 */
export function formatDemoSummary(ctx: DemoContext, p: FormatDemoSummaryParameters): string {
  const { reports, seconds } = p
  const perWindow = (seconds / Math.max(1, reports.length)).toFixed(1)
  return [
    '',
    `Summary: ${reports.length} windows in ${seconds.toFixed(1)} s (${perWindow} s per window), profile ${ctx.profile.id}`,
    `  profile changes from e3: ${ctx.changes.join('; ')}`,
    ...minerTable(ctx, p.minerRows),
    ...evaluationLines(ctx, p.windowRows, p.evaluation),
    `  checkpoints published: ${ctx.checkpoints.map((c) => `#${c.checkpointN} after window ${c.windowN} (${c.revision.slice(0, 12)}…)`).join(', ') || 'none'}`,
    `  checkpoint switches after custody verification: ${ctx.checkpointLoads.map((c) => `${c.miner} → #${c.checkpointN}`).join(', ') || 'none'}`,
    ...windowTable(reports, p.windowRows),
  ].join('\n')
}

function minerTable(ctx: DemoContext, minerRows: readonly DemoMinerRow[]): string[] {
  const lines = [
    '',
    `  ${pad('miner', 20)}${lpad('generated', 10)}${lpad('submitted', 10)}${lpad('accepted', 10)}${lpad('rejected', 10)}${lpad('acceptance', 12)}${lpad('paid', 8)}${lpad('EMA weight', 12)}  rejected by reason; kept back unsent`,
  ]
  const byCount = (o: Readonly<Record<string, number>>): string =>
    Object.entries(o)
      .sort((a, b) => b[1] - a[1])
      .map(([r, n]) => `${r} ${n}`)
      .join(', ') || '–'
  for (const m of minerRows) {
    const rej = rejectedTotal(m.counts)
    lines.push(
      `  ${pad(m.label, 20)}${lpad(String(m.generated), 10)}${lpad(String(m.counts.submitted), 10)}${lpad(String(m.counts.accepted), 10)}${lpad(String(rej), 10)}${lpad(pct(m.counts.accepted, m.counts.accepted + rej), 12)}${lpad(fmt(m.paid), 8)}${lpad(m.emaWeight.toFixed(6), 12)}  ${byCount(m.counts.rejected)}; ${byCount(m.keptBack)}`,
    )
  }
  const rate = (k: DemoMinerKind): string => {
    const ms = minerRows.filter((m) => m.kind === k)
    const a = ms.reduce((x, m) => x + m.counts.accepted, 0)
    return pct(a, a + ms.reduce((x, m) => x + rejectedTotal(m.counts), 0))
  }
  const kinds = ctx.config.kinds
  if (kinds.includes('frontier') && kinds.includes('uniform')) {
    const perGenerated = (k: DemoMinerKind): string => {
      const ms = minerRows.filter((m) => m.kind === k)
      const generated = ms.reduce((x, m) => x + m.generated, 0)
      return generated > 0 ? fmt(ms.reduce((x, m) => x + m.paid, 0) / generated) : '–'
    }
    lines.push(
      '',
      `  acceptance rate: frontier ${rate('frontier')} vs uniform ${rate('uniform')}`,
      `  paid per generated group: frontier ${perGenerated('frontier')} vs uniform ${perGenerated('uniform')} (${PAY_RULE})`,
    )
  }
  return lines
}

function evaluationLines(
  ctx: DemoContext,
  windowRows: readonly DemoWindowSummary[],
  ev: TrainedPromptEvaluation,
): string[] {
  const { evalRollouts, evalPrompts } = ctx.config
  const { evalSet, evalSizes, baseRewards, lastPolicy } = ev
  // The learning curve: windows evaluated on the complete (final) evaluation set.
  const curve = windowRows.filter(
    (r, i) => typeof r.trainedPromptReward === 'number' && evalSizes[i] === evalSet.length,
  )
  const lift = curve.length
    ? (curve.at(-1)!.trainedPromptReward as number) - (curve[0]!.baseTrainedPromptReward as number)
    : null
  const lines = [
    `  mean reward on ${evalSet.length} trained prompts (${evalRollouts} samples each, same seeds for every model; prompts ${evalSet.join(', ') || '–'}): ` +
      (curve.length && lift !== null
        ? `base model ${fmt(curve[0]!.baseTrainedPromptReward)} → policy ${curve.map((r) => `w${r.window} ${fmt(r.trainedPromptReward)}`).join(', ')} (${signed(lift)} over the base by window ${curve.at(-1)!.window})`
        : evalPrompts === 0
          ? '– (evaluation off)'
          : '– (no window trained)'),
  ]
  if (evalSet.length > 0 && evalSet.every((p) => lastPolicy.has(p) && baseRewards.has(p))) {
    // The frontier moves: prompts the base model had in the zone become easy for the policy.
    const zone = (k: number): boolean =>
      isInZone(groupSigma(Array.from({ length: evalRollouts }, (_, j) => (j < k ? 1 : 0))), {
        profile: ctx.profile,
      })
    const inZone = (m: Map<number, number>): number => evalSet.filter((p) => zone(m.get(p)!)).length
    lines.push(
      `  the frontier moves: successes of ${evalRollouts} samples per trained prompt, base → final policy: ${evalSet.map((p) => `#${p} ${baseRewards.get(p)}→${lastPolicy.get(p)}`).join(', ')}; ` +
        `in the zone (σ ≥ ${ctx.profile.group.sigmaMin}): ${inZone(baseRewards)} of ${evalSet.length} → ${inZone(lastPolicy)}`,
    )
  }
  return lines
}

function windowTable(
  reports: readonly WindowReport[],
  windowRows: readonly DemoWindowSummary[],
): string[] {
  const lines = [
    '',
    `  ${lpad('window', 6)}${lpad('seal', 9)}${lpad('batch', 7)}${lpad('reward', 9)}${lpad('σ', 8)}${lpad('loss', 12)}${lpad('KL', 12)}${lpad('trained (base)', 16)}  published`,
  ]
  for (const [i, r] of reports.entries()) {
    const row = windowRows[i]
    lines.push(
      `  ${lpad(String(r.windowN), 6)}${lpad(r.sealReason, 9)}${lpad(String(r.batchSize), 7)}${lpad(fmt(r.rewardMean), 9)}${lpad(fmt(r.rewardStd), 8)}${lpad(fmt(r.loss, 5), 12)}${lpad(fmt(r.kl, 6), 12)}${lpad(`${fmt(row?.trainedPromptReward)} (${fmt(row?.baseTrainedPromptReward)})`, 16)}  ${r.published ? `#${r.published.checkpointN}` : ''}`,
    )
  }
  return lines
}
