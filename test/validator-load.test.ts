// Load on the validator's HTTP API (issue: verification on the event loop, held uploads): 200
// concurrent honest submissions (groups generated, screened and proven by the miner's own steps
// over the tiny Qwen3 model the validator runs) are all answered, judged by the real per-rollout
// checks in the model worker and accepted, without a single `stale_round`; 1,000 held partial
// uploads neither stop honest miners nor keep the window from sealing on its trigger. Clocks are
// virtual (they advance with the validator's own work), so a slow machine changes no outcome.
import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createHotkey, type Hotkey } from '../src/crypto/sr25519.js'
import { verifyCommitSignature } from '../src/crypto/commitSignature.js'
import * as tf from '@tensorflow/tfjs-core'
import { useBackend } from '../src/model/backend.js'
import { loadModel } from '../src/model/loadModel.js'
import { loadTokenizer, type ModelTokenizer } from '../src/model/loadTokenizer.js'
import { newGroupRecord } from '../src/miner/newGroupRecord.js'
import { proveGroup } from '../src/miner/proveGroup.js'
import type { ProtocolProfile } from '../src/protocol/profiles.js'
import { parseSubmitResponse } from '../src/protocol/schemas.js'
import type { RewardEnvironment } from '../src/reward/environment.js'
import {
  createValidatorServer,
  type SubmissionEvent,
} from '../src/validator/http/createValidatorServer.js'
import { admitUntilSeal } from '../src/validator/steps/admitUntilSeal.js'
import {
  disposeValidatorModels,
  loadValidatorModels,
} from '../src/validator/loadValidatorModels.js'
import { promptTokensOf } from '../src/validator/promptTokensOf.js'
import type { ValidatorModels } from '../src/validator/validatorState.js'
import { createModelWorker, type ModelWorker } from '../src/validator/worker/createModelWorker.js'
import { RANDOMNESS, ROUND, T_ROUND, setup } from './_admission.js'
import {
  type HonestGroup,
  honestBody,
  loadProfile,
  mineHonestGroups,
  minerContext,
  openWindow,
  parityEnvironment,
  rolloutsFor,
} from './_honestMiner.js'

const modelDir = 'test/fixtures/reference/qwen3-tiny-s0'
/** e3's per-prompt cap (10 valid submissions) over 200 submissions: 20 prompts, 10 hotkeys each. */
const PROMPTS = 20
/** A bootstrap window (zone σ ≥ 0.33), as on a young subnet: the miner keeps back fewer groups. */
const WINDOW = 50
let keys: Hotkey[]
let tensors = 0
let models: ValidatorModels
let worker: ModelWorker
let tokenizer: ModelTokenizer
let environment: RewardEnvironment
let profile: ProtocolProfile
let groups: HonestGroup[]
beforeAll(async () => {
  // 25 hotkeys × 8 submissions: e3's per-hotkey quota of a window.
  keys = await Promise.all(Array.from({ length: 25 }, (_, i) => createHotkey(`//load/${i}`)))
  await useBackend('wasm')
  tensors = tf.memory().numTensors
  tokenizer = await loadTokenizer(modelDir)
  environment = parityEnvironment(64)
  profile = loadProfile(tokenizer, environment)
  models = await loadValidatorModels({ modelDir, profile })
  worker = await createModelWorker({ models, modelDir, grpo: { profile } })
  // The miner's own copy of the model, as a separate miner process would load it.
  const minerModel = await loadModel(modelDir)
  try {
    const mined = await mineHonestGroups({
      model: minerModel,
      tokenizer,
      environment,
      profile,
      hotkey: keys[0]!,
      windowN: WINDOW,
      randomness: RANDOMNESS,
      groups: PROMPTS,
    })
    groups = mined.groups
  } finally {
    minerModel.dispose()
  }
}, 600_000)

const sockets: Socket[] = []
afterAll(async () => {
  for (const s of sockets) s.destroy()
  await worker?.close()
  if (models) disposeValidatorModels(models)
  expect(tf.memory().numTensors).toBe(tensors)
}, 60_000)

/** A pipeline judging like the validator: its environment, tokenizer and the model worker. */
function honestSetup() {
  return setup({
    profile,
    verifier: worker.verifier,
    openedAtSeconds: T_ROUND - 1,
    windowStart: WINDOW,
    environment,
    decode: (t) => tokenizer.decode(t),
    promptTokens: promptTokensOf(tokenizer, environment),
  })
}

/** Sends the headers of a `/submit` of `length` bytes and only `sent` of them, then holds. */
function holdUpload(url: string, length: number, sent: number): Socket {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port), hostname)
  sockets.push(socket)
  socket.on('error', () => undefined)
  socket.write(
    `POST /submit HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n${'{'.padEnd(sent, ' ')}`,
  )
  return socket
}

async function post(url: string, body: string): Promise<{ status: number; reason: string }> {
  const r = await fetch(`${url}/submit`, { method: 'POST', body })
  const text = await r.text()
  return { status: r.status, reason: r.status === 200 ? parseSubmitResponse(text).reason : text }
}

