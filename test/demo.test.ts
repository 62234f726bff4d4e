// A short `reliquary demo` (src/demo/runDemo.ts): two windows of the real market in one process,
// offline (local drand chain, local Hub, the bundled tiny model). Checks the outcome the demo is
// meant to show: the cheater earns nothing and every one of its submissions is rejected, honest
// miners earn, the first full window publishes a checkpoint that every miner verifies before
// switching, the archives decode, and the summary and the HTML report carry every field.
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { runDemo, type RunDemoReturnType } from '../src/demo/runDemo.js'
import { decodeWindowArchive } from '../src/window/archive/decodeWindowArchive.js'
import { windowArchiveKey } from '../src/window/archive/encodeWindowArchive.js'
import { renderInBrowser } from './_browser.js'

let dir: string
let result: RunDemoReturnType
const lines: string[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reliquary-demo-test-'))
  result = await runDemo({
    windows: 2,
    seed: 0,
    out: join(dir, 'report'), // no extension: the demo appends .html
    workDir: join(dir, 'work'),
    log: (l) => lines.push(l),
    evalPrompts: 2,
    evalRollouts: 2,
  })
}, 420_000)

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true })
})

const rejectedTotal = (r: Readonly<Record<string, number>>): number =>
  Object.values(r).reduce((a, b) => a + b, 0)

