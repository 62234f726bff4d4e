import type { WindowReport } from '../validator/createValidator.js'
import { fmt } from './_format.js'
import type { DemoContext, DemoMiner } from './demoContext.js'
import type { DemoWindowSummary } from './report.js'

/**
 * The summary row of a finished window (batch reward, loss, KL, trained-prompt rewards, each
 * miner's accepted/submitted), logged as the window's closing line.
 * @internal
 */
export function recordDemoWindow(
  ctx: DemoContext,
  miners: readonly DemoMiner[],
  report: WindowReport,
  evaluation: {
    trainedPromptReward: number | null
    baseTrainedPromptReward: number | null
    seconds: number
    prompts: number
  },
  windowSeconds: number,
): DemoWindowSummary {
  const minersOfWindow: Record<string, { accepted: number; submitted: number; paid: number }> = {}
  for (const m of miners) {
    const c = report.perHotkey[m.hotkey]
    minersOfWindow[m.hotkey] = {
      accepted: c?.accepted ?? 0,
      submitted: c?.submitted ?? 0,
      paid: report.rewardsByHotkey[m.hotkey] ?? 0,
    }
  }
  const { trainedPromptReward, baseTrainedPromptReward } = evaluation
  const acc = miners
    .map((m) => {
      const c = minersOfWindow[m.hotkey]!
      return `${m.label.split(' ')[0]} ${c.accepted}/${c.submitted} (paid ${fmt(c.paid)})`
    })
    .join(', ')
  const s = report.seconds
  ctx.log(
    `window ${report.windowN} done in ${windowSeconds.toFixed(1)} s · seal ${report.sealReason} · batch ${report.batchSize} · reward ${fmt(report.rewardMean)} ± ${fmt(report.rewardStd)} · ` +
      `loss ${fmt(report.loss, 5)} · KL ${fmt(report.kl, 6)} · trained-prompt reward ${fmt(trainedPromptReward)} (base ${fmt(baseTrainedPromptReward)}, ${evaluation.prompts} prompts) · accepted/submitted: ${acc} · ` +
      `seconds: open ${s.open.toFixed(1)}, train ${s.train.toFixed(1)}, publish ${s.publish.toFixed(1)}, eval ${evaluation.seconds.toFixed(1)}`,
  )
  return {
    window: report.windowN,
    rewardMean: report.rewardMean,
    rewardStd: report.rewardStd,
    loss: report.loss,
    kl: report.kl,
    trainedPromptReward,
    baseTrainedPromptReward,
    miners: minersOfWindow,
  }
}
