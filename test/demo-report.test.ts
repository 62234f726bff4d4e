import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inflateSync } from 'node:zlib'
import { describe, expect, test } from 'vitest'
import { renderDemoReport, type DemoSummary } from '../src/demo/report.js'
import { renderInBrowser } from './_browser.js'

function fakeSummary(): DemoSummary {
  const hotkeys = ['5Frontier', '5Uniform', '5Lazy']
  return {
    title: 'Reliquary demo <local>',
    generatedAt: '2026-01-01T00:00:00Z',
    config: {
      model: 'qwen3-tiny-s0',
      environment: 'target-token',
      profile: 'demo',
      windows: 24,
      bootstrap: true,
    },
    miners: [
      {
        hotkey: hotkeys[0]!,
        label: 'miner-1 (frontier)',
        accepted: 61,
        rejected: { out_of_zone: 9, prompt_in_cooldown: 2 },
        emaWeight: 0.5231,
      },
      {
        hotkey: hotkeys[1]!,
        label: 'miner-2 (uniform)',
        accepted: 30,
        rejected: { out_of_zone: 40, batch_filled: 5 },
        emaWeight: 0.3112,
      },
      {
        hotkey: hotkeys[2]!,
        label: 'miner-3 <script>alert(1)</script>',
        accepted: 0,
        rejected: { reward_mismatch: 12 },
        emaWeight: 0,
      },
    ],
    windows: Array.from({ length: 24 }, (_, i) => ({
      window: i + 1,
      rewardMean: 0.35 + 0.01 * i,
      rewardStd: 0.45 - 0.002 * i,
      loss: i % 7 === 3 ? null : 0.02 * Math.cos(i / 3),
      kl: i % 7 === 3 ? null : 1e-4 * i,
      trainedPromptReward: 0.3 + 0.015 * i,
      baseTrainedPromptReward: 0.3,
      miners: {
        [hotkeys[0]!]: { accepted: 3, submitted: 3 + (i % 2) },
        [hotkeys[1]!]: { accepted: 1 + (i % 2), submitted: 4 },
        [hotkeys[2]!]: { accepted: 0, submitted: 1 },
      },
    })),
  }
}

/** Decodes an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes) into its pixel bytes. */
function decodePng(png: Buffer): {
  width: number
  height: number
  channels: number
  pixels: Uint8Array
} {
  expect(png.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a')
  let off = 8
  let width = 0
  let height = 0
  let channels = 0
  const idat: Buffer[] = []
  while (off < png.length) {
    const len = png.readUInt32BE(off)
    const type = png.subarray(off + 4, off + 8).toString('latin1')
    const data = png.subarray(off + 8, off + 8 + len)
    if (type === 'IHDR') {
      width = data.readUInt32BE(0)
      height = data.readUInt32BE(4)
      expect(data[8]).toBe(8)
      expect(data[12]).toBe(0)
      channels = data[9] === 6 ? 4 : data[9] === 2 ? 3 : 0
      expect(channels).toBeGreaterThan(0)
    } else if (type === 'IDAT') idat.push(data)
    off += 12 + len
  }
  const raw = inflateSync(Buffer.concat(idat))
  const stride = width * channels
  const pixels = new Uint8Array(height * stride)
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1))
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? pixels[y * stride + x - channels]! : 0
      const b = y > 0 ? pixels[(y - 1) * stride + x]! : 0
      const c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels]! : 0
      const p = a + b - c
      const pr =
        Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
          ? a
          : Math.abs(p - b) <= Math.abs(p - c)
            ? b
            : c
      const pred =
        filter === 0 ? 0 : filter === 1 ? a : filter === 2 ? b : filter === 3 ? (a + b) >> 1 : pr
      pixels[y * stride + x] = (line[x]! + pred) & 0xff
    }
  }
  return { width, height, channels, pixels }
}