describe('runDemo (2 windows)', () => {
  test('the cheater has zero weight and only rejections', () => {
    const cheater = result.miners.find((m) => m.kind === 'cheater')!
    expect(cheater.counts.accepted).toBe(0)
    expect(cheater.counts.submitted).toBeGreaterThan(0)
    // Every request it sent was rejected exactly once (at the handler or by the worker).
    expect(rejectedTotal(cheater.counts.rejected)).toBe(cheater.counts.submitted)
    expect(cheater.emaWeight).toBe(0)
    for (const r of result.reports)
      expect(Object.keys(r.rewardsByHotkey)).not.toContain(cheater.hotkey)
    // The rejections come from the checks that catch its cheats, not from bad luck with timing.
    const reasons = Object.keys(cheater.counts.rejected)
    expect(
      reasons.some((x) =>
        ['grail_fail', 'reward_mismatch', 'wrong_randomness', 'hash_duplicate'].includes(x),
      ),
    ).toBe(true)
  })

  test('honest miners earn', () => {
    const honest = result.miners.filter((m) => m.kind !== 'cheater')
    expect(honest.reduce((a, m) => a + m.counts.accepted, 0)).toBeGreaterThan(0)
    expect(honest.reduce((a, m) => a + m.emaWeight, 0)).toBeGreaterThan(0)
    const paid = new Set(result.reports.flatMap((r) => Object.keys(r.rewardsByHotkey)))
    expect(paid.size).toBeGreaterThan(0)
    for (const hk of paid) expect(honest.map((m) => m.hotkey)).toContain(hk)
    // E3 pays the pool (1.0) per window at most; the EMA after 2 windows is far below it.
    for (const r of result.reports)
      expect(Object.values(r.rewardsByHotkey).reduce((a, b) => a + b, 0) + r.burn).toBeCloseTo(1, 9)
  })

  test('the first full window publishes; every miner verifies the custody chain before switching', () => {
    const first = result.reports.find((r) => r.trained)
    expect(first, 'a full window').toBeDefined()
    expect(first!.published?.checkpointN).toBe(1)
    expect(result.checkpoints[0]).toMatchObject({ windowN: first!.windowN, checkpointN: 1 })
    if (first!.windowN < result.reports.length) {
      expect(new Set(result.checkpointLoads.map((c) => c.miner)).size).toBe(result.miners.length)
      for (const c of result.checkpointLoads)
        expect(c).toMatchObject({ checkpointN: 1, revision: result.checkpoints[0]!.revision })
      // The switch is logged once the miners mine the next window (a slow machine can leave
      // window 1 partial: then the checkpoint comes after the last window and nobody switches).
      expect(
        lines.some((l) => /checkpoint 1 verified \(\d+ files, chain of 1\) and loaded/.test(l)),
      ).toBe(true)
    }
  })

  test('archives are written in the reference layout and decode', async () => {
    for (const r of result.reports) {
      const path = join(dir, 'work', 'validator', ...windowArchiveKey(r.windowN).split('/'))
      expect(r.archivePath).toBe(path)
      const archive = await decodeWindowArchive(await readFile(path))
      expect(archive.window_start).toBe(r.windowN)
      expect(archive.batch).toHaveLength(r.batchSize)
    }
  })

  test('summary fields and the HTML report', async () => {
    const s = result.summary
    expect(s.miners.map((m) => m.label)).toEqual([
      'frontier (honest)',
      'uniform (honest)',
      'cheater',
    ])
    for (const m of s.miners) {
      expect(m).toEqual({
        hotkey: expect.any(String),
        label: expect.any(String),
        accepted: expect.any(Number),
        rejected: expect.any(Object),
        emaWeight: expect.any(Number),
        generated: expect.any(Number),
        keptBack: expect.any(Object),
        groups: expect.any(Array),
      })
      // One outcome per generated group; a group is in the zone only if all its rollouts finished.
      expect(m.groups?.length).toBe(m.generated)
      for (const g of m.groups ?? []) if (g.inZone) expect(g.finished).toBe(true)
    }
    // The miners' own counts: every honest miner generated groups, and every group it kept back
    // is one of those it generated; pay is the validator's rewards summed over the windows.
    for (const m of result.miners.filter((x) => x.kind !== 'cheater')) {
      expect(m.generated).toBeGreaterThan(0)
      const kept = Object.values(m.keptBack).reduce((a, b) => a + b, 0)
      expect(kept).toBeLessThanOrEqual(m.generated)
      expect(m.paid).toBeCloseTo(
        result.reports.reduce((a, r) => a + (r.rewardsByHotkey[m.hotkey] ?? 0), 0),
        12,
      )
    }
    expect(s.windows.map((w) => w.window)).toEqual([1, 2])
    for (const [i, w] of s.windows.entries()) {
      const r = result.reports[i]!
      // Evaluated from the first trained window on: the policy and the base model on the same prompts and seeds.
      const evaluated =
        result.reports.slice(0, i + 1).some((x) => x.trained) && w.trainedPromptReward !== null
      expect(w).toEqual({
        window: r.windowN,
        rewardMean: r.rewardMean,
        rewardStd: r.rewardStd,
        loss: r.loss,
        kl: r.kl,
        trainedPromptReward: evaluated ? expect.any(Number) : null,
        baseTrainedPromptReward: evaluated ? expect.any(Number) : null,
        trainedPrompts: expect.any(Number),
        miners: expect.any(Object),
      })
      // Pay per miner is the validator's payout of that window.
      for (const [hk, c] of Object.entries(w.miners!))
        expect(c.paid).toBe(r.rewardsByHotkey[hk] ?? 0)
      if (evaluated)
        for (const x of [w.trainedPromptReward!, w.baseTrainedPromptReward!])
          expect(x >= 0 && x <= 1).toBe(true)
      expect(Object.keys(w.miners!).sort()).toEqual(result.miners.map((m) => m.hotkey).sort())
      if (r.trained)
        expect(
          [w.loss, w.kl, w.rewardMean, w.rewardStd].every(
            (x) => typeof x === 'number' && Number.isFinite(x),
          ),
        ).toBe(true)
    }
    if (result.reports.some((r) => r.trained))
      expect(s.windows.some((w) => typeof w.trainedPromptReward === 'number')).toBe(true)
    expect(s.config?.['changed from e3']).toContain('group.batchSize: 8 → 4')
    expect(result.profileChanges).toContain('group.batchSize: 8 → 4')
    expect(result.profileChanges.some((c) => c.startsWith('publishing.'))).toBe(false) // the cadence is e3's
    expect(result.text).toMatch(/acceptance rate: frontier .* vs uniform /)
    expect(result.text).toMatch(/paid per generated group: frontier (\d\.\d{3}|–) vs uniform /)
    expect(result.text).toMatch(
      /the frontier moves: successes of 2 samples per trained prompt, base → final policy: #\d+ \d→\d/,
    )
    expect(result.text).toMatch(
      /mean reward on \d+ trained prompts .*base model \d\.\d{3} → policy w\d+ \d\.\d{3}/,
    )
    const trained = result.reports.filter((r) => r.trained).flatMap((r) => r.batchPrompts)
    expect(result.evalPrompts.length).toBeGreaterThan(0)
    for (const p of result.evalPrompts) expect(trained).toContain(p)
    const html = await readFile(join(dir, 'report.html'), 'utf8')
    expect(html).toMatch(/^<!doctype html>/)
    for (const label of ['frontier (honest)', 'uniform (honest)', 'cheater'])
      expect(html).toContain(label)
    expect(result.out).toBe(join(dir, 'report.html'))
    expect(existsSync(join(dir, 'report'))).toBe(false)
    expect(existsSync(join(dir, 'work'))).toBe(true) // a caller-supplied workDir is kept
  })

  test('the report and the console agree on every window', async () => {
    const html = await readFile(join(dir, 'report.html'), 'utf8')
    const table = html.slice(html.indexOf('<h2>Windows</h2>'))
    const rows = [...table.matchAll(/<tr><td>(\d+)<\/td>(.*?)<\/tr>/g)].map((m) => ({
      window: Number(m[1]),
      cells: [...m[2]!.matchAll(/<td>(.*?)<\/td>/g)].map((c) => c[1]!),
    }))
    expect(rows.map((r) => r.window)).toEqual(result.reports.map((r) => r.windowN))
    for (const row of rows) {
      const line = lines.find((l) => l.startsWith(`window ${row.window} done in`))!
      const m = /trained-prompt reward (\S+) \(base (\S+), (\d+) prompts\)/.exec(line)!
      expect(m, line).not.toBeNull()
      // Cells: mean, σ, loss, KL, trained-prompt reward (base), trained prompts, accepted / submitted.
      const [policy, base, prompts] = [m[1]!, m[2]!, m[3]!]
      const cell = row.cells[4]!
      if (policy === '–') expect(cell).toBe('–')
      else {
        const [, p, b] = /^(\S+) \((\S+)\)$/.exec(cell)!
        expect(Number(p)).toBeCloseTo(Number(policy), 3)
        expect(Number(b)).toBeCloseTo(Number(base), 3)
      }
      expect(row.cells[5]).toBe(prompts)
      const acc = /accepted\/submitted: (.*?) ·/.exec(line)![1]!
      const pairs = [...acc.matchAll(/(\d+)\/(\d+)/g)].map((x) => [Number(x[1]), Number(x[2])])
      const sum = (i: number) => pairs.reduce((a, p) => a + p[i]!, 0)
      expect(row.cells[6]).toBe(`${sum(0)} / ${sum(1)}`)
    }
  })

  test('headless Chromium renders the real report: no errors, every chart drawn', async () => {
    const page = await renderInBrowser(
      join(dir, 'report.html'),
      join('test-output', 'demo-report.png'),
    )
    expect(page.consoleErrors).toEqual([])
    expect(page.pageErrors).toEqual([])
    const captions = page.charts.map((c) => c.caption)
    for (const caption of [
      'Submissions per miner: accepted and rejected by reason',
      'Acceptance rate per miner',
      'Final EMA weight per miner',
      'Acceptance rate per miner and window',
      'Share of the pool paid per miner and window',
      'Batch reward per window: mean ± σ',
      'Mean reward on trained prompts: policy vs base model',
      'GRPO loss per window',
      'KL to the reference per window',
    ])
      expect(captions).toContain(caption)
    for (const c of page.charts) {
      expect(c.marks, c.caption).toBeGreaterThan(0)
      expect(c.visible, c.caption).toBeGreaterThan(0)
      expect(c.width, c.caption).toBeGreaterThan(100)
    }
    expect(page.screenshot.length).toBeGreaterThan(20_000)
  }, 120_000)
})
