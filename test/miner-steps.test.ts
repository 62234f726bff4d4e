// The miner's window steps (src/miner/*.ts), one by one, against a scripted validator: a fake
// `fetch` answers each request from a table the test writes, the clock is injected, and no model
// is loaded (generation and proving run end to end in test/miner.test.ts).
import { beforeAll, describe, expect, test } from 'vitest'
import { createHotkey, type Hotkey } from '../src/crypto/sr25519.js'
import { drandRoundAt, drandRoundTime } from '../src/drand/round.js'
import { isReliquaryError } from '../src/errors/base.js'
import { uniformPicker } from '../src/miner/uniformPicker.js'
import { createMinerLedger } from '../src/miner/minerLedger.js'
import { createMinerLog, type MinerContext } from '../src/miner/minerContext.js'
import { newGroupRecord } from '../src/miner/newGroupRecord.js'
import { nextCheat } from '../src/miner/nextCheat.js'
import { pickPrompt } from '../src/miner/pickPrompt.js'
import { planWindow } from '../src/miner/planWindow.js'
import { readVerdicts } from '../src/miner/readVerdicts.js'
import { resolveMinerConfig } from '../src/miner/resolveMinerConfig.js'
import { screenGroup } from '../src/miner/screenGroup.js'
import { drandRoundToSign, reasonForSubmitStatus, submitGroup } from '../src/miner/submitGroup.js'
import { syncCheckpoint } from '../src/miner/syncCheckpoint.js'
import type { MinerLogEntry } from '../src/miner/types.js'
import { createValidatorClient } from '../src/miner/validatorClient.js'
import { waitForOpenWindow } from '../src/miner/waitForOpenWindow.js'
import { rolloutSeed } from '../src/miner/generateGroup.js'
import { e3 } from '../src/protocol/profiles.js'
import type { WindowState } from '../src/protocol/schemas.js'
import type { RewardEnvironment } from '../src/reward/environment.js'

type Answer = { status: number; body: unknown } | Error
type Route = (method: string, path: string, body: string | undefined) => Answer

let hotkey: Hotkey
beforeAll(async () => {
  hotkey = await createHotkey('//Bob')
})

const DRAND = { genesisTime: e3.drand.genesisTime, periodSeconds: e3.drand.periodSeconds }
const RANDOMNESS = 'ab'.repeat(32)
const environment = {
  size: 10,
  getProblem: (i: number) => ({ prompt: `problem ${i}`, groundTruth: '' }),
  computeReward: () => 0,
} as unknown as RewardEnvironment

function openState(over: Partial<WindowState> = {}): WindowState {
  return {
    state: 'open',
    window_n: 5,
    anchor_block: 5,
    cooldown_prompts: [],
    valid_submissions: 0,
    checkpoint_n: 0,
    checkpoint_repo_id: null,
    checkpoint_revision: null,
    randomness: RANDOMNESS,
    ...over,
  }
}

/** A miner context over a scripted validator; `requests` lists what the steps asked for. */
function fakeContext(route: Route, over: { clock?: () => number; hub?: boolean } = {}) {
  const requests: { method: string; path: string; body: string | undefined }[] = []
  const logs: MinerLogEntry[] = []
  const fetchImpl = (async (url: string, init: RequestInit = {}) => {
    const method = init.method ?? 'GET'
    const path = new URL(url).pathname
    const body = init.body as string | undefined
    requests.push({ method, path, body })
    const a = route(method, path, body)
    if (a instanceof Error) throw a
    return new Response(typeof a.body === 'string' ? a.body : JSON.stringify(a.body), {
      status: a.status,
    })
  }) as typeof fetch
  const config = resolveMinerConfig({
    validatorUrl: 'http://validator.test/',
    hotkey,
    modelDir: '/nonexistent',
    environment,
    picker: uniformPicker({ size: 10, seed: 1 }),
    profile: e3,
    now: over.clock ?? (() => drandRoundTime(1000, DRAND) + 0.5),
    drand: DRAND,
    validatorHotkey: hotkey.address,
    ...(over.hub
      ? { hub: { cacheDir: '/nonexistent', baseModel: { id: 'base/model', revision: 'r' } } }
      : {}),
    groupsPerWindow: 4,
    seed: 1,
    fetch: fetchImpl,
    pollIntervalMs: 1,
    verdictTimeoutMs: 50,
  })
  const log = createMinerLog((e) => logs.push(e))
  const ctx: MinerContext = {
    config,
    log,
    http: createValidatorClient(config.validatorUrl, fetchImpl, log),
    ledger: createMinerLedger(),
    state: {
      loading: null,
      model: null,
      tokenizer: null,
      checkpoint: { n: 0, revision: '', dir: '/nonexistent' },
      groupCounter: 0,
      cheatCycle: 0,
      replayStash: [],
      tried: { windowN: -1, prompts: new Set() },
    },
  }
  return { ctx, requests, logs }
}