describe('validator under load', () => {
  test('the honest miner proved every group the way proveGroup proves it for each hotkey', async () => {
    expect(groups.length).toBe(PROMPTS)
    // rolloutsFor re-signs one proof per hotkey: the same commit proveGroup makes for that hotkey.
    const g = groups[0]!
    const other = keys[1]!
    const ctx = minerContext({
      model: await loadModel(modelDir),
      tokenizer,
      environment,
      profile,
      hotkey: other,
      windowN: WINDOW,
      randomness: RANDOMNESS,
      groups: 1,
    })
    try {
      const window = openWindow(ctx, { windowN: WINDOW, randomness: RANDOMNESS })
      const pl = (g.rollouts[0]!.commit as { rollout: { prompt_length: number } }).rollout
        .prompt_length
      const gen = {
        promptTokens: g.rollouts[0]!.tokens.slice(0, pl),
        tokens: g.rollouts.map((r) => [...r.tokens]),
        rewards: g.rollouts.map((r) => r.reward),
        duplicate: false,
      }
      const record = newGroupRecord({
        promptIdx: g.promptIdx,
        kind: 'honest',
        windowN: WINDOW,
        provenInWindow: WINDOW,
        rewards: gen.rewards,
        picked: true,
      })
      const direct = await proveGroup(ctx, window, gen, record, null)
      const resigned = rolloutsFor(g, other)
      for (const [i, r] of resigned.entries()) {
        const { signature: a, ...restA } = r.commit as Record<string, unknown>
        const { signature: b, ...restB } = direct[i]!.commit as Record<string, unknown>
        expect(restA).toEqual(restB)
        expect(r.tokens).toEqual(direct[i]!.tokens)
        expect(r.reward).toBe(direct[i]!.reward)
        for (const sig of [a, b])
          expect(
            await verifyCommitSignature({ ...restA, signature: sig } as never, other.address, {
              profile,
            }),
          ).toBe(true)
      }
    } finally {
      ctx.state.model!.dispose()
    }
  }, 60_000)

  test('200 concurrent honest submissions verified in the model worker: every one answered, judged and accepted, none stale_round', async () => {
    // The validator's clock moves 25 ms per verdict it produces: with e3's zero backward tolerance
    // and arrivals 1 s into the round, a request stamped after 80 verifications would be stale
    // (what verification on the event loop did to most of them).
    let verdicts = 0
    const s = honestSetup()
    const events: SubmissionEvent[] = []
    const server = await createValidatorServer({
      pipeline: s.pipeline,
      state: () => null,
      checkpoint: () => null,
      health: () => ({ status: 'ok', active_window: s.batcher.windowStart }),
      now: () => T_ROUND + verdicts * 0.025,
      onSubmission: (e) => {
        events.push(e)
        if (e.stage === 'worker') verdicts++
      },
    })
    try {
      // Hotkey k sends its 8 groups on prompts 8k … 8k+7 (mod 20): 10 hotkeys per prompt.
      const bodies = keys.flatMap((hotkey, k) =>
        Array.from({ length: 8 }, (_, j) =>
          JSON.stringify(
            honestBody(groups[(8 * k + j) % PROMPTS]!, hotkey, {
              windowStart: WINDOW,
              drandRound: ROUND,
              randomness: RANDOMNESS,
              nonce: `n${k}-${j}`,
            }),
          ),
        ),
      )
      expect(bodies.length).toBe(200)
      const answers = await Promise.all(bodies.map((b) => post(server.url, b)))
      await server.whenIdle()
      expect(answers).toEqual(answers.map(() => ({ status: 200, reason: 'submitted' })))
      const worker = events.filter((e) => e.stage === 'worker')
      const handler = events.filter((e) => e.stage !== 'worker')
      // Every request answered once by the handler; every one judged once by the worker.
      expect(handler.length).toBe(200)
      expect(worker.length).toBe(200)
      expect(events.filter((e) => e.reason === 'stale_round')).toEqual([])
      // Every rollout passed the per-rollout checks over the real model: all 200 accepted.
      expect(worker.filter((e) => !e.accepted).map((e) => e.verdict?.detail ?? e.reason)).toEqual(
        [],
      )
      expect(s.batcher.validCount).toBe(200)
      for (const g of groups) expect(s.batcher.promptSubmissionCount(g.promptIdx)).toBe(10)
      expect(server.pending()).toBe(0)
    } finally {
      await server.close()
    }
  }, 600_000)

  test('1,000 held partial uploads: honest miners are accepted and the window seals on its trigger', async () => {
    let t = T_ROUND
    const s = honestSetup()
    const server = await createValidatorServer({
      pipeline: s.pipeline,
      state: () => null,
      checkpoint: () => null,
      health: () => ({ status: 'ok', active_window: s.batcher.windowStart }),
      now: () => t,
      bodyTimeoutMs: 120_000,
    })
    try {
      const held = Array.from({ length: 1000 }, () => holdUpload(server.url, 4000, 16))
      for (let i = 0; i < 1000 && server.stats().peakBufferedBytes < 1000 * 16; i++)
        await new Promise((r) => setTimeout(r, 20))
      expect(server.stats().peakBufferedBytes).toBeGreaterThanOrEqual(1000 * 16)
      const B = profile.group.batchSize
      const honest = await Promise.all(
        Array.from({ length: B }, (_, i) =>
          post(
            server.url,
            JSON.stringify(
              honestBody(groups[i]!, keys[i]!, {
                windowStart: WINDOW,
                drandRound: ROUND,
                randomness: RANDOMNESS,
                nonce: `h${i}`,
              }),
            ),
          ),
        ),
      )
      expect(honest).toEqual(honest.map(() => ({ status: 200, reason: 'submitted' })))
      await server.whenIdle()
      expect(s.batcher.validCount).toBe(B)
      // The seal loop, with a clock that moves half a second per poll: the trigger is due two
      // rounds on; the timeout (7,200 s) would take 14,400 polls.
      const reason = await admitUntilSeal(
        s.batcher,
        {
          now: () => t,
          sleep: async () => {
            t += 0.5
          },
          pollIntervalMs: 1,
          pendingSubmissions: () => server.pending(),
        },
        new AbortController().signal,
      )
      expect(reason).toBe('trigger')
      expect(held.filter((h) => !h.destroyed).length).toBe(1000)
      for (const h of held) h.destroy()
    } finally {
      await server.close()
    }
  })
})
