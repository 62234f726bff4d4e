import type { DemoContext } from './demoContext.js'
import type { TrainedPromptEvaluation } from './evaluateTrainedPrompts.js'
import type { DemoMinerRow } from './formatDemoSummary.js'
import type { DemoMinerSummary, DemoSummary, DemoWindowSummary } from './report.js'

/**
 * What the HTML report draws: the run's configuration, each miner's totals and EMA weight, and
 * the per-window rows. The learning curve keeps only windows evaluated on the final set (it fills
 * over the first trained windows); a point on fewer prompts would not be comparable.
 * @internal
 */
export function buildDemoSummary(
  ctx: DemoContext,
  p: {
    readonly windows: number
    readonly seconds: number
    readonly minerRows: readonly DemoMinerRow[]
    readonly windowRows: readonly DemoWindowSummary[]
    readonly evaluation: TrainedPromptEvaluation
  },
): DemoSummary {
  const { evalSet, evalSizes } = p.evaluation
  const { config, environment, profile } = ctx
  return {
    title: 'Reliquary demo',
    generatedAt: new Date().toISOString(),
    config: {
      model: ctx.modelDir,
      environment: `${environment.id} (${environment.size} problems, seed ${config.seed})`,
      profile: profile.id,
      'changed from e3': ctx.changes.join('; '),
      windows: p.windows,
      miners: p.minerRows.map((m) => m.label).join(', '),
      'seconds (total)': Number(p.seconds.toFixed(1)),
      'checkpoints published':
        ctx.checkpoints.map((c) => `#${c.checkpointN} (window ${c.windowN})`).join(', ') || 'none',
      'trained-prompt evaluation': `${config.evalRollouts} samples × the first ${evalSet.length} trained prompts (${evalSet.join(', ')}), current policy vs base model, same seeds`,
    },
    miners: p.minerRows.map(
      (m): DemoMinerSummary => ({
        hotkey: m.hotkey,
        label: m.label,
        accepted: m.counts.accepted,
        rejected: { ...m.counts.rejected },
        emaWeight: m.emaWeight,
      }),
    ),
    windows: p.windowRows.map((r, i) =>
      evalSizes[i] === evalSet.length
        ? r
        : { ...r, trainedPromptReward: null, baseTrainedPromptReward: null },
    ),
  }
}