const rollouts = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ tokens: [1, 2, i], reward: i % 2, commit: { i } }))

describe('waitForOpenWindow (the clock)', () => {
  test('polls past an unreachable validator, a 503 and a sealed window until one opens', async () => {
    const answers: Answer[] = [
      new Error('connect ECONNREFUSED'),
      { status: 503, body: { detail: 'no_active_window' } },
      { status: 200, body: openState({ state: 'training' }) },
      { status: 200, body: openState({ window_n: 6 }) },
    ]
    const { ctx, logs } = fakeContext(() => answers.shift()!)
    const s = await waitForOpenWindow(ctx, undefined)
    expect(s.window_n).toBe(6)
    expect(answers).toHaveLength(0)
    expect(logs.map((l) => l.event)).toEqual(['state_unreachable'])
  })

  test('a window whose quota this hotkey used is waited out', async () => {
    const answers: Answer[] = [
      { status: 200, body: openState({ window_n: 5 }) },
      { status: 200, body: openState({ window_n: 5 }) },
      { status: 200, body: openState({ window_n: 6 }) },
    ]
    const { ctx, logs } = fakeContext(() => answers.shift()!)
    for (let i = 0; i < e3.window.maxSubmissionsPerHotkey; i++) ctx.ledger.countSubmitted(5)
    expect((await waitForOpenWindow(ctx, undefined)).window_n).toBe(6)
    expect(logs.filter((l) => l.event === 'quota_used')).toHaveLength(1)
  })

  test('an abort ends the wait with the signal reason', async () => {
    const { ctx } = fakeContext(() => ({ status: 503, body: {} }))
    const ac = new AbortController()
    setTimeout(() => ac.abort(new Error('stop')), 20)
    await expect(waitForOpenWindow(ctx, ac.signal)).rejects.toThrow('stop')
  })
})

