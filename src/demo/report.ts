import { invalidArgument } from '../errors/base.js'

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
  /** Per miner hotkey: submissions accepted / submitted in this window. */
  readonly miners?:
    | Readonly<Record<string, { readonly accepted: number; readonly submitted: number }>>
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
}

const PALETTE = [
  '#2563eb',
  '#dc2626',
  '#16a34a',
  '#d97706',
  '#7c3aed',
  '#0891b2',
  '#db2777',
  '#65a30d',
  '#475569',
  '#ea580c',
]
/** Reject-reason colours: no green, which means "accepted". */
const REASON_PALETTE = [
  '#dc2626',
  '#d97706',
  '#7c3aed',
  '#0891b2',
  '#db2777',
  '#475569',
  '#ea580c',
  '#be123c',
  '#a16207',
  '#4338ca',
]
const W = 600
const H = 240
const PAD = { l: 56, r: 16, t: 16, b: 36 }

function esc(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
}

function fmt(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–'
  if (v !== 0 && (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3)) return v.toExponential(2)
  return String(Number(v.toFixed(digits)))
}

/** Tick labels: enough digits to tell neighbouring round ticks apart. */
function fmtTick(v: number): string {
  return v !== 0 && Math.abs(v) < 1e-4 ? v.toExponential(1) : String(Number(v.toPrecision(6)))
}

const finite = (v: number | null | undefined): v is number =>
  typeof v === 'number' && Number.isFinite(v)

/** Round-number ticks covering [lo, hi]. */
function ticks(lo: number, hi: number, count = 5): number[] {
  if (lo === hi) return [lo]
  const raw = (hi - lo) / count
  const mag = 10 ** Math.floor(Math.log10(raw))
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw
  const out: number[] = []
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Number(v.toPrecision(12)))
  return out
}

type Series = {
  name: string
  color: string
  points: readonly { x: number; y: number | null | undefined }[]
  band?: readonly { x: number; lo: number; hi: number }[]
}

function emptyChart(title: string, message: string): string {
  return `<figure><figcaption>${esc(title)}</figcaption><svg viewBox="0 0 ${W} 60" width="${W}" height="60" role="img"><text x="${W / 2}" y="34" text-anchor="middle" class="muted">${esc(message)}</text></svg></figure>`
}

function legend(items: readonly { name: string; color: string }[]): string {
  if (items.length < 2) return ''
  return `<div class="legend">${items.map((s) => `<span><i style="background:${s.color}"></i>${esc(s.name)}</span>`).join('')}</div>`
}

/** A line chart; null points break the line, a band draws a shaded range under a series. */
function lineChart(
  title: string,
  series: readonly Series[],
  opts: { yMin?: number; yMax?: number; yLabel?: string } = {},
): string {
  const xs = series.flatMap((s) => s.points.filter((p) => finite(p.y)).map((p) => p.x))
  const ys = series.flatMap((s) => [
    ...s.points.map((p) => p.y).filter(finite),
    ...(s.band ?? []).flatMap((b) => [b.lo, b.hi]),
  ])
  if (xs.length === 0) return emptyChart(title, 'no data')
  let x0 = Math.min(...xs)
  let x1 = Math.max(...xs)
  if (x0 === x1) [x0, x1] = [x0 - 1, x1 + 1]
  let y0 = opts.yMin ?? Math.min(...ys)
  let y1 = opts.yMax ?? Math.max(...ys)
  if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1]
  const pw = W - PAD.l - PAD.r
  const ph = H - PAD.t - PAD.b
  const sx = (x: number) => PAD.l + ((x - x0) / (x1 - x0)) * pw
  const sy = (y: number) => PAD.t + (1 - (y - y0) / (y1 - y0)) * ph
  const parts: string[] = []
  for (const t of ticks(y0, y1)) {
    parts.push(
      `<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" class="grid"/>`,
    )
    parts.push(
      `<text x="${PAD.l - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${esc(fmtTick(t))}</text>`,
    )
  }
  for (const t of ticks(x0, x1, 8).filter((v) => Number.isInteger(v))) {
    parts.push(
      `<text x="${sx(t).toFixed(1)}" y="${H - PAD.b + 16}" text-anchor="middle">${t}</text>`,
    )
  }
  parts.push(
    `<line x1="${PAD.l}" x2="${W - PAD.r}" y1="${H - PAD.b}" y2="${H - PAD.b}" class="axis"/>`,
  )
  parts.push(`<line x1="${PAD.l}" x2="${PAD.l}" y1="${PAD.t}" y2="${H - PAD.b}" class="axis"/>`)
  parts.push(
    `<text x="${PAD.l + pw / 2}" y="${H - 4}" text-anchor="middle" class="muted">window</text>`,
  )
  if (opts.yLabel)
    parts.push(
      `<text x="12" y="${PAD.t + ph / 2}" text-anchor="middle" class="muted" transform="rotate(-90 12 ${PAD.t + ph / 2})">${esc(opts.yLabel)}</text>`,
    )
  for (const s of series) {
    if (s.band && s.band.length > 0) {
      const top = s.band.map((b) => `${sx(b.x).toFixed(1)},${sy(b.hi).toFixed(1)}`)
      const bottom = [...s.band]
        .reverse()
        .map((b) => `${sx(b.x).toFixed(1)},${sy(b.lo).toFixed(1)}`)
      parts.push(
        `<polygon points="${[...top, ...bottom].join(' ')}" fill="${s.color}" fill-opacity="0.15" stroke="none"/>`,
      )
    }
    let run: string[] = []
    const flush = () => {
      if (run.length > 1)
        parts.push(
          `<polyline points="${run.join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"/>`,
        )
      run = []
    }
    for (const p of s.points) {
      if (!finite(p.y)) {
        flush()
        continue
      }
      run.push(`${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`)
      parts.push(
        `<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="2.5" fill="${s.color}"><title>${esc(`${s.name} · window ${p.x}: ${fmt(p.y, 4)}`)}</title></circle>`,
      )
    }
    flush()
  }
  return `<figure><figcaption>${esc(title)}</figcaption><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(title)}">${parts.join('')}</svg>${legend(series)}</figure>`
}

