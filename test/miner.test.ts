// The miner (src/miner/createMiner.ts) against an in-process E3 validator stand-in: the SDK's
// AdmissionPipeline + WindowBatcher behind a minimal node:http server (GET /state, POST /submit,
// GET /verdicts/{hotkey}, GET /checkpoint), the random tiny Qwen3 on the wasm backend on both
// sides, the synthetic target-token environment, and a local Hub (startHubServer) for
// checkpoints. The clock is injected: the test sets it per window and both sides read it, so
// the drand-round gate (tolerance 0) is exact.
import { createHash } from 'node:crypto'
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createHotkey, type Hotkey } from '../src/crypto/sr25519.js'
import { createTargetTokenEnvironment } from '../src/demo/environment.js'
import { drandRoundTime } from '../src/drand/round.js'
import { isReliquaryError } from '../src/errors/base.js'
import {
  publishCheckpoint,
  startHubServer,
  type HubServer,
  type PublishCheckpointReturnType,
} from '../src/hub/index.js'
import { batchDigest } from '../src/manifest/batchDigest.js'
import {
  createFrontierPicker,
  createMiner,
  type Miner,
  type MinerGroupReport,
  type MinerWindowReport,
} from '../src/miner/index.js'
import {
  createRolloutEvaluator,
  loadModel,
  loadTokenizer,
  saveModel,
  useBackend,
  type CausalLM,
  type ModelTokenizer,
} from '../src/model/index.js'
import { defineProfile, e3 } from '../src/protocol/profiles.js'
import type { SubmitRequest } from '../src/protocol/schemas.js'
import type { RewardEnvironment } from '../src/reward/environment.js'
import { groupSigma, isBootstrapWindow, isInZone } from '../src/reward/groups.js'
import { verifyRollout, type RolloutEvaluator } from '../src/rollout/verifyRollout.js'
import {
  AdmissionPipeline,
  Cooldown,
  HashDedup,
  WindowBatcher,
  rolloutHash,
} from '../src/window/index.js'
import { toSubmitHttpResponse } from '../src/validator/http/toSubmitHttpResponse.js'

const TINY = join(import.meta.dirname, 'fixtures', 'reference', 'qwen3-tiny-s0')
const BASE = { id: 'reliquary/qwen3-tiny-s0', revision: 'ba5e'.padEnd(40, '0') }
const REPO = 'reliquary-demo/tiny-sn'
// A random tiny model seldom ends on EOS with the probability the termination check asks, so the
// demo profile lowers the protocol cap: the E3 cap path then applies (prompts are 26–40 tokens,
// so every completion keeps ≥ 32 tokens for the logprob check). Groups of M = 4 (k ∈ [1, 3] is in
// the zone) and batches of B = 2 keep the run short; the tiny model often falls into loops, and
// fewer rollouts per group collide less often (a repeated rollout is `hash_duplicate`).
const profile = defineProfile(e3, {
  id: 'demo-miner',
  sampling: { maxNewTokensCap: 80 },
  group: { rolloutsPerGroup: 4, batchSize: 2 },
})
const DRAND = { genesisTime: e3.drand.genesisTime, periodSeconds: e3.drand.periodSeconds }
const ROUND0 = 5_000_000

let clock = 0
const now = (): number => clock
const randomnessOf = (w: number): string =>
  createHash('sha256').update(`demo window ${w}`).digest('hex')

type Announced = { n: number; revision: string; manifest: unknown; evaluator: RolloutEvaluator }

type Validator = {
  readonly url: string
  readonly pipeline: AdmissionPipeline
  readonly cooldown: Cooldown
  /** Every /submit body that parsed as JSON, with the window open when it arrived. */
  readonly bodies: { window: number; body: SubmitRequest }[]
  openWindow(n: number): void
  seal(): number[]
  announce(c: Announced): void
  close(): Promise<void>
}

