// The sections of the demo report, top to bottom: settings, miners, training, windows.
import { PAY_RULE } from './_format.js'
import { PALETTE, REASON_PALETTE, barChart, esc, finite, fmt, lineChart } from './_reportCharts.js'
import type { DemoMinerSummary, DemoSummary, DemoWindowSummary } from './report.js'

const labelOf = (m: DemoMinerSummary): string => m.label ?? m.hotkey
const rejectedTotal = (m: DemoMinerSummary): number =>
  Object.values(m.rejected).reduce((a, b) => a + b, 0)

/** The settings table, or nothing without settings. @internal */
export function settingsSection(config: DemoSummary['config']): string[] {
  if (!config || Object.keys(config).length === 0) return []
  return [
    '<h2>Settings</h2><table><tbody>',
    ...Object.entries(config).map(
      ([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(String(v))}</td></tr>`,
    ),
    '</tbody></table>',
  ]
}

/**
 * Per miner: the totals table (accepted, rejected by reason, acceptance, EMA weight) and the
 * charts (submissions, acceptance rate, EMA weight, acceptance per window).
 * @internal
 */
export function minersSection(
  miners: readonly DemoMinerSummary[],
  windows: readonly DemoWindowSummary[],
): string[] {
  if (miners.length === 0) return ['<h2>Miners</h2>', '<p class="muted">No miners.</p>']
  const colorOf = new Map(miners.map((m, i) => [m.hotkey, PALETTE[i % PALETTE.length]!]))
  const reasons = [...new Set(miners.flatMap((m) => Object.keys(m.rejected)))].sort()
  const out = [
    '<h2>Miners</h2>',
    `<table><thead><tr><th>miner</th><th>accepted</th><th>rejected</th>${reasons.map((r) => `<th>${esc(r)}</th>`).join('')}<th>acceptance</th><th>EMA weight</th></tr></thead><tbody>`,
  ]
  for (const m of miners) {
    const total = m.accepted + rejectedTotal(m)
    out.push(
      `<tr><td><i style="display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;background:${colorOf.get(m.hotkey)}"></i>${esc(labelOf(m))}</td>` +
        `<td>${m.accepted}</td><td>${rejectedTotal(m)}</td>${reasons.map((r) => `<td>${m.rejected[r] ?? 0}</td>`).join('')}` +
        `<td>${total > 0 ? `${fmt((m.accepted / total) * 100, 1)}%` : '–'}</td><td>${fmt(m.emaWeight, 4)}</td></tr>`,
    )
  }
  out.push('</tbody></table>', ...paySection(miners, windows))
  out.push('<div class="grid-2">', ...minerCharts(miners, windows, colorOf, reasons), '</div>')
  return out
}

/**
 * Why acceptance is not weight: per miner, the pool shares paid over the run beside the accepted
 * groups (only with per-window `paid` numbers).
 */
function paySection(
  miners: readonly DemoMinerSummary[],
  windows: readonly DemoWindowSummary[],
): string[] {
  const paidOf = (m: DemoMinerSummary): number =>
    windows.reduce((a, w) => a + (w.miners?.[m.hotkey]?.paid ?? 0), 0)
  if (!windows.some((w) => Object.values(w.miners ?? {}).some((c) => finite(c.paid)))) return []
  return [
    '<h3>Acceptance is not pay</h3>',
    `<p class="muted">${esc(PAY_RULE)} (docs/protocol.md §5.3, §8). Kept back: groups the miner generated but did not send (<code>duplicate_rollouts</code>: a rollout kept repeating an earlier one, which the validator would reject as <code>hash_duplicate</code>; <code>given_up</code>: the frontier picker stopped generating a group once its completions so far made further draws likely to repeat them, after a few rollouts instead of M or more).</p>`,
    '<table><thead><tr><th>miner</th><th>generated</th><th>kept back unsent</th><th>accepted</th><th>pool shares paid (sum over windows)</th><th>paid per accepted group</th><th>paid per generated group</th><th>windows paid</th></tr></thead><tbody>',
    ...miners.map((m) => {
      const paid = paidOf(m)
      const windowsPaid = windows.filter((w) => (w.miners?.[m.hotkey]?.paid ?? 0) > 0).length
      const kept =
        Object.entries(m.keptBack ?? {})
          .sort((a, b) => b[1] - a[1])
          .map(([r, n]) => `${esc(r)} ${n}`)
          .join(', ') || '–'
      const generated = m.generated ?? null
      return `<tr><td>${esc(labelOf(m))}</td><td>${generated ?? '–'}</td><td>${generated === null ? '–' : kept}</td><td>${m.accepted}</td><td>${fmt(paid, 3)}</td><td>${m.accepted > 0 ? fmt(paid / m.accepted, 3) : '–'}</td><td>${generated ? fmt(paid / generated, 3) : '–'}</td><td>${windowsPaid}</td></tr>`
    }),
    '</tbody></table>',
  ]
}

function minerCharts(
  miners: readonly DemoMinerSummary[],
  windows: readonly DemoWindowSummary[],
  colorOf: ReadonlyMap<string, string>,
  reasons: readonly string[],
): string[] {
  const reasonColor = new Map(
    reasons.map((r, i) => [r, REASON_PALETTE[i % REASON_PALETTE.length]!]),
  )
  const out = [
    barChart(
      'Submissions per miner: accepted and rejected by reason',
      miners.map((m) => ({
        label: labelOf(m),
        segments: [
          { name: 'accepted', value: m.accepted, color: '#16a34a' },
          ...reasons.map((r) => ({
            name: r,
            value: m.rejected[r] ?? 0,
            color: reasonColor.get(r)!,
          })),
        ],
      })),
    ),
    barChart(
      'Acceptance rate per miner',
      miners.map((m) => {
        const total = m.accepted + rejectedTotal(m)
        const value = total > 0 ? m.accepted / total : 0
        return {
          label: labelOf(m),
          segments: [{ name: 'acceptance', value, color: colorOf.get(m.hotkey)! }],
        }
      }),
      { max: 1, percent: true },
    ),
    barChart(
      'Final EMA weight per miner',
      miners.map((m) => ({
        label: labelOf(m),
        segments: [{ name: 'EMA weight', value: m.emaWeight, color: colorOf.get(m.hotkey)! }],
      })),
    ),
  ]
  if (windows.some((w) => w.miners && Object.keys(w.miners).length > 0)) {
    out.push(
      lineChart(
        'Acceptance rate per miner and window',
        miners.map((m) => ({
          name: labelOf(m),
          color: colorOf.get(m.hotkey)!,
          points: windows.map((w) => {
            const c = w.miners?.[m.hotkey]
            return { x: w.window, y: c && c.submitted > 0 ? c.accepted / c.submitted : null }
          }),
        })),
        { yMin: 0, yMax: 1, yLabel: 'accepted / submitted' },
      ),
    )
  }
  if (windows.some((w) => Object.values(w.miners ?? {}).some((c) => finite(c.paid)))) {
    out.push(
      lineChart(
        'Share of the pool paid per miner and window',
        miners.map((m) => ({
          name: labelOf(m),
          color: colorOf.get(m.hotkey)!,
          points: windows.map((w) => ({ x: w.window, y: w.miners?.[m.hotkey]?.paid ?? null })),
        })),
        { yMin: 0, yMax: 1, yLabel: 'share of the pool' },
      ),
    )
  }
  return out
}

/**
 * The training charts: batch reward mean ± σ, trained-prompt reward vs base (windows measured on
 * the largest prompt set only), loss, KL. @internal
 */
export function trainingSection(windows: readonly DemoWindowSummary[]): string[] {
  const largest = Math.max(
    0,
    ...windows.map((w) => (finite(w.trainedPrompts) ? w.trainedPrompts! : 0)),
  )
  const onFullSet = (w: DemoWindowSummary): boolean =>
    !finite(w.trainedPrompts) || w.trainedPrompts === largest
  const band = windows
    .filter((w) => finite(w.rewardMean) && finite(w.rewardStd))
    .map((w) => ({
      x: w.window,
      lo: w.rewardMean! - w.rewardStd!,
      hi: w.rewardMean! + w.rewardStd!,
    }))
  const series = (
    name: string,
    color: string,
    y: (w: DemoWindowSummary) => number | null | undefined,
  ) => ({
    name,
    color,
    points: windows.map((w) => ({ x: w.window, y: y(w) })),
  })
  return [
    '<h2>Training</h2><div class="grid-2">',
    lineChart(
      'Batch reward per window: mean ± σ',
      [{ ...series('mean reward', PALETTE[0]!, (w) => w.rewardMean), band }],
      { yLabel: 'reward' },
    ),
    lineChart(
      'Mean reward on trained prompts: policy vs base model',
      [
        series('policy after the window', PALETTE[2]!, (w) =>
          onFullSet(w) ? w.trainedPromptReward : null,
        ),
        series('base model', PALETTE[3]!, (w) => (onFullSet(w) ? w.baseTrainedPromptReward : null)),
      ],
      { yLabel: 'reward' },
    ),
    lineChart('GRPO loss per window', [series('loss', PALETTE[1]!, (w) => w.loss)], {
      yLabel: 'loss',
    }),
    lineChart('KL to the reference per window', [series('KL', PALETTE[4]!, (w) => w.kl)], {
      yLabel: 'KL',
    }),
    '</div>',
  ]
}

/** One table row per window. @internal */
export function windowsSection(windows: readonly DemoWindowSummary[]): string[] {
  if (windows.length === 0) return ['<h2>Windows</h2>', '<p class="muted">No windows.</p>']
  const out = [
    '<h2>Windows</h2>',
    '<table><thead><tr><th>window</th><th>reward mean</th><th>reward σ</th><th>loss</th><th>KL</th><th>trained-prompt reward (base)</th><th>trained prompts</th><th>accepted / submitted</th></tr></thead><tbody>',
  ]
  for (const w of windows) {
    const counts = Object.values(w.miners ?? {})
    const acc = counts.reduce((a, c) => a + c.accepted, 0)
    const sub = counts.reduce((a, c) => a + c.submitted, 0)
    out.push(
      `<tr><td>${w.window}</td><td>${fmt(w.rewardMean)}</td><td>${fmt(w.rewardStd)}</td><td>${fmt(w.loss, 4)}</td><td>${fmt(w.kl, 5)}</td>` +
        `<td>${fmt(w.trainedPromptReward)}${finite(w.baseTrainedPromptReward) ? ` (${fmt(w.baseTrainedPromptReward)})` : ''}</td><td>${finite(w.trainedPrompts) ? w.trainedPrompts : '–'}</td><td>${counts.length > 0 ? `${acc} / ${sub}` : '–'}</td></tr>`,
    )
  }
  out.push('</tbody></table>')
  return out
}