describe('syncCheckpoint (step 1)', () => {
  test('nothing to do while the bootstrap model is announced', async () => {
    const { ctx, requests } = fakeContext(() => ({ status: 500, body: {} }))
    expect(await syncCheckpoint(ctx, openState(), undefined)).toBe(false)
    expect(requests).toHaveLength(0)
  })

  test('an announcement that goes back (a validator restarted without its state) is followed, not refused forever', async () => {
    // Back to checkpoint 0: the bootstrap model is reloaded from modelDir (here a directory that
    // does not exist, so the reload fails with the loader's error, not a manifest refusal).
    const { ctx, logs } = fakeContext(() => ({ status: 500, body: {} }), { hub: true })
    ctx.state.checkpoint = { n: 3, revision: 'c3', dir: '/x' }
    const back = await syncCheckpoint(ctx, openState({ checkpoint_n: 0 }), undefined).catch(
      (x) => x,
    )
    expect(isReliquaryError(back, 'MODEL_FILE_MISSING')).toBe(true)
    expect(logs.map((l) => l.event)).toEqual(['checkpoint_went_back'])
    // Back to a lower checkpoint: its manifest is fetched and verified like any announcement.
    const { ctx: c2, requests } = fakeContext(() => ({ status: 404, body: { detail: 'none' } }), {
      hub: true,
    })
    c2.state.checkpoint = { n: 3, revision: 'c3', dir: '/x' }
    const s = openState({ checkpoint_n: 2, checkpoint_revision: 'c2', checkpoint_repo_id: 'a/b' })
    const e = await syncCheckpoint(c2, s, undefined).catch((x) => x)
    expect(e.meta.reason).toBe('no_manifest')
    expect(requests.map((r) => r.path)).toEqual(['/checkpoint'])
  })

  test('the checkpoint already loaded is not fetched again', async () => {
    const { ctx, requests } = fakeContext(() => ({ status: 500, body: {} }))
    ctx.state.checkpoint = { n: 3, revision: 'c3', dir: '/x' }
    const s = openState({ checkpoint_n: 3, checkpoint_revision: 'c3' })
    expect(await syncCheckpoint(ctx, s, undefined)).toBe(false)
    expect(requests).toHaveLength(0)
  })

  test('without hub options an announced checkpoint is an INVALID_ARGUMENT', async () => {
    const { ctx } = fakeContext(() => ({ status: 500, body: {} }))
    const s = openState({ checkpoint_n: 1, checkpoint_revision: 'c1' })
    const e = await syncCheckpoint(ctx, s, undefined).catch((x) => x)
    expect(isReliquaryError(e, 'INVALID_ARGUMENT')).toBe(true)
  })

  test('a missing or disagreeing /checkpoint is refused before any download', async () => {
    const signature = `ed25519:${'00'.repeat(64)}`
    const manifest = { checkpoint_n: 2, repo_id: 'a/b', revision: 'c2', signature }
    for (const [answer, reason] of [
      [{ status: 404, body: { detail: 'none' } }, 'no_manifest'],
      [{ status: 200, body: manifest }, 'state_mismatch'],
    ] as const) {
      const { ctx, requests } = fakeContext(() => answer, { hub: true })
      const s = openState({ checkpoint_n: 1, checkpoint_revision: 'c1', checkpoint_repo_id: 'a/b' })
      const e = await syncCheckpoint(ctx, s, undefined).catch((x) => x)
      expect(isReliquaryError(e, 'HUB_REFERENCE_MANIFEST_INVALID')).toBe(true)
      expect(e.meta.reason).toBe(reason)
      expect(requests.map((r) => r.path)).toEqual(['/checkpoint'])
    }
  })
})

describe('planWindow and pickPrompt (step 2)', () => {
  test('slots are bounded by the quota left in the window', () => {
    const { ctx } = fakeContext(() => ({ status: 500, body: {} }))
    for (let i = 0; i < 6; i++) ctx.ledger.countSubmitted(5)
    const w = planWindow(ctx, openState({ cooldown_prompts: [1, 2] }))
    expect(w.slots).toBe(2)
    expect([...w.cooldown]).toEqual([1, 2])
    expect(w.bootstrap).toBe(true)
  })

  test('never picks a cooldown prompt or one already tried in the same window', () => {
    const { ctx, logs } = fakeContext(() => ({ status: 500, body: {} }))
    const window = planWindow(ctx, openState({ cooldown_prompts: [0, 1, 2, 3, 4] }))
    const picked = new Set<number>()
    for (let i = 0; i < 5; i++) {
      const p = pickPrompt(ctx, window)!
      expect(p).toBeGreaterThanOrEqual(5)
      picked.add(p)
      ctx.config.picker.release(p)
    }
    expect(picked.size).toBe(5)
    expect(pickPrompt(ctx, window)).toBeUndefined()
    expect(logs.map((l) => l.event)).toEqual(['no_prompt'])
    // A new window forgets what the last one tried.
    const next = planWindow(ctx, openState({ window_n: 6, cooldown_prompts: [0, 1, 2, 3, 4] }))
    expect(pickPrompt(ctx, next)).toBeGreaterThanOrEqual(5)
  })
})

