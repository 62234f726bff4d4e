// The steps of `reliquary demo` (src/demo/*.ts) one by one, with a scripted validator and
// scripted miners: options, the profile diff, the live log, one window's miner passes, the
// trained-prompt evaluation's reuse rule, the window row and the summary table. The whole run is
// test/demo.test.ts.
import { describe, expect, test } from 'vitest'
import { isReliquaryError } from '../src/errors/base.js'
import type { DemoContext, DemoMiner, DemoMiners } from '../src/demo/demoContext.js'
import { DEMO_DEFAULTS, type RunDemoOptions } from '../src/demo/demoOptions.js'
import {
  createTrainedPromptEvaluation,
  evaluateTrainedPrompts,
} from '../src/demo/evaluateTrainedPrompts.js'
import { formatDemoSummary } from '../src/demo/formatDemoSummary.js'
import { logValidatorEvent } from '../src/demo/logValidatorEvent.js'
import { mineDemoWindow } from '../src/demo/mineDemoWindow.js'
import { minersInTurns } from '../src/demo/minersInTurns.js'
import { profileChanges } from '../src/demo/profileChanges.js'
import { recordDemoWindow } from '../src/demo/recordDemoWindow.js'
import { reportPath } from '../src/demo/reportPath.js'
import { resolveDemoOptions } from '../src/demo/resolveDemoOptions.js'
import type { Miner } from '../src/miner/types.js'
import type { CausalLM } from '../src/model/loadModel.js'
import { defineProfile, e3 } from '../src/protocol/profiles.js'
import type { Validator, WindowReport } from '../src/validator/createValidator.js'

const profile = defineProfile(e3, { id: 'demo-steps', window: { maxSubmissionsPerHotkey: 2 } })

function fakeContext(lines: string[], over: RunDemoOptions = {}): DemoContext {
  const config = resolveDemoOptions({ log: (l) => lines.push(l), out: null, ...over })
  return {
    config,
    log: config.log,
    modelDir: '/model',
    tokenizer: undefined as never,
    environment: { id: 'env', size: 16 } as never,
    chain: undefined as never,
    profile,
    changes: ['window.maxSubmissionsPerHotkey: 8 → 2'],
    workDir: '/work',
    hub: undefined as never,
    labels: new Map([['5Frontier', 'frontier (honest)']]),
    checkpoints: [],
    checkpointLoads: [],
    minerGroups: new Map(),
    seal: { current: 0, sealed: 0, onSealed: null },
  }
}

function report(over: Partial<WindowReport> = {}): WindowReport {
  return {
    windowN: 1,
    round: 10,
    randomness: 'ab',
    sealReason: 'trigger',
    validSubmissions: 2,
    batchSize: 2,
    trained: false,
    rewardMean: 0.5,
    rewardStd: 0.25,
    loss: null,
    kl: null,
    ppoLoss: null,
    gradNorm: null,
    learningRate: null,
    batchPrompts: [],
    rewardsByHotkey: {},
    burn: 0,
    published: null,
    rejects: {},
    perHotkey: { '5Frontier': { submitted: 3, accepted: 2, rejected: { grail_fail: 1 } } },
    archivePath: '/a',
    seconds: { open: 1, train: 0, publish: 0 },
    ...over,
  } as WindowReport
}

describe('resolveDemoOptions', () => {
  test('fills the defaults', () => {
    const c = resolveDemoOptions({})
    expect(c).toMatchObject({
      windows: DEMO_DEFAULTS.windows,
      kinds: DEMO_DEFAULTS.miners,
      out: DEMO_DEFAULTS.out,
      evalRollouts: DEMO_DEFAULTS.evalRollouts,
      keepWorkDir: false,
    })
  })
  test('refuses bad options before anything loads', () => {
    for (const bad of [
      { windows: 0 },
      { windows: 1.5 },
      { seed: -1 },
      { miners: ['frontier', 'oracle'] },
      { out: '' },
      { evalPrompts: -1 },
    ]) {
      let e: unknown
      try {
        resolveDemoOptions(bad as never)
      } catch (x) {
        e = x
      }
      expect(isReliquaryError(e, 'INVALID_ARGUMENT'), JSON.stringify(bad)).toBe(true)
    }
  })
})

test('profileChanges lists each changed leaf and skips the top-level id and description', () => {
  const a = { id: 'a', description: 'x', window: { n: 1, m: [1, 2] }, k: 'same' }
  const b = { id: 'b', description: 'y', window: { n: 2, m: [1, 3] }, k: 'same' }
  expect(profileChanges(a, b)).toEqual(['window.n: 1 → 2', 'window.m: [1,2] → [1,3]'])
  expect(profileChanges(e3, e3)).toEqual([])
})