/** A minimal E3 validator: the SDK admission pipeline behind the four endpoints a miner uses. */
async function startValidator(
  env: RewardEnvironment,
  tok: ModelTokenizer,
  evaluator: RolloutEvaluator,
): Promise<Validator> {
  let verifier = evaluator
  let announced: Announced | null = null
  let batcher: WindowBatcher | null = null
  const cooldown = new Cooldown({ profile })
  const hashDedup = new HashDedup({ profile })
  const bodies: { window: number; body: SubmitRequest }[] = []
  const pipeline = new AdmissionPipeline({
    profile,
    environment: env,
    drand: DRAND,
    decode: (t) => tok.decode(t),
    promptTokens: (i) => tok.encode(env.getProblem(i).prompt),
    verifyRollout: (p) => verifyRollout({ ...p, model: verifier }),
  })
  const send = (
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    res
      .writeHead(status, { 'content-type': 'application/json', ...headers })
      .end(JSON.stringify(body))
  }
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const arrival = clock // stamped before the body is read, as the reference middleware does
    const url = new URL(req.url ?? '/', 'http://x')
    if (req.method === 'GET' && url.pathname === '/state') {
      if (!batcher) return send(res, 503, { detail: 'no_active_window' })
      return send(res, 200, {
        state: pipeline.phase,
        window_n: batcher.windowStart,
        anchor_block: batcher.windowStart,
        cooldown_prompts: cooldown.inCooldown(batcher.windowStart),
        valid_submissions: batcher.validCount,
        checkpoint_n: announced?.n ?? 0,
        checkpoint_repo_id: announced ? REPO : null,
        checkpoint_revision: announced?.revision ?? null,
        randomness: batcher.randomness,
      })
    }
    if (req.method === 'GET' && url.pathname === '/checkpoint') {
      return announced
        ? send(res, 200, announced.manifest)
        : send(res, 404, { detail: 'no_checkpoint' })
    }
    if (req.method === 'GET' && url.pathname.startsWith('/verdicts/')) {
      return send(
        res,
        200,
        pipeline.verdicts(decodeURIComponent(url.pathname.slice('/verdicts/'.length))),
      )
    }
    if (req.method === 'POST' && url.pathname === '/submit') {
      const chunks: Buffer[] = []
      for await (const c of req) chunks.push(c as Buffer)
      const text = Buffer.concat(chunks).toString('utf8')
      try {
        bodies.push({ window: batcher?.windowStart ?? -1, body: JSON.parse(text) as SubmitRequest })
      } catch {
        // Not JSON: the pipeline answers 422.
      }
      const verdict = await pipeline.submit(text, { arrivalSeconds: arrival })
      if (verdict.accepted) void pipeline.processNext({ nowSeconds: clock })
      const { status, body, headers } = toSubmitHttpResponse(verdict)
      return send(res, status, body, { ...headers })
    }
    send(res, 404, { detail: 'not found' })
  }
  const server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => send(res, 500, { detail: String(e) }))
  })
  // Validator and miners share this process's event loop, which long model passes block: a
  // keep-alive socket the server times out while the loop is busy could be handed to the next
  // request before its close is seen (ECONNRESET). Outlive the test instead.
  server.keepAliveTimeout = 300_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    pipeline,
    cooldown,
    bodies,
    openWindow(n) {
      clock = drandRoundTime(ROUND0 + 10 * n, DRAND) + 1 // one second into a 3-second round
      batcher = new WindowBatcher({
        windowStart: n,
        randomness: randomnessOf(n),
        checkpointHash: announced?.revision ?? '',
        cooldown,
        hashDedup,
        profile,
        drand: DRAND,
      })
      pipeline.setActiveBatcher(batcher)
      pipeline.setPhase('open')
    },
    seal() {
      pipeline.setPhase('training')
      return batcher!.seal(clock, { force: true }).winningPrompts
    },
    announce(c) {
      announced = c
      verifier = c.evaluator
    },
    close() {
      server.closeAllConnections()
      return new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

let tmp: string
let hub: HubServer
let validatorKey: Hotkey
let validator: Validator
let tok: ModelTokenizer
let env: RewardEnvironment
let bootstrapModel: CausalLM
let honest: Miner
let noSkip: Miner
let cheater: Miner
let windowN = 0
const minerKeys: Record<'honest' | 'noSkip' | 'cheater', Hotkey> = {} as never

function makeMiner(
  hotkey: Hotkey,
  seed: number,
  extra: Partial<Parameters<typeof createMiner>[0]> = {},
): Miner {
  return createMiner({
    validatorUrl: validator.url,
    hotkey,
    modelDir: TINY,
    environment: env,
    picker: createFrontierPicker({ size: env.size, seed, profile, bootstrap: true }),
    profile,
    now,
    drand: DRAND,
    validatorHotkey: validatorKey.address,
    hub: {
      hubUrl: hub.url,
      cacheDir: join(tmp, `cache-${seed}`),
      baseModel: BASE,
      profileId: profile.id,
    },
    groupsPerWindow: 3,
    seed,
    pollIntervalMs: 10,
    verdictTimeoutMs: 30_000,
    log: (e) => {
      if (e.level === 'warn')
        console.error(
          `[miner ${hotkey.address.slice(0, 8)}] ${e.event}: ${e.message}`,
          e.data ?? '',
        )
    },
    ...extra,
  })
}

const inZone = (w: number, rewards: readonly number[]) =>
  isInZone(groupSigma(rewards), { profile, bootstrap: isBootstrapWindow(w, { profile }) })
const submitted = (r: MinerWindowReport) => r.groups.filter((g) => g.skipped === null)

/**
 * The local filters keep back only groups the validator would reject: out of the zone
 * (`out_of_zone`), or with a rollout that kept repeating an earlier one (`hash_duplicate`), or
 * that the picker gave up unfinished (`given_up`).
 */
function expectSkipIsWarranted(windowN: number, g: MinerGroupReport): void {
  if (g.skipped === null) return
  expect(g.outcome).toBe('skipped')
  expect(g.merkleRoot).toBeNull()
  if (g.skipped === 'out_of_zone') {
    expect(g.rewards).toHaveLength(profile.group.rolloutsPerGroup)
    expect(inZone(windowN, g.rewards)).toBe(false)
  } else {
    // A repeat the resamples could not replace, or a group the picker gave up unfinished.
    expect(['duplicate_rollouts', 'given_up']).toContain(g.skipped)
    expect(g.rewards.length).toBeLessThan(profile.group.rolloutsPerGroup)
  }
}

beforeAll(async () => {
  await useBackend('wasm')
  tmp = mkdtempSync(join(tmpdir(), 'reliquary-miner-'))
  validatorKey = await createHotkey('//Alice')
  minerKeys.honest = await createHotkey('//Bob')
  minerKeys.noSkip = await createHotkey('//Dave')
  minerKeys.cheater = await createHotkey('//Charlie')
  tok = await loadTokenizer(TINY)
  bootstrapModel = await loadModel(TINY)
  env = createTargetTokenEnvironment({
    tokenizer: tok,
    vocabSize: bootstrapModel.config.vocabSize,
    seed: 0,
    size: 64,
  })
  hub = await startHubServer()
  validator = await startValidator(env, tok, createRolloutEvaluator(bootstrapModel))
  honest = makeMiner(minerKeys.honest, 1)
  noSkip = makeMiner(minerKeys.noSkip, 2, { skipOutOfZone: false, groupsPerWindow: 2 })
  cheater = makeMiner(minerKeys.cheater, 3, { strategy: 'cheat' })
})

afterAll(async () => {
  for (const m of [honest, noSkip, cheater]) m?.dispose()
  bootstrapModel?.dispose()
  await validator?.close()
  await hub?.close()
  if (tmp) rmSync(tmp, { recursive: true, force: true })
})

describe('miner against an in-process E3 validator', () => {
  test('an honest miner submits only in-zone groups, and they are accepted', async () => {
    const reports: MinerWindowReport[] = []
    // A window's few prompts may all land out of the zone: mine until a group is accepted.
    while (reports.length < 3 && !reports.some((r) => r.stats.accepted > 0)) {
      validator.openWindow(++windowN)
      reports.push(await honest.runWindow())
    }
    for (const r of reports) {
      expect(r.randomness).toBe(randomnessOf(r.windowN))
      expect(r.checkpoint).toMatchObject({ n: 0, hash: '', dir: TINY, downloaded: false })
      expect(r.groups).toHaveLength(3)
      for (const g of r.groups) {
        expect(g.kind).toBe('honest')
        expect(g.claimedRewards).toEqual(g.rewards)
        expectSkipIsWarranted(r.windowN, g)
        if (g.skipped === null) {
          expect(g.rewards).toHaveLength(profile.group.rolloutsPerGroup)
          expect(inZone(r.windowN, g.rewards)).toBe(true)
          expect(g.response).toEqual({ httpStatus: 200, accepted: true, reason: 'submitted' })
          expect([g.outcome, g.reason]).toEqual(['accepted', 'accepted'])
        }
      }
    }
    const accepted = reports.flatMap((r) => r.groups).filter((g) => g.outcome === 'accepted').length
    expect(accepted).toBeGreaterThan(0)
    const stats = honest.stats()
    expect(stats.total).toMatchObject({
      accepted,
      submitted: accepted,
      rejected: {},
      pending: 0,
      acceptanceRate: 1,
    })
    expect(stats.windows.map((w) => w.windowN)).toEqual(reports.map((r) => r.windowN))
    // The wire: E3 layout, bootstrap checkpoint hash, the drand round at arrival, a 16-byte nonce.
    const mine = validator.bodies.filter((b) => b.body.miner_hotkey === minerKeys.honest.address)
    expect(mine).toHaveLength(accepted)
    for (const { window, body } of mine) {
      expect(body.checkpoint_hash).toBe('')
      expect(body.window_start).toBe(window)
      expect(body.drand_round).toBe(ROUND0 + 10 * window)
      expect(body.nonce).toMatch(/^[0-9a-f]{32}$/)
      expect(body.rollouts).toHaveLength(profile.group.rolloutsPerGroup)
      for (const ro of body.rollouts) {
        expect(ro.tokens.length).toBe(profile.sampling.maxNewTokensCap) // the cap path: no EOS from the random model
        expect((ro.commit as { beacon: { randomness: string } }).beacon.randomness).toBe(
          randomnessOf(window),
        )
      }
    }
  })

  test('without the local zone filter, out-of-zone groups are answered out_of_zone and nothing else', async () => {
    const r = await noSkip.runWindow()
    expect(r.windowN).toBe(windowN)
    for (const g of r.groups) {
      if (g.skipped !== null) expect(['duplicate_rollouts', 'given_up']).toContain(g.skipped)
      else expect(g.reason).toBe(inZone(r.windowN, g.rewards) ? 'accepted' : 'out_of_zone')
    }
  })

  test('a second pass over the same window picks none of the prompts the first pass tried', async () => {
    validator.openWindow(++windowN)
    const first = await noSkip.runWindow()
    const second = await noSkip.runWindow()
    expect([first.windowN, second.windowN]).toEqual([windowN, windowN])
    const tried = first.groups.map((g) => g.promptIdx)
    expect(second.groups.length).toBeGreaterThan(0)
    for (const g of second.groups) expect(tried).not.toContain(g.promptIdx)
  })

  test('the cheater is rejected every time, with the reason its cheat calls for', async () => {
    const expected: Record<string, string[]> = {
      fabricate_sketch: ['grail_fail'],
      lie_reward: ['reward_mismatch'],
      replay: ['wrong_randomness', 'hash_duplicate'],
    }
    const groups: (MinerGroupReport & { windowN: number; cooldown: number[] })[] = []
    const kinds = () => new Set(groups.filter((g) => g.skipped === null).map((g) => g.kind))
    for (let i = 0; i < 5 && kinds().size < 3; i++) {
      if (i > 0) {
        validator.seal() // the window's winning prompts go into cooldown
        validator.openWindow(++windowN)
      }
      const cooldown = validator.cooldown.inCooldown(windowN)
      const r = await cheater.runWindow()
      groups.push(...r.groups.map((g) => ({ ...g, windowN: r.windowN, cooldown })))
    }
    expect([...kinds()].sort()).toEqual(['fabricate_sketch', 'lie_reward', 'replay'])
    for (const g of groups) {
      expect(g.cooldown).not.toContain(g.promptIdx) // /state cooldown prompts are never mined
      if (g.skipped !== null) {
        expectSkipIsWarranted(g.windowN, g)
        // A lie needs no real zone; fabricated sketches are only sent for in-zone groups.
        if (g.skipped === 'out_of_zone') expect(g.kind).toBe('fabricate_sketch')
        continue
      }
      expect(g.outcome, `${g.kind} on prompt ${g.promptIdx}`).toBe('rejected')
      expect(expected[g.kind], `${g.kind}: ${g.reason}`).toContain(g.reason)
      if (g.kind === 'lie_reward') {
        expect(g.claimedRewards).not.toEqual(g.rewards)
        expect(inZone(g.windowN, g.claimedRewards)).toBe(true)
      }
      if (g.kind === 'replay') expect(g.provenInWindow).toBeLessThan(g.windowN)
      else expect(g.provenInWindow).toBe(g.windowN)
    }
    const total = cheater.stats().total
    expect(total.accepted).toBe(0)
    expect(total.acceptanceRate).toBe(0)
    expect(total.pending).toBe(0)
    expect(
      Object.keys(total.rejected).every((r) =>
        ['grail_fail', 'reward_mismatch', 'wrong_randomness', 'hash_duplicate'].includes(r),
      ),
    ).toBe(true)
  })

  let first: PublishCheckpointReturnType
  test('an announced checkpoint is downloaded, verified and loaded before the miner uses it', async () => {
    validator.seal()
    // Checkpoint 1: the tiny model with every other final-norm gain negated, so its last hidden
    // states (the GRAIL sketches) and its logits differ from the bootstrap model's.
    const dir = join(tmp, 'ckpt-1')
    const trained = await loadModel(TINY)
    const norm = trained.weights.get('model.norm.weight')!
    const signs = tf.tensor1d(
      Array.from({ length: norm.shape[0]! }, (_, i) => (i % 2 === 1 ? -1 : 1)),
    )
    norm.assign(tf.mul(norm, signs))
    signs.dispose()
    await saveModel(trained, dir)
    trained.dispose()
    for (const f of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json'])
      copyFileSync(join(TINY, f), join(dir, f))
    first = await publishCheckpoint({
      repoId: REPO,
      dir,
      checkpointN: 1,
      hotkey: validatorKey,
      hubUrl: hub.url,
      accessToken: hub.token,
      custody: {
        baseModel: BASE,
        profileId: profile.id,
        parent: null,
        windows: [{ windowN, batchDigest: batchDigest([rolloutHash([windowN])]) }],
      },
    })
    const verifyModel = await loadModel(dir)
    validator.announce({
      n: 1,
      revision: first.revision,
      manifest: first.referenceManifest,
      evaluator: createRolloutEvaluator(verifyModel),
    })

    const before = hub.requests.length
    const reports: MinerWindowReport[] = []
    while (reports.length < 3 && !reports.some((r) => r.stats.accepted > 0)) {
      validator.openWindow(++windowN)
      reports.push(await honest.runWindow())
    }
    const [r0] = reports
    expect(r0!.checkpoint).toMatchObject({ n: 1, hash: first.revision, downloaded: true })
    expect(r0!.checkpoint.dir).toBe(join(tmp, 'cache-1', ...REPO.split('/'), first.revision))
    // The verified snapshot came from the Hub: listed, custody manifest read, weights fetched.
    const fetched = hub.requests
      .slice(before)
      .filter((q) => q.method === 'GET')
      .map((q) => q.path)
    expect(
      fetched.some((path) => path.endsWith(`/resolve/${first.revision}/model.safetensors`)),
    ).toBe(true)
    expect(
      fetched.some((path) => path.endsWith(`/resolve/${first.revision}/reliquary_custody.json`)),
    ).toBe(true)
    for (const r of reports.slice(1)) expect(r.checkpoint.downloaded).toBe(false)
    for (const r of reports) for (const g of submitted(r)) expect(g.reason).toBe('accepted')
    expect(reports.some((r) => r.stats.accepted > 0)).toBe(true)

    // The submissions name the revision verbatim and were proven with the new weights: the
    // bootstrap weights do not reproduce them.
    const mine = validator.bodies.filter(
      (b) => b.window >= reports[0]!.windowN && b.body.miner_hotkey === minerKeys.honest.address,
    )
    expect(mine.length).toBeGreaterThan(0)
    for (const { body } of mine) expect(body.checkpoint_hash).toBe(first.revision)
    const { window, body } = mine[0]!
    const promptTokens = tok.encode(env.getProblem(body.prompt_idx).prompt)
    const check = (model: CausalLM) =>
      verifyRollout({
        commit: body.rollouts[0]!.commit,
        minerHotkey: body.miner_hotkey,
        randomness: randomnessOf(window),
        promptTokens,
        model: createRolloutEvaluator(model),
        profile,
      })
    expect((await check(verifyModel)).reason).toBeNull()
    expect(['grail_fail', 'logprob_mismatch', 'distribution_suspicious']).toContain(
      (await check(bootstrapModel)).reason,
    )
  })

  test('a checkpoint that fails verification is never loaded and nothing is submitted with it', async () => {
    validator.seal()
    const dir = join(tmp, 'ckpt-2')
    const trained = await loadModel(TINY)
    await saveModel(trained, dir)
    trained.dispose()
    for (const f of ['tokenizer.json', 'tokenizer_config.json'])
      copyFileSync(join(TINY, f), join(dir, f))
    const second = await publishCheckpoint({
      repoId: REPO,
      dir,
      checkpointN: 2,
      hotkey: validatorKey,
      hubUrl: hub.url,
      accessToken: hub.token,
      custody: {
        baseModel: BASE,
        profileId: profile.id,
        parent: first.custodyManifest,
        windows: [{ windowN, batchDigest: batchDigest([rolloutHash([windowN, 2])]) }],
      },
    })
    hub.tamper(REPO, second.revision, 'model.safetensors', (b) => {
      b.writeUInt8(b.readUInt8(b.length - 1) ^ 0x01, b.length - 1)
      return b
    })
    validator.announce({
      n: 2,
      revision: second.revision,
      manifest: second.referenceManifest,
      evaluator: createRolloutEvaluator(bootstrapModel),
    })
    validator.openWindow(++windowN)
    const sent = validator.bodies.length
    const err = await honest.runWindow().then(
      () => null,
      (e: unknown) => e,
    )
    expect(isReliquaryError(err, 'MANIFEST_FILES_MISMATCH'), String(err)).toBe(true)
    expect(validator.bodies.length).toBe(sent)
    expect(honest.stats().windows.map((w) => w.windowN)).not.toContain(windowN)
  })

  test('runWindow waits for an open window until aborted; a disposed miner refuses to run', async () => {
    validator.seal() // the validator is training: /state is not "open"
    const controller = new AbortController()
    const reason = new Error('stop waiting')
    setTimeout(() => controller.abort(reason), 100)
    const before = cheater.stats()
    await expect(cheater.runWindow(controller.signal)).rejects.toBe(reason)
    expect(cheater.stats()).toEqual(before)
    noSkip.dispose()
    await expect(noSkip.runWindow()).rejects.toThrow(/disposed/)
  })
})
