import type { DemoContext } from './demoContext.js'
import type { TrainedPromptEvaluation } from './evaluateTrainedPrompts.js'
import type { DemoMinerRow } from './formatDemoSummary.js'
import type { DemoMinerSummary, DemoSummary, DemoWindowSummary } from './report.js'

/**
 * What the HTML report draws: the run's configuration, each miner's totals and EMA weight, and
 * the per-window rows, each with the size of the trained-prompt set it was evaluated on (the set
 * fills over the first trained windows; the report's learning curve keeps the final-set windows).
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
        generated: m.generated,
        keptBack: { ...m.keptBack },
        groups: m.groups,
      }),
    ),
    // Every window's numbers as the console printed them, with the prompts they were measured
    // on; the report's learning curve keeps only the windows on the final set.
    windows: p.windowRows.map((r, i) => ({ ...r, trainedPrompts: evalSizes[i] ?? null })),
  }
}
