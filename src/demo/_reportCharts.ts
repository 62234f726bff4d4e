// The SVG charts of the demo report: self-contained markup, no scripts.

/** Series colours, one per miner. @internal */
export const PALETTE = [
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
export const REASON_PALETTE = [
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

/** HTML-escapes text and attribute values. @internal */
export function esc(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;')
}

/** A number for a table cell or tooltip, `–` when missing. @internal */
export function fmt(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–'
  if (v !== 0 && (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3)) return v.toExponential(2)
  return String(Number(v.toFixed(digits)))
}

/** Tick labels: enough digits to tell neighbouring round ticks apart. */
function fmtTick(v: number): string {
  return v !== 0 && Math.abs(v) < 1e-4 ? v.toExponential(1) : String(Number(v.toPrecision(6)))
}

/** Whether `v` is a finite number. @internal */
export const finite = (v: number | null | undefined): v is number =>
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

/** One line of a {@link lineChart}. @internal */
export type Series = {
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

/** @internal A line chart; null points break the line, a band draws a shaded range under a series. */
export function lineChart(
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

/** @internal Horizontal bars, one row per label; each row may stack several coloured segments. */
export function barChart(
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
