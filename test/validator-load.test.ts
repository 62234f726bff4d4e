// Load on the validator's HTTP API (issue: verification on the event loop, held uploads): 200
// concurrent submissions, honest in everything the handler judges (envelope, window, drand round),
// are all answered and judged, by the real per-rollout checks over the tiny Qwen3 model in the
// model worker, without a single `stale_round`; 1,000 held partial uploads neither stop honest
// miners nor keep the window from sealing on its trigger. Clocks are virtual (they advance with
// the validator's own work), so a slow machine changes no outcome.
import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createHotkey, type Hotkey } from '../src/crypto/sr25519.js'
import * as tf from '@tensorflow/tfjs-core'
import { useBackend } from '../src/model/backend.js'
import { e3 } from '../src/protocol/profiles.js'
import { parseSubmitResponse } from '../src/protocol/schemas.js'
import {
  createValidatorServer,
  type SubmissionEvent,
} from '../src/validator/http/createValidatorServer.js'
import { admitUntilSeal } from '../src/validator/steps/admitUntilSeal.js'
import {
  disposeValidatorModels,
  loadValidatorModels,
} from '../src/validator/loadValidatorModels.js'
import type { ValidatorModels } from '../src/validator/validatorState.js'
import { createModelWorker, type ModelWorker } from '../src/validator/worker/createModelWorker.js'
import { ENV_SIZE, T_ROUND, buildBody, schemaOnlyVerifier, setup } from './_admission.js'

const modelDir = 'test/fixtures/reference/qwen3-tiny-s0'
let keys: Hotkey[]
let tensors = 0
let models: ValidatorModels
let worker: ModelWorker
beforeAll(async () => {
  // 25 hotkeys × 8 submissions: inside the per-hotkey quota of a window.
  keys = await Promise.all(Array.from({ length: 25 }, (_, i) => createHotkey(`//load/${i}`)))
  await useBackend('wasm')
  tensors = tf.memory().numTensors
  models = await loadValidatorModels({ modelDir, profile: e3 })
  worker = await createModelWorker({ models, modelDir, grpo: { profile: e3 } })
}, 120_000)

const sockets: Socket[] = []
afterAll(async () => {
  for (const s of sockets) s.destroy()
  await worker?.close()
  if (models) disposeValidatorModels(models)
  expect(tf.memory().numTensors).toBe(tensors)
}, 60_000)

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
  test('200 concurrent submissions verified in the model worker: every one answered and judged, none stale_round', async () => {
    // The validator's clock moves 25 ms per verdict it produces: with e3's zero backward tolerance
    // and arrivals 1 s into the round, a request stamped after 80 verifications would be stale
    // (what verification on the event loop did to most of them).
    let verdicts = 0
    const s = setup({ verifier: worker.verifier, openedAtSeconds: T_ROUND - 1 })
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
      const bodies = await Promise.all(
        Array.from({ length: 200 }, async (_, i) =>
          JSON.stringify(
            await buildBody({
              hotkey: keys[i % keys.length]!,
              promptIdx: i % ENV_SIZE,
              salt: i,
              nonce: `n${i}`,
              prove: true,
            }),
          ),
        ),
      )
      const answers = await Promise.all(bodies.map((b) => post(server.url, b)))
      await server.whenIdle()
      expect(answers.every((a) => a.status === 200)).toBe(true)
      const submitted = answers.filter((a) => a.reason === 'submitted').length
      const worker = events.filter((e) => e.stage === 'worker')
      const handler = events.filter((e) => e.stage !== 'worker')
      // Every request answered once by the handler; every queued one judged once by the worker.
      expect(handler.length).toBe(200)
      expect(worker.length).toBe(submitted)
      expect(submitted).toBe(200)
      expect(events.filter((e) => e.reason === 'stale_round')).toEqual([])
      // The per-rollout checks judged each one, none dropped (the proofs were made for
      // test/_admission.ts's fake hidden states and vocabulary, not for this model).
      expect(worker.filter((e) => e.reason === 'worker_dropped')).toEqual([])
      expect(worker.filter((e) => e.reason === 'bad_termination').length).toBeGreaterThan(0)
      expect(server.pending()).toBe(0)
    } finally {
      await server.close()
    }
  })

  test('1,000 held partial uploads: honest miners are accepted and the window seals on its trigger', async () => {
    let t = T_ROUND
    const s = setup({ verifier: schemaOnlyVerifier, openedAtSeconds: T_ROUND - 1 })
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
      const honest = await Promise.all(
        Array.from({ length: e3.group.batchSize }, async (_, i) =>
          post(
            server.url,
            JSON.stringify(await buildBody({ hotkey: keys[i]!, promptIdx: i, nonce: `h${i}` })),
          ),
        ),
      )
      expect(honest).toEqual(honest.map(() => ({ status: 200, reason: 'submitted' })))
      await server.whenIdle()
      expect(s.batcher.validCount).toBe(e3.group.batchSize)
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