/** Horizontal bars, one row per label; each row may stack several coloured segments. */
function barChart(
  title: string,
  rows: readonly {
    label: string
    segments: readonly { name: string; value: number; color: string }[]
  }[],
  opts: { max?: number; percent?: boolean } = {},
): string {
  const totals = rows.map((r) => r.segments.reduce((a, s) => a + Math.max(0, s.value), 0))
  const max = opts.max ?? Math.max(0, ...totals)
  if (rows.length === 0 || !(max > 0)) return emptyChart(title, 'no data')
  const rowH = 26
  const labelW = 170
  const h = PAD.t + rows.length * rowH + 8
  const pw = W - labelW - 70
  const parts: string[] = []
  rows.forEach((r, i) => {
    const y = PAD.t + i * rowH
    parts.push(
      `<text x="${labelW - 8}" y="${y + 16}" text-anchor="end">${esc(r.label.length > 24 ? `${r.label.slice(0, 23)}…` : r.label)}</text>`,
    )
    let x = labelW
    for (const s of r.segments) {
      const w = (Math.max(0, s.value) / max) * pw
      if (w > 0)
        parts.push(
          `<rect x="${x.toFixed(1)}" y="${y + 4}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${s.color}"><title>${esc(`${r.label} · ${s.name}: ${opts.percent ? `${fmt(s.value * 100, 1)}%` : fmt(s.value)}`)}</title></rect>`,
        )
      x += w
    }
    const total = totals[i]!
    parts.push(
      `<text x="${(x + 6).toFixed(1)}" y="${y + 16}">${esc(opts.percent ? `${fmt(total * 100, 1)}%` : fmt(total))}</text>`,
    )
  })
  parts.push(`<line x1="${labelW}" x2="${labelW}" y1="${PAD.t}" y2="${h - 8}" class="axis"/>`)
  const names = new Map<string, string>()
  for (const r of rows) for (const s of r.segments) names.set(s.name, s.color)
  return `<figure><figcaption>${esc(title)}</figcaption><svg viewBox="0 0 ${W} ${h}" width="${W}" height="${h}" role="img" aria-label="${esc(title)}">${parts.join('')}</svg>${legend([...names].map(([name, color]) => ({ name, color })))}</figure>`
}

function checkNumber(v: unknown, param: string, optional: boolean): void {
  if (optional && (v === undefined || v === null)) return
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw invalidArgument(param, optional ? 'a finite number or null' : 'a finite number', v)
}