describe('renderDemoReport', () => {
  test('renders a self-contained page with every section', () => {
    const html = renderDemoReport(fakeSummary())
    expect(html.startsWith('<!doctype html>')).toBe(true)
    expect(html).toContain('</html>')
    // Self-contained: no scripts, no external resources.
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(|https?:\/\//i)
    // Escaping.
    expect(html).toContain('Reliquary demo &lt;local&gt;')
    expect(html).toContain('miner-3 &lt;script&gt;')
    // Sections and charts.
    for (const s of [
      'Miners',
      'Training',
      'Windows',
      'Settings',
      'out_of_zone',
      'prompt_in_cooldown',
      'batch_filled',
      'reward_mismatch',
    ])
      expect(html).toContain(s)
    for (const caption of [
      'Submissions per miner: accepted and rejected by reason',
      'Acceptance rate per miner',
      'Final EMA weight per miner',
      'Acceptance rate per miner and window',
      'Batch reward per window: mean ± σ',
      'Mean reward on trained prompts: policy vs base model',
      'GRPO loss per window',
      'KL to the reference per window',
    ])
      expect(html).toContain(`<figcaption>${caption.replace('±', '±')}</figcaption>`)
    expect((html.match(/<svg /g) ?? []).length).toBe(8)
    expect(html).toContain('<polygon') // the σ band
    for (const series of ['policy after the window', 'base model']) expect(html).toContain(series)
    expect(html).toContain('0.5231')
    expect(html).toContain('84.7%') // 61 / 72 accepted
  })

  test('prediction panel: calibration and Brier score against the base rate, worked by hand', () => {
    const g = (windowN: number, promptIdx: number, predicted: number | null, inZone: boolean) => ({
      windowN,
      promptIdx,
      predicted,
      finished: true,
      inZone,
      sent: true,
    })
    const html = renderDemoReport({
      miners: [
        {
          hotkey: 'f',
          label: 'frontier',
          accepted: 2,
          rejected: {},
          emaWeight: 0.17,
          groups: [
            g(1, 10, 0.8, true),
            g(1, 11, 0.4, false),
            g(2, 12, 0.5, true),
            g(2, 13, 0.1, false),
            // Given up: no outcome, not scored.
            {
              windowN: 2,
              promptIdx: 10,
              predicted: 0.9,
              finished: false,
              inZone: false,
              sent: false,
            },
          ],
        },
        {
          hotkey: 'u',
          label: 'uniform',
          accepted: 1,
          rejected: {},
          emaWeight: 0.11,
          groups: [g(1, 3, null, true), g(2, 4, null, false)],
        },
      ],
      windows: [],
    })
    expect(html).toContain('Does prediction pay?')
    // Picker: ((0.2)² + (0.4)² + (0.5)² + (0.1)²) / 4 = 0.115. Base rate: window 1 has no
    // history (1/2), window 2 has 1 hit of 2 ((1 + 1) / (2 + 2) = 1/2): 0.25.
    expect(html).toContain('<td>0.115</td><td>0.25</td>')
    expect(html).toContain('better than knowing the average rate')
    expect(html).toContain('Admissible groups per generated group: 0.4 against 0.5.')
    expect(html).toContain('0.17 against 0.11 for uniform (higher')
    // Bins of width 0.2: {0.1} → 0 observed, {0.4, 0.5} → mean 0.45, half observed, {0.8} → 1.
    expect(html).toContain('<td>0.4–0.6</td><td>2</td><td>0.45</td><td>0.5</td>')
    expect(html).toContain('<td>0–0.2</td><td>1</td><td>0.1</td><td>0</td>')
    // Generated 5 groups on 4 distinct prompts; 2 of 5 admissible.
    expect(html).toContain('<td>frontier</td><td>5</td><td>4</td>')
    expect(html).toContain('<td>0.4</td><td>0.17</td>')
    expect(() =>
      renderDemoReport({
        miners: [
          { hotkey: 'm', accepted: 0, rejected: {}, emaWeight: 0, groups: [g(1, 1, 2, true)] },
        ],
        windows: [],
      }),
    ).toThrow(/predicted/)
  })

  test('handles empty and partial summaries', () => {
    const html = renderDemoReport({ miners: [], windows: [] })
    expect(html).toContain('No miners.')
    expect(html).toContain('No windows.')
    const partial = renderDemoReport({
      miners: [{ hotkey: 'm', accepted: 0, rejected: {}, emaWeight: 0 }],
      windows: [{ window: 3 }],
    })
    expect(partial).toContain('no data')
    expect(() =>
      renderDemoReport({
        miners: [{ hotkey: 'm', accepted: Number.NaN, rejected: {}, emaWeight: 0 }],
        windows: [],
      }),
    ).toThrow(/INVALID_ARGUMENT/)
    expect(() => renderDemoReport({ miners: 'x', windows: [] } as unknown as DemoSummary)).toThrow(
      /INVALID_ARGUMENT/,
    )
  })

  test('headless Chromium renders it: no errors, every chart drawn, a non-trivial screenshot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reliquary-report-'))
    try {
      const file = join(dir, 'report.html')
      writeFileSync(file, renderDemoReport(fakeSummary()))
      const page = await renderInBrowser(file, join('test-output', 'demo-report-synthetic.png'))
      expect(page.consoleErrors).toEqual([])
      expect(page.pageErrors).toEqual([])
      expect(page.charts).toHaveLength(8)
      for (const c of page.charts) {
        expect(c.marks, c.caption).toBeGreaterThan(0)
        expect(c.visible, c.caption).toBeGreaterThan(0)
        expect(c.width, c.caption).toBeGreaterThan(100)
      }
      const { width, height, channels, pixels } = decodePng(page.screenshot)
      expect(width).toBeGreaterThan(1000)
      expect(height).toBeGreaterThan(1000)
      const colors = new Set<number>()
      let inked = 0
      for (let i = 0; i < pixels.length; i += channels) {
        const [r, g, b] = [pixels[i]!, pixels[i + 1]!, pixels[i + 2]!]
        colors.add((r << 16) | (g << 8) | b)
        if (r + g + b < 600) inked++
      }
      // Text, bars and lines in several colours, on a mostly white page.
      expect(colors.size).toBeGreaterThan(50)
      const inkedShare = inked / (width * height)
      expect(inkedShare).toBeGreaterThan(0.005)
      expect(inkedShare).toBeLessThan(0.6)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)
})