describe('nextCheat', () => {
  test('rotates through the cheats; a replay without earlier material falls back and stays due', () => {
    const { ctx } = fakeContext(() => ({ status: 500, body: {} }))
    const window = planWindow(ctx, openState({ window_n: 5, cooldown_prompts: [7] }))
    expect(nextCheat(ctx, window)).toMatchObject({ kind: 'fabricate_sketch', advances: true })
    ctx.state.cheatCycle = 2
    expect(nextCheat(ctx, window)).toEqual({
      kind: 'fabricate_sketch',
      replay: null,
      advances: false,
    })
    const material = (windowN: number, promptIdx: number) => ({
      windowN,
      promptIdx,
      rewards: [],
      rollouts: [],
    })
    ctx.state.replayStash.push(material(5, 3), material(4, 7), material(4, 8))
    const c = nextCheat(ctx, window)
    expect(c.kind).toBe('replay')
    expect(c.replay).toEqual(material(4, 8))
    expect(ctx.state.replayStash).toHaveLength(2)
  })
})

describe('screenGroup (step 3)', () => {
  const inZone = [1, 0, 1, 0, 1, 0, 1, 0]
  const gen = (rewards: number[], duplicate = false) => ({
    promptTokens: [1],
    tokens: rewards.map((_, i) => [1, i]),
    rewards,
    duplicate,
  })
  test('keeps back a too-long prompt, repeated rollouts and an out-of-zone group', () => {
    const { ctx } = fakeContext(() => ({ status: 500, body: {} }))
    const window = planWindow(ctx, openState())
    const cases = [
      [null, 'prompt_too_long'],
      [gen([1, 0], true), 'duplicate_rollouts'],
      [gen([0, 0, 0, 0, 0, 0, 0, 0]), 'out_of_zone'],
      [gen(inZone), null],
    ] as const
    for (const [g, skipped] of cases) {
      const p = pickPrompt(ctx, window)!
      const r = screenGroup(
        ctx,
        window,
        p,
        g === null ? null : { ...g, rewards: [...g.rewards] },
        null,
      )
      expect(r.skipped).toBe(skipped)
      expect(r.kind).toBe('honest')
    }
    expect(ctx.ledger.windowStats(5).skipped).toBe(3)
  })

  test('a lied-reward cheat is never kept back for its real rewards', () => {
    const { ctx } = fakeContext(() => ({ status: 500, body: {} }))
    const window = planWindow(ctx, openState())
    const cheat = { kind: 'lie_reward', replay: null, advances: true } as const
    const r = screenGroup(ctx, window, 3, gen([0, 0, 0, 0, 0, 0, 0, 0]), cheat)
    expect(r.skipped).toBeNull()
    expect(r.kind).toBe('lie_reward')
  })
})