test('logValidatorEvent: labels hotkeys, hides admitted submissions, records publishes and seals', () => {
  const lines: string[] = []
  const ctx = fakeContext(lines)
  let sealed = 0
  ctx.seal.onSealed = () => sealed++
  const submission = (accepted: boolean, stage: 'handler' | 'worker', hotkey: string | null) => ({
    type: 'submission' as const,
    windowN: 3,
    submission: { accepted, stage, hotkey, status: 200, reason: accepted ? 'accepted' : 'bad' },
  })
  logValidatorEvent(ctx, submission(true, 'handler', '5Frontier') as never)
  logValidatorEvent(ctx, submission(false, 'worker', '5Frontier') as never)
  logValidatorEvent(ctx, submission(false, 'handler', null) as never)
  logValidatorEvent(ctx, {
    type: 'sealed',
    windowN: 3,
    reason: 'trigger',
    validSubmissions: 4,
    batchSize: 2,
    trained: false,
  } as never)
  logValidatorEvent(ctx, {
    type: 'published',
    windowN: 3,
    checkpointN: 1,
    revision: 'f'.repeat(40),
    repoId: 'r/x',
  } as never)
  expect(lines).toEqual([
    '  w3 frontier (honest)  verdict: bad',
    '  w3 (unparsed body)    HTTP 200: bad',
    '  w3 sealed (trigger): 4 valid submission(s), batch of 2 (partial: no training)',
    `  w3 published checkpoint 1 to the local hub: r/x@${'f'.repeat(12)}… (custody manifest signed)`,
  ])
  expect(ctx.seal.sealed).toBe(3)
  expect(sealed).toBe(1)
  expect(ctx.checkpoints).toEqual([{ windowN: 3, checkpointN: 1, revision: 'f'.repeat(40) }])
})

describe('mineDemoWindow', () => {
  /** Miners sharing this thread, in turns, with the profile's quota. */
  function inTurns(ctx: DemoContext, miners: { label: string; miner: Miner }[]): DemoMiners {
    const quota = ctx.profile.window.maxSubmissionsPerHotkey
    return { list: [], threads: 0, ...minersInTurns(miners, quota, ctx.log) }
  }

  function fakeMiner(hotkey: string, runs: string[]): { label: string; miner: Miner } {
    return {
      label: hotkey,
      miner: {
        async runWindow() {
          runs.push(hotkey)
          return { stats: { submitted: runs.filter((h) => h === hotkey).length } } as never
        },
        stats: () => undefined as never,
        dispose() {},
      },
    }
  }

  test('miners take turns (the first rotates) until their quota is used; no seal closes the window', async () => {
    const lines: string[] = []
    const ctx = fakeContext(lines, { periodSeconds: 1 })
    const runs: string[] = []
    let close!: () => void
    let closed = 0
    const validator = {
      windowN: 4,
      runWindow: () =>
        new Promise<WindowReport>((resolve) => {
          close = () => resolve(report({ windowN: 5 }))
        }),
      closeWindow: () => {
        closed++
        close()
      },
    } as unknown as Validator
    const miners = inTurns(ctx, [fakeMiner('A', runs), fakeMiner('B', runs)])
    const r = await mineDemoWindow(ctx, validator, miners, 2)
    expect(r.windowN).toBe(5)
    expect(runs).toEqual(['B', 'A', 'B', 'A'])
    expect(closed).toBe(1)
    expect(ctx.seal.current).toBe(5)
    expect(lines).toEqual(["  w5 no seal trigger after the miners' passes: closing the window"])
  }, 10_000)

  test('a seal aborts the miners and ends the window without closing it', async () => {
    const lines: string[] = []
    const ctx = fakeContext(lines)
    let aborted: unknown = null
    let finish!: () => void
    const validator = {
      windowN: 0,
      runWindow: () =>
        new Promise<WindowReport>((resolve) => {
          finish = () => resolve(report())
        }),
      closeWindow: () => {
        throw new Error('must not close')
      },
    } as unknown as Validator
    const miner = {
      label: 'frontier',
      miner: {
        runWindow: (signal?: AbortSignal) =>
          new Promise<never>((_, reject) => {
            signal!.addEventListener('abort', () => {
              aborted = signal!.reason
              reject(signal!.reason)
            })
            setTimeout(() => {
              ctx.seal.sealed = 1
              ctx.seal.onSealed?.()
              finish()
            }, 10)
          }),
        stats: () => undefined as never,
        dispose() {},
      },
    }
    await mineDemoWindow(ctx, validator, inTurns(ctx, [miner]), 1)
    expect(String(aborted)).toContain('window sealed')
    expect(lines).toEqual([])
  })
})

