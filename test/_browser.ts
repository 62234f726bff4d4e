// A real headless Chromium for the report tests: @sparticuz/chromium's binary (unpacked at run
// time into the temporary directory, no install script needed) driven by playwright-core.
import { mkdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import chromium from '@sparticuz/chromium'
import { chromium as playwright } from 'playwright-core'

/** One chart of the page: its caption and how many of its data marks were laid out with a size. */
export type DrawnChart = { caption: string; marks: number; visible: number; width: number }

/** What the browser saw: console errors, page errors, every chart and the screenshot. */
export type RenderedPage = {
  consoleErrors: string[]
  pageErrors: string[]
  charts: DrawnChart[]
  screenshot: Buffer
}

/**
 * Chromium's binary path, unpacked by the first caller. Test files run two at a time and the
 * package returns its binary once the file exists, not once it is whole, so the unpacking is
 * serialised across processes by a lock directory (given up on after two minutes).
 */
async function executablePath(): Promise<string> {
  const lock = join(tmpdir(), 'reliquary-chromium-unpack.lock')
  const until = Date.now() + 120_000
  for (;;) {
    try {
      mkdirSync(lock)
      break
    } catch {
      if (Date.now() > until) return chromium.executablePath()
      await new Promise((r) => setTimeout(r, 200))
    }
  }
  try {
    return await chromium.executablePath()
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

/**
 * Opens `file` in headless Chromium at 1360 px wide, collects console and page errors, measures
 * every `<figure>`'s SVG (data marks are the elements with a `<title>`: bars and points; `visible`
 * counts those laid out with a width and a height) and
 * writes a full-page screenshot to `screenshotPath`.
 */
export async function renderInBrowser(file: string, screenshotPath: string): Promise<RenderedPage> {
  const browser = await playwright.launch({
    executablePath: await executablePath(),
    args: chromium.args,
    headless: true,
  })
  try {
    const page = await browser.newPage({ viewport: { width: 1360, height: 1000 } })
    const consoleErrors: string[] = []
    const pageErrors: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text())
    })
    page.on('pageerror', (e) => pageErrors.push(String(e)))
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' })
    const charts = await page.evaluate(() =>
      Array.from(document.querySelectorAll('figure')).map((f) => {
        const svg = f.querySelector('svg')
        const marks = svg
          ? Array.from(svg.querySelectorAll('title')).map((t) => t.parentElement!)
          : []
        const visible = marks.filter((m) => {
          const r = m.getBoundingClientRect()
          return r.width > 0 && r.height > 0
        }).length
        return {
          caption: f.querySelector('figcaption')?.textContent ?? '',
          marks: marks.length,
          visible,
          width: svg?.getBoundingClientRect().width ?? 0,
        }
      }),
    )
    mkdirSync(dirname(screenshotPath), { recursive: true })
    const screenshot = await page.screenshot({ path: screenshotPath, fullPage: true })
    return { consoleErrors, pageErrors, charts, screenshot }
  } finally {
    await browser.close()
  }
}