describe('submitGroup (step 4)', () => {
  const record = () =>
    newGroupRecord({
      promptIdx: 3,
      kind: 'honest',
      windowN: 5,
      provenInWindow: 5,
      rewards: [],
      picked: true,
    })

  test('a 503 queue_full is reported as queue_full, a 503 without a window as window_not_active', () => {
    expect(reasonForSubmitStatus(503, '{"detail":"queue_full"}')).toBe('queue_full')
    expect(reasonForSubmitStatus(503, '{"detail":"no_active_window"}')).toBe('window_not_active')
    expect(reasonForSubmitStatus(503, 'not json')).toBe('window_not_active')
    expect(reasonForSubmitStatus(409, '')).toBe('window_mismatch')
    expect(reasonForSubmitStatus(422, '{"detail":[]}')).toBe('bad_schema')
    expect(reasonForSubmitStatus(500, '')).toBe('http_500')
  })

  test('a full admission queue settles the group as queue_full', async () => {
    const { ctx, requests } = fakeContext(() => ({ status: 503, body: { detail: 'queue_full' } }))
    const window = planWindow(ctx, openState())
    const g = record()
    await submitGroup(ctx, g, window, rollouts(8), undefined)
    expect(g.response).toEqual({ httpStatus: 503, accepted: false, reason: 'queue_full' })
    expect(g.outcome).toBe('rejected')
    expect(ctx.ledger.windowStats(5).rejected).toEqual({ queue_full: 1 })
    const sent = JSON.parse(requests[0]!.body!)
    expect(sent).toMatchObject({ window_start: 5, prompt_idx: 3, checkpoint_hash: '' })
    expect(sent.drand_round).toBe(1000)
  })

  test('submitted leaves the group pending; a transport failure is a final network_error', async () => {
    const ok = fakeContext(() => ({ status: 200, body: { accepted: true, reason: 'submitted' } }))
    const g = record()
    await submitGroup(ok.ctx, g, planWindow(ok.ctx, openState()), rollouts(8), undefined)
    expect(g.outcome).toBe('pending')
    expect(ok.ctx.ledger.hasPending(5)).toBe(true)
    const down = fakeContext(() => new Error('fetch failed'))
    const h = record()
    await submitGroup(down.ctx, h, planWindow(down.ctx, openState()), rollouts(8), undefined)
    expect(h).toMatchObject({ outcome: 'rejected', reason: 'network_error' })
    expect(down.logs.map((l) => l.event)).toEqual(['submit_failed'])
  })

  test('the drand round is the next one when the current round is about to end', async () => {
    let t = drandRoundTime(1001, DRAND) - 0.1
    const { ctx } = fakeContext(() => ({ status: 500, body: {} }), { clock: () => t })
    const waiting = drandRoundToSign(ctx, undefined)
    t = drandRoundTime(1001, DRAND) + 0.01
    expect(await waiting).toBe(1001)
    expect(drandRoundAt(t, DRAND)).toBe(1001)
  })
})

describe('readVerdicts (step 5)', () => {
  test('settles pending groups from /verdicts and leaves unanswered ones pending', async () => {
    const verdict = (merkle: string, reason: string) => ({
      merkle_root: merkle,
      window_n: 5,
      accepted: reason === 'accepted',
      reason,
      ts: 1,
    })
    const { ctx, requests, logs } = fakeContext(() => ({
      status: 200,
      body: {
        verdicts: [
          verdict('aa', 'accepted'),
          verdict('bb', 'grail_fail'),
          verdict('zz', 'accepted'),
        ],
      },
    }))
    const records = ['aa', 'bb', 'cc'].map((m) => {
      const g = newGroupRecord({
        promptIdx: 1,
        kind: 'honest',
        windowN: 5,
        provenInWindow: 5,
        rewards: [],
        picked: true,
      })
      ctx.ledger.countSubmitted(5)
      ctx.ledger.markPending(g, m)
      return g
    })
    await readVerdicts(ctx, 5, undefined)
    expect(records.map((g) => g.outcome)).toEqual(['accepted', 'rejected', 'pending'])
    expect(requests[0]!.path).toBe(`/verdicts/${hotkey.address}`)
    expect(logs.at(-1)!.event).toBe('verdict_timeout')
    const stats = ctx.ledger.windowStats(5)
    expect(stats).toMatchObject({ submitted: 3, accepted: 1, pending: 1, acceptanceRate: 0.5 })
    expect(ctx.ledger.stats().total.rejected).toEqual({ grail_fail: 1 })
  })
})

test('rollout seeds are safe integers that differ per coordinate', () => {
  const seeds = new Set([
    rolloutSeed(1, 5, 3, 0, 0, 0),
    rolloutSeed(2, 5, 3, 0, 0, 0),
    rolloutSeed(1, 6, 3, 0, 0, 0),
    rolloutSeed(1, 5, 4, 0, 0, 0),
    rolloutSeed(1, 5, 3, 1, 0, 0),
    rolloutSeed(1, 5, 3, 0, 1, 0),
    rolloutSeed(1, 5, 3, 0, 0, 1),
  ])
  expect(seeds.size).toBe(7)
  for (const s of seeds) expect(Number.isSafeInteger(s)).toBe(true)
  expect(rolloutSeed(1, 5, 3, 0, 0, 0)).toBe(rolloutSeed(1, 5, 3, 0, 0, 0))
})