function checkSummary(summary: DemoSummary): void {
  if (typeof summary !== 'object' || summary === null)
    throw invalidArgument('summary', 'a DemoSummary object', summary)
  if (!Array.isArray(summary.miners))
    throw invalidArgument('summary.miners', 'an array', summary.miners)
  if (!Array.isArray(summary.windows))
    throw invalidArgument('summary.windows', 'an array', summary.windows)
  summary.miners.forEach((m, i) => {
    if (typeof m !== 'object' || m === null || typeof m.hotkey !== 'string')
      throw invalidArgument(`summary.miners[${i}].hotkey`, 'a string', m?.hotkey)
    checkNumber(m.accepted, `summary.miners[${i}].accepted`, false)
    checkNumber(m.emaWeight, `summary.miners[${i}].emaWeight`, false)
    if (typeof m.rejected !== 'object' || m.rejected === null)
      throw invalidArgument(`summary.miners[${i}].rejected`, 'a reason → count record', m.rejected)
    for (const [reason, n] of Object.entries(m.rejected))
      checkNumber(n, `summary.miners[${i}].rejected.${reason}`, false)
  })
  summary.windows.forEach((w, i) => {
    if (typeof w !== 'object' || w === null)
      throw invalidArgument(`summary.windows[${i}]`, 'an object', w)
    checkNumber(w.window, `summary.windows[${i}].window`, false)
    for (const k of [
      'rewardMean',
      'rewardStd',
      'loss',
      'kl',
      'trainedPromptReward',
      'baseTrainedPromptReward',
    ] as const)
      checkNumber(w[k], `summary.windows[${i}].${k}`, true)
  })
}