describe('evaluateTrainedPrompts', () => {
  test('fills the set from trained batches only; an empty set gives nulls', async () => {
    const ctx = fakeContext([], { evalPrompts: 0 })
    const ev = createTrainedPromptEvaluation()
    const policy = undefined as unknown as CausalLM
    const r = await evaluateTrainedPrompts(
      ctx,
      ev,
      policy,
      report({ trained: true, batchPrompts: [3] }),
      undefined,
    )
    expect(r).toMatchObject({ trainedPromptReward: null, baseTrainedPromptReward: null })
    expect(ev.evalSet).toEqual([])
    expect(ev.evalSizes).toEqual([0])
  })

  test('an untrained window on an unchanged set repeats the previous numbers without sampling', async () => {
    const ctx = fakeContext([])
    const ev = createTrainedPromptEvaluation()
    ev.evalSet.push(3, 4)
    ev.evalSizes.push(2)
    const previous = { window: 1, trainedPromptReward: 0.25, baseTrainedPromptReward: 0.125 }
    const policy = undefined as unknown as CausalLM // never sampled on this path
    const r = await evaluateTrainedPrompts(ctx, ev, policy, report({ trained: false }), previous)
    expect(r).toMatchObject({ trainedPromptReward: 0.25, baseTrainedPromptReward: 0.125 })
    expect(ev.evalSizes).toEqual([2, 2])
  })
})

test('recordDemoWindow and formatDemoSummary: the row, its log line and the summary table', () => {
  const lines: string[] = []
  const ctx = fakeContext(lines, { miners: ['frontier'] })
  const miners = [
    { kind: 'frontier', label: 'frontier (honest)', hotkey: '5Frontier' },
  ] as DemoMiner[]
  const evaluation = {
    trainedPromptReward: 0.5,
    baseTrainedPromptReward: 0.25,
    seconds: 0.5,
    prompts: 1,
  }
  const row = recordDemoWindow(
    ctx,
    miners,
    report({ loss: 0.01, kl: 0.002, rewardsByHotkey: { '5Frontier': 0.75 } }),
    evaluation,
    3,
  )
  expect(row).toEqual({
    window: 1,
    rewardMean: 0.5,
    rewardStd: 0.25,
    loss: 0.01,
    kl: 0.002,
    trainedPromptReward: 0.5,
    baseTrainedPromptReward: 0.25,
    miners: { '5Frontier': { accepted: 2, submitted: 3, paid: 0.75 } },
  })
  expect(lines[0]).toBe(
    'window 1 done in 3.0 s · seal trigger · batch 2 · reward 0.500 ± 0.250 · loss 0.01000 · KL 0.002000 · ' +
      'trained-prompt reward 0.500 (base 0.250, 1 prompts) · accepted/submitted: frontier 2/3 (paid 0.750) · ' +
      'seconds: open 1.0, train 0.0, publish 0.0, eval 0.5',
  )
  const ev = createTrainedPromptEvaluation()
  ev.evalSet.push(7)
  ev.evalSizes.push(1)
  const text = formatDemoSummary(ctx, {
    reports: [report({ loss: 0.01, kl: 0.002 })],
    seconds: 10,
    minerRows: [
      {
        kind: 'frontier',
        label: 'frontier (honest)',
        hotkey: '5Frontier',
        counts: { submitted: 3, accepted: 2, rejected: { grail_fail: 1 } },
        emaWeight: 1,
        paid: 0.75,
        generated: 5,
        keptBack: { duplicate_rollouts: 2 },
      },
    ],
    windowRows: [row],
    evaluation: ev,
  })
  expect(text.split('\n')).toEqual([
    '',
    'Summary: 1 windows in 10.0 s (10.0 s per window), profile demo-steps',
    '  profile changes from e3: window.maxSubmissionsPerHotkey: 8 → 2',
    '',
    '  miner                generated submitted  accepted  rejected  acceptance    paid  EMA weight  rejected by reason; kept back unsent',
    '  frontier (honest)            5         3         2         1       66.7%   0.750    1.000000  grail_fail 1; duplicate_rollouts 2',
    '  mean reward on 1 trained prompts (8 samples each, same seeds for every model; prompts 7): base model 0.250 → policy w1 0.500 (+0.250 over the base by window 1)',
    '  checkpoints published: none',
    '  checkpoint switches after custody verification: none',
    '',
    '  window     seal  batch   reward       σ        loss          KL  trained (base)  published',
    '       1  trigger      2    0.500   0.250     0.01000    0.002000   0.500 (0.250)  ',
  ])
})

test('reportPath: a directory gets reliquary-demo.html, a name without .html gets it', () => {
  expect(reportPath('runs', true)).toBe('runs/reliquary-demo.html')
  expect(reportPath('runs/', false)).toBe('runs/reliquary-demo.html')
  expect(reportPath('report', false)).toBe('report.html')
  expect(reportPath('report.txt', false)).toBe('report.txt.html')
  expect(reportPath('a/r.HTML', false)).toBe('a/r.HTML')
  expect(reportPath('r.htm', false)).toBe('r.htm')
})