const STYLE = `
:root{color-scheme:light}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1340px;padding:0 16px;color:#0f172a;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e2e8f0;padding-bottom:4px}
.muted{color:#64748b;fill:#64748b}
table{border-collapse:collapse;margin:8px 0}th,td{padding:4px 10px;border-bottom:1px solid #e2e8f0;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f8fafc;font-weight:600}
.grid-2{display:flex;flex-wrap:wrap;gap:16px}
figure{margin:8px 0;padding:8px;border:1px solid #e2e8f0;border-radius:6px;background:#fff}
figcaption{font-weight:600;margin-bottom:4px}
svg{display:block;max-width:100%;height:auto}svg text{font-size:11px;fill:#334155}
svg .grid{stroke:#e2e8f0;stroke-width:1}svg .axis{stroke:#94a3b8;stroke-width:1}
.legend{display:flex;flex-wrap:wrap;gap:12px;font-size:12px;margin-top:4px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px;vertical-align:-1px}
`

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
  const colorOf = new Map(miners.map((m, i) => [m.hotkey, PALETTE[i % PALETTE.length]!]))
  const labelOf = (m: DemoMinerSummary): string => m.label ?? m.hotkey
  const rejectedTotal = (m: DemoMinerSummary): number =>
    Object.values(m.rejected).reduce((a, b) => a + b, 0)
  const reasons = [...new Set(miners.flatMap((m) => Object.keys(m.rejected)))].sort()
  const reasonColor = new Map(
    reasons.map((r, i) => [r, REASON_PALETTE[i % REASON_PALETTE.length]!]),
  )

  const out: string[] = []
  out.push(
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
  )
  out.push(`<title>${esc(title)}</title><style>${STYLE}</style></head><body>`)
  out.push(`<h1>${esc(title)}</h1>`)
  const trained = windows.filter((w) => finite(w.loss)).length
  out.push(
    `<p class="muted">${summary.generatedAt ? `${esc(summary.generatedAt)} · ` : ''}${miners.length} miner${miners.length === 1 ? '' : 's'} · ${windows.length} window${windows.length === 1 ? '' : 's'} · ${trained} training step${trained === 1 ? '' : 's'}</p>`,
  )

  if (summary.config && Object.keys(summary.config).length > 0) {
    out.push('<h2>Settings</h2><table><tbody>')
    for (const [k, v] of Object.entries(summary.config))
      out.push(`<tr><td>${esc(k)}</td><td>${esc(String(v))}</td></tr>`)
    out.push('</tbody></table>')
  }

  out.push('<h2>Miners</h2>')
  if (miners.length === 0) out.push('<p class="muted">No miners.</p>')
  else {
    out.push(
      `<table><thead><tr><th>miner</th><th>accepted</th><th>rejected</th>${reasons.map((r) => `<th>${esc(r)}</th>`).join('')}<th>acceptance</th><th>EMA weight</th></tr></thead><tbody>`,
    )
    for (const m of miners) {
      const total = m.accepted + rejectedTotal(m)
      out.push(
        `<tr><td><i style="display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;background:${colorOf.get(m.hotkey)}"></i>${esc(labelOf(m))}</td>` +
          `<td>${m.accepted}</td><td>${rejectedTotal(m)}</td>${reasons.map((r) => `<td>${m.rejected[r] ?? 0}</td>`).join('')}` +
          `<td>${total > 0 ? `${fmt((m.accepted / total) * 100, 1)}%` : '–'}</td><td>${fmt(m.emaWeight, 4)}</td></tr>`,
      )
    }
    out.push('</tbody></table>')
    out.push('<div class="grid-2">')
    out.push(
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
    )
    out.push(
      barChart(
        'Acceptance rate per miner',
        miners.map((m) => {
          const total = m.accepted + rejectedTotal(m)
          return {
            label: labelOf(m),
            segments: [
              {
                name: 'acceptance',
                value: total > 0 ? m.accepted / total : 0,
                color: colorOf.get(m.hotkey)!,
              },
            ],
          }
        }),
        { max: 1, percent: true },
      ),
    )
    out.push(
      barChart(
        'Final EMA weight per miner',
        miners.map((m) => ({
          label: labelOf(m),
          segments: [{ name: 'EMA weight', value: m.emaWeight, color: colorOf.get(m.hotkey)! }],
        })),
      ),
    )
    const perWindow = windows.some((w) => w.miners && Object.keys(w.miners).length > 0)
    if (perWindow) {
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
    out.push('</div>')
  }

  out.push('<h2>Training</h2><div class="grid-2">')
  const band = windows
    .filter((w) => finite(w.rewardMean) && finite(w.rewardStd))
    .map((w) => ({
      x: w.window,
      lo: w.rewardMean! - w.rewardStd!,
      hi: w.rewardMean! + w.rewardStd!,
    }))
  out.push(
    lineChart(
      'Batch reward per window: mean ± σ',
      [
        {
          name: 'mean reward',
          color: PALETTE[0]!,
          points: windows.map((w) => ({ x: w.window, y: w.rewardMean })),
          band,
        },
      ],
      { yLabel: 'reward' },
    ),
  )
  out.push(
    lineChart(
      'Mean reward on trained prompts: policy vs base model',
      [
        {
          name: 'policy after the window',
          color: PALETTE[2]!,
          points: windows.map((w) => ({ x: w.window, y: w.trainedPromptReward })),
        },
        {
          name: 'base model',
          color: PALETTE[3]!,
          points: windows.map((w) => ({ x: w.window, y: w.baseTrainedPromptReward })),
        },
      ],
      { yLabel: 'reward' },
    ),
  )
  out.push(
    lineChart(
      'GRPO loss per window',
      [
        {
          name: 'loss',
          color: PALETTE[1]!,
          points: windows.map((w) => ({ x: w.window, y: w.loss })),
        },
      ],
      { yLabel: 'loss' },
    ),
  )
  out.push(
    lineChart(
      'KL to the reference per window',
      [{ name: 'KL', color: PALETTE[4]!, points: windows.map((w) => ({ x: w.window, y: w.kl })) }],
      { yLabel: 'KL' },
    ),
  )
  out.push('</div>')

  out.push('<h2>Windows</h2>')
  if (windows.length === 0) out.push('<p class="muted">No windows.</p>')
  else {
    out.push(
      '<table><thead><tr><th>window</th><th>reward mean</th><th>reward σ</th><th>loss</th><th>KL</th><th>trained-prompt reward (base)</th><th>accepted / submitted</th></tr></thead><tbody>',
    )
    for (const w of windows) {
      const counts = Object.values(w.miners ?? {})
      const acc = counts.reduce((a, c) => a + c.accepted, 0)
      const sub = counts.reduce((a, c) => a + c.submitted, 0)
      out.push(
        `<tr><td>${w.window}</td><td>${fmt(w.rewardMean)}</td><td>${fmt(w.rewardStd)}</td><td>${fmt(w.loss, 4)}</td><td>${fmt(w.kl, 5)}</td>` +
          `<td>${fmt(w.trainedPromptReward)}${finite(w.baseTrainedPromptReward) ? ` (${fmt(w.baseTrainedPromptReward)})` : ''}</td><td>${counts.length > 0 ? `${acc} / ${sub}` : '–'}</td></tr>`,
      )
    }
    out.push('</tbody></table>')
  }
  out.push('</body></html>')
  return `${out.join('\n')}\n`
}
