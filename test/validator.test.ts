// The validator's HTTP API (src/validator/createValidatorServer.ts): wire compatibility with the
// reference E3 server (every answer parsed with the strict schemas of src/protocol/schemas.ts),
// status codes, the body bound, the queue bound, the arrival stamp, and a flood of 200 concurrent
// submissions (most of them invalid) that must all be answered exactly once while the window still
// seals correctly. Loopback only; the model is replaced by the schema-only verifier of
// test/_admission.ts (the worker stage itself is covered by test/admission.test.ts).
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { Agent, request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import * as z from 'zod'
import { createHotkey, type Hotkey } from '../src/crypto/sr25519.js'
import { createTargetTokenEnvironment } from '../src/demo/environment.js'
import { createLocalBeaconChain } from '../src/drand/localBeaconChain.js'
import { windowRandomnessE3 } from '../src/drand/windowRandomness.js'
import { useBackend } from '../src/model/backend.js'
import { loadTokenizer } from '../src/model/loadTokenizer.js'
import { defineProfile, e3 } from '../src/protocol/profiles.js'
import { createValidator, type ValidatorEvent } from '../src/validator/createValidator.js'
import { runValidator } from '../src/validator/runValidator.js'
import { decodeWindowArchive } from '../src/window/archive/decodeWindowArchive.js'
import { signManifest } from '../src/manifest/signManifest.js'
import {
  parseCheckpoint,
  parseHealth,
  parseState,
  parseSubmitResponse,
  parseVerdicts,
  type CheckpointManifestWire,
  type WindowState,
} from '../src/protocol/schemas.js'
import type { RolloutVerifier } from '../src/window/admission/admissionTypes.js'
import {
  createValidatorServer,
  type SubmissionEvent,
  type ValidatorServer,
  type ValidatorServerParameters,
} from '../src/validator/http/createValidatorServer.js'
import {
  HALF,
  ROUND,
  T_ROUND,
  WINDOW,
  buildBody,
  hotkeys,
  schemaOnlyVerifier,
  setup,
  type Setup,
} from './_admission.js'

// Keep-alive connections, so that a `Connection: close` in an answer is the server's decision.
const agent = new Agent({ keepAlive: true })

type Raw = {
  status: number
  headers: Record<string, string | string[] | undefined>
  text: string
  json: unknown
}

/** One HTTP request on a fresh connection (node:http, so hop-by-hop headers such as Connection are visible). */
function raw(
  base: string,
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const sized =
      body === undefined
        ? {}
        : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }
    const req = httpRequest(
      `${base}${path}`,
      { method, agent, headers: { ...sized, ...headers } },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8')
          let json: unknown
          try {
            json = JSON.parse(text)
          } catch {
            /* not JSON */
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json })
        })
        res.on('error', reject)
      },
    )
    req.on('error', reject)
    if (body !== undefined) req.write(body)
    req.end()
  })
}

/** The FastAPI 422 body: `{"detail": [{type, loc, msg}, …]}`. */
const validationErrorSchema = z.strictObject({
  detail: z
    .array(
      z.strictObject({
        type: z.string(),
        loc: z.array(z.union([z.string(), z.number()])).min(1),
        msg: z.string(),
      }),
    )
    .min(1)
    .max(20),
})
const detailSchema = z.strictObject({ detail: z.string() })

function stateOf(s: Setup, phase: WindowState['state'] = 'open'): WindowState {
  const b = s.batcher
  return {
    state: phase,
    window_n: b.windowStart,
    anchor_block: b.windowStart,
    cooldown_prompts: s.cooldown.inCooldown(b.windowStart),
    valid_submissions: b.validCount,
    checkpoint_n: 0,
    checkpoint_repo_id: null,
    checkpoint_revision: null,
    randomness: b.randomness,
  }
}

let keys: Hotkey[]
let alice: Hotkey
let validatorKey: Hotkey
beforeAll(async () => {
  keys = await hotkeys()
  alice = keys[0]!
  validatorKey = await createHotkey('//ValidatorServerTest')
})

type Harness = {
  s: Setup
  server: ValidatorServer
  events: SubmissionEvent[]
  clock: { t: number }
  close(): Promise<void>
}

async function harness(
  o: {
    verifier?: RolloutVerifier
    server?: Partial<ValidatorServerParameters>
    state?: () => WindowState | null
    checkpoint?: () => CheckpointManifestWire | null
  } = {},
): Promise<Harness> {
  const s = setup({ verifier: o.verifier ?? schemaOnlyVerifier, openedAtSeconds: T_ROUND - 1 })
  const events: SubmissionEvent[] = []
  const clock = { t: T_ROUND }
  const server = await createValidatorServer({
    pipeline: s.pipeline,
    state: o.state ?? (() => stateOf(s, s.pipeline.phase)),
    checkpoint: o.checkpoint ?? (() => null),
    health: () => ({ status: 'ok', active_window: s.pipeline.activeBatcher?.windowStart ?? null }),
    now: () => clock.t,
    onSubmission: (e) => events.push(e),
    ...o.server,
  })
  return { s, server, events, clock, close: () => server.close() }
}

describe('GET endpoints round-trip through the strict schemas', () => {
  test('/state: 200 GrpoBatchState while a window is active, 503 no_active_window otherwise', async () => {
    let active = true
    const h = await harness({ state: () => (active ? stateOf(h.s) : null) })
    try {
      expect(h.server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const ok = await raw(h.server.url, 'GET', '/state')
      expect(ok.status).toBe(200)
      expect(ok.headers['content-type']).toBe('application/json')
      expect(parseState(ok.text)).toEqual(stateOf(h.s))
      active = false
      const none = await raw(h.server.url, 'GET', '/state')
      expect(none.status).toBe(503)
      expect(detailSchema.parse(none.json)).toEqual({ detail: 'no_active_window' })
    } finally {
      await h.close()
    }
  })

  test('/checkpoint: 404 no_checkpoint, then the signed manifest', async () => {
    let manifest: CheckpointManifestWire | null = null
    const h = await harness({ checkpoint: () => manifest })
    try {
      const none = await raw(h.server.url, 'GET', '/checkpoint')
      expect(none.status).toBe(404)
      expect(detailSchema.parse(none.json)).toEqual({ detail: 'no_checkpoint' })
      manifest = signManifest(validatorKey, {
        checkpointN: 3,
        repoId: 'demo/reliquary',
        revision: 'ab'.repeat(20),
      })
      const ok = await raw(h.server.url, 'GET', '/checkpoint')
      expect(ok.status).toBe(200)
      expect(parseCheckpoint(ok.text)).toEqual(manifest)
    } finally {
      await h.close()
    }
  })

  test('/health, 404 for unknown paths, 405 for wrong methods', async () => {
    const h = await harness()
    try {
      const health = await raw(h.server.url, 'GET', '/health')
      expect(parseHealth(health.text)).toEqual({ status: 'ok', active_window: WINDOW })
      const unknown = await raw(h.server.url, 'GET', '/nope')
      expect([unknown.status, detailSchema.parse(unknown.json)]).toEqual([
        404,
        { detail: 'Not Found' },
      ])
      for (const [m, path] of [
        ['GET', '/submit'],
        ['POST', '/state'],
        ['DELETE', '/checkpoint'],
        ['PUT', '/health'],
        ['POST', '/verdicts/x'],
      ] as const) {
        const r = await raw(h.server.url, m, path, m === 'POST' ? '{}' : undefined)
        expect([m, path, r.status, detailSchema.parse(r.json)]).toEqual([
          m,
          path,
          405,
          { detail: 'Method Not Allowed' },
        ])
      }
    } finally {
      await h.close()
    }
  })
})

describe('POST /submit', () => {
  test('a valid submission: 200 submitted, then one worker verdict on /verdicts (with ?since)', async () => {
    const h = await harness()
    try {
      const body = await buildBody({ hotkey: alice, promptIdx: 3 })
      const r = await raw(h.server.url, 'POST', '/submit', JSON.stringify(body))
      expect(r.status).toBe(200)
      expect(r.headers.connection).not.toBe('close')
      expect(parseSubmitResponse(r.text)).toEqual({ accepted: true, reason: 'submitted' })
      await h.server.whenIdle()
      const v = await raw(h.server.url, 'GET', `/verdicts/${encodeURIComponent(alice.address)}`)
      expect(parseVerdicts(v.text).verdicts).toEqual([
        {
          merkle_root: body.merkle_root,
          window_n: WINDOW,
          accepted: true,
          reason: 'accepted',
          ts: T_ROUND,
        },
      ])
      expect(
        parseVerdicts(
          (await raw(h.server.url, 'GET', `/verdicts/${alice.address}?since=${T_ROUND + 1}`)).text,
        ).verdicts,
      ).toEqual([])
      expect(
        parseVerdicts(
          (await raw(h.server.url, 'GET', `/verdicts/${alice.address}?since=${T_ROUND}`)).text,
        ).verdicts,
      ).toHaveLength(1)
      expect(
        parseVerdicts((await raw(h.server.url, 'GET', '/verdicts/unknown-hotkey')).text),
      ).toEqual({ verdicts: [] })
      const bad = await raw(h.server.url, 'GET', `/verdicts/${alice.address}?since=yesterday`)
      expect(bad.status).toBe(422)
      expect(validationErrorSchema.parse(bad.json).detail[0]).toMatchObject({
        type: 'float_parsing',
        loc: ['query', 'since'],
      })
      expect(h.s.batcher.validCount).toBe(1)
      expect(h.events.map((e) => [e.stage, e.hotkey, e.reason])).toEqual([
        ['handler', alice.address, 'submitted'],
        ['worker', alice.address, 'accepted'],
      ])
    } finally {
      await h.close()
    }
  })

  test('422 {"detail": [...]} for schema errors and for bodies that are not JSON, as FastAPI answers', async () => {
    const h = await harness()
    try {
      const body = await buildBody({ hotkey: alice, promptIdx: 3 })
      const extra = await raw(
        h.server.url,
        'POST',
        '/submit',
        JSON.stringify({ ...body, extra_field: 1 }),
      )
      expect(extra.status).toBe(422)
      expect(validationErrorSchema.parse(extra.json).detail).toContainEqual({
        type: 'extra_forbidden',
        loc: ['body', 'extra_field'],
        msg: 'Extra inputs are not permitted',
      })
      const { miner_hotkey: _drop, ...missing } = body
      const miss = await raw(h.server.url, 'POST', '/submit', JSON.stringify(missing))
      expect(validationErrorSchema.parse(miss.json).detail).toContainEqual({
        type: 'missing',
        loc: ['body', 'miner_hotkey'],
        msg: 'Field required',
      })
      const seven = await raw(
        h.server.url,
        'POST',
        '/submit',
        JSON.stringify({ ...body, rollouts: body.rollouts.slice(0, 7) }),
      )
      expect(validationErrorSchema.parse(seven.json).detail).toContainEqual(
        expect.objectContaining({ type: 'too_short', loc: ['body', 'rollouts'] }),
      )
      for (const text of ['{', 'null', '[]', '\u00ff\u00fe', '']) {
        const r = await raw(h.server.url, 'POST', '/submit', text)
        expect(r.status, JSON.stringify(text)).toBe(422)
        validationErrorSchema.parse(r.json)
      }
      expect(h.s.pipeline.ledger.used(alice.address)).toBe(0)
    } finally {
      await h.close()
    }
  })

  test('cheap rejects answer their real reason; a bad envelope closes the connection; 409 and 503 as the reference', async () => {
    const h = await harness()
    try {
      const submit = async (b: unknown) => raw(h.server.url, 'POST', '/submit', JSON.stringify(b))
      const tampered = { ...(await buildBody({ hotkey: alice, promptIdx: 3 })), nonce: 'tampered' }
      const env = await submit(tampered)
      expect([env.status, env.headers.connection, parseSubmitResponse(env.text)]).toEqual([
        200,
        'close',
        { accepted: false, reason: 'bad_envelope_signature' },
      ])
      const cases: [Record<string, unknown>, string][] = [
        [await buildBody({ hotkey: alice, promptIdx: 3, drandRound: ROUND + 1 }), 'future_round'],
        [await buildBody({ hotkey: alice, promptIdx: 3, drandRound: ROUND - 1 }), 'stale_round'],
        [await buildBody({ hotkey: alice, promptIdx: 64 }), 'bad_prompt_idx'],
        [await buildBody({ hotkey: alice, promptIdx: 3, checkpointHash: 'x' }), 'submitted'], // no checkpoint yet: the gate is off
      ]
      for (const [b, reason] of cases) {
        const r = await submit(b)
        expect([
          r.status,
          r.headers.connection === 'close',
          parseSubmitResponse(r.text).reason,
        ]).toEqual([200, false, reason])
      }
      const mismatch = await submit(
        await buildBody({ hotkey: alice, promptIdx: 3, windowStart: WINDOW + 1 }),
      )
      expect([mismatch.status, detailSchema.parse(mismatch.json)]).toEqual([
        409,
        { detail: 'window_mismatch' },
      ])
      h.s.pipeline.setPhase('training')
      const closed = await submit(await buildBody({ hotkey: alice, promptIdx: 4 }))
      expect(parseSubmitResponse(closed.text)).toEqual({
        accepted: false,
        reason: 'window_not_active',
      })
      h.s.pipeline.setPhase('open')
      h.s.pipeline.setActiveBatcher(null)
      const none = await submit(await buildBody({ hotkey: alice, promptIdx: 4, randomness: '' }))
      expect([none.status, detailSchema.parse(none.json)]).toEqual([
        503,
        { detail: 'no_active_window' },
      ])
      await h.server.whenIdle()
    } finally {
      await h.close()
    }
  })

  test('the arrival time is stamped when the request arrives, before the body is read', async () => {
    const h = await harness()
    try {
      const body = JSON.stringify(await buildBody({ hotkey: alice, promptIdx: 5 }))
      const answer = new Promise<Raw>((resolve, reject) => {
        const req = httpRequest(
          `${h.server.url}/submit`,
          {
            method: 'POST',
            agent: false,
            headers: {
              'content-type': 'application/json',
              'content-length': String(Buffer.byteLength(body)),
            },
          },
          (res) => {
            let text = ''
            res.on('data', (c: Buffer) => (text += c.toString()))
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                headers: res.headers,
                text,
                json: JSON.parse(text),
              }),
            )
          },
        )
        req.on('error', reject)
        req.flushHeaders()
        // The headers arrive in round ROUND; the body only three rounds later.
        setTimeout(() => {
          h.clock.t = T_ROUND + 9
          req.end(body)
        }, 150)
      })
      expect(parseSubmitResponse((await answer).text)).toEqual({
        accepted: true,
        reason: 'submitted',
      })
      await h.server.whenIdle()
    } finally {
      await h.close()
    }
  })

  test('the body is bounded: 413 payload_too_large with Connection: close, declared or streamed', async () => {
    const h = await harness({ server: { maxBodyBytes: 64 * 1024 } })
    try {
      const big = JSON.stringify({
        ...(await buildBody({ hotkey: alice, promptIdx: 3 })),
        pad: 'x'.repeat(100 * 1024),
      })
      const declared = await raw(h.server.url, 'POST', '/submit', big)
      expect([
        declared.status,
        declared.headers.connection,
        detailSchema.parse(declared.json),
      ]).toEqual([413, 'close', { detail: 'payload_too_large' }])
      expect(h.server.stats().peakBufferedBytes).toBe(0) // refused on Content-Length, nothing read
      const streamed = await new Promise<Raw>((resolve, reject) => {
        const req = httpRequest(
          `${h.server.url}/submit`,
          {
            method: 'POST',
            agent: false,
            headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
          },
          (res) => {
            let text = ''
            res.on('data', (c: Buffer) => (text += c.toString()))
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                headers: res.headers,
                text,
                json: JSON.parse(text),
              }),
            )
          },
        )
        req.on('error', reject)
        for (let i = 0; i < big.length; i += 8192) req.write(big.slice(i, i + 8192))
        req.end()
      })
      expect([
        streamed.status,
        streamed.headers.connection,
        detailSchema.parse(streamed.json),
      ]).toEqual([413, 'close', { detail: 'payload_too_large' }])
      expect(h.server.stats().peakBufferedBytes).toBeLessThanOrEqual(64 * 1024)
      const ok = await raw(
        h.server.url,
        'POST',
        '/submit',
        JSON.stringify(await buildBody({ hotkey: alice, promptIdx: 3 })),
      )
      expect(ok.status).toBe(200)
      await h.server.whenIdle()
      expect(h.server.pending()).toBe(0)
    } finally {
      await h.close()
    }
  })

  test('queue full: 503 queue_full without reading the body while the worker is busy', async () => {
    let release: () => void = () => undefined
    const gate = new Promise<void>((r) => (release = r))
    const slow: RolloutVerifier = async (p) => {
      await gate
      return schemaOnlyVerifier(p)
    }
    const h = await harness({ verifier: slow, server: { maxQueueDepth: 2 } })
    try {
      const post = async (i: number) =>
        raw(
          h.server.url,
          'POST',
          '/submit',
          JSON.stringify(await buildBody({ hotkey: keys[i]!, promptIdx: 10 + i })),
        )
      expect(parseSubmitResponse((await post(0)).text).reason).toBe('submitted') // being verified
      expect(parseSubmitResponse((await post(1)).text).reason).toBe('submitted') // queued
      expect(h.server.pending()).toBe(2)
      const full = await post(2)
      expect([full.status, detailSchema.parse(full.json)]).toEqual([503, { detail: 'queue_full' }])
      release()
      await h.server.whenIdle()
      expect(parseSubmitResponse((await post(3)).text).reason).toBe('submitted')
      await h.server.whenIdle()
      expect(h.s.batcher.validCount).toBe(3)
      expect(h.server.stats().peakPending).toBe(2)
    } finally {
      release()
      await h.close()
    }
  })
})

describe('concurrency', () => {
  test('200 concurrent submissions, most invalid: all answered once, every queued one gets exactly one verdict, the window seals', async () => {
    const maxBodyBytes = 256 * 1024
    const h = await harness({ server: { maxBodyBytes, maxQueueDepth: 256 } })
    try {
      const flood = await Promise.all(
        Array.from({ length: 24 }, (_, i) => createHotkey(`//Flood${i}`)),
      )
      type Case = {
        kind: string
        body: string
        hotkey: string | null
        expect: { status: number; reason: string; worker?: string }
      }
      const cases: Case[] = []
      const add = (kind: string, body: unknown, hotkey: string | null, e: Case['expect']) =>
        cases.push({
          kind,
          body: typeof body === 'string' ? body : JSON.stringify(body),
          hotkey,
          expect: e,
        })
      // 36 valid submissions: 6 hotkeys × 6 (within the quota of 8), 12 prompts × 3 (within the prompt cap of 10).
      for (let i = 0; i < 36; i++) {
        const k = keys[i % 6]!
        add(
          'valid',
          await buildBody({ hotkey: k, promptIdx: 20 + (i % 12), salt: 100 + i, nonce: `v${i}` }),
          k.address,
          { status: 200, reason: 'submitted', worker: 'accepted' },
        )
      }
      // 164 invalid ones, each kind from its own hotkeys so quota use stays predictable.
      let f = 0
      const fk = () => flood[Math.floor(f++ / 7) % flood.length]!
      for (let i = 0; i < 164; i++) {
        const k = fk()
        const base = { hotkey: k, promptIdx: 40 + (i % 20), salt: 1000 + i, nonce: `x${i}` }
        switch (i % 9) {
          case 0:
            add('extra_field', { ...(await buildBody(base)), extra_field: true }, k.address, {
              status: 422,
              reason: 'bad_schema',
            })
            break
          case 1:
            add('not_json', `{"miner_hotkey": "${k.address}", `, null, {
              status: 422,
              reason: 'bad_schema',
            })
            break
          case 2:
            add('bad_envelope', { ...(await buildBody(base)), nonce: 'tampered' }, k.address, {
              status: 200,
              reason: 'bad_envelope_signature',
            })
            break
          case 3:
            add(
              'window_mismatch',
              await buildBody({ ...base, windowStart: WINDOW + 7 }),
              k.address,
              { status: 409, reason: 'window_mismatch' },
            )
            break
          case 4:
            add('future_round', await buildBody({ ...base, drandRound: ROUND + 2 }), k.address, {
              status: 200,
              reason: 'future_round',
            })
            break
          case 5:
            add('bad_prompt_idx', await buildBody({ ...base, promptIdx: 1000 }), k.address, {
              status: 200,
              reason: 'bad_prompt_idx',
            })
            break
          case 6:
            add(
              'oversized',
              JSON.stringify({ ...(await buildBody(base)), pad: 'y'.repeat(maxBodyBytes) }),
              null,
              { status: 413, reason: 'payload_too_large' },
            )
            break
          case 7:
            add(
              'reward_mismatch',
              await buildBody({
                ...base,
                rollouts: HALF.map((r, j) => (j === 0 ? { ...r, reward: 0.5 } : r)),
              }),
              k.address,
              { status: 200, reason: 'submitted', worker: 'reward_mismatch' },
            )
            break
          default:
            add(
              'out_of_zone',
              await buildBody({ ...base, rollouts: HALF.map(() => ({ correct: true })) }),
              k.address,
              { status: 200, reason: 'submitted', worker: 'out_of_zone' },
            )
        }
      }
      expect(cases).toHaveLength(200)
      // Interleave valid and invalid requests, then fire them all at once.
      const order = cases
        .map((c, i) => ({ c, key: (i * 7919) % 200 }))
        .sort((a, b) => a.key - b.key)
        .map((x) => x.c)
      const heapBefore = process.memoryUsage().heapUsed
      const t0 = performance.now()
      const answers = await Promise.all(
        order.map((c) => raw(h.server.url, 'POST', '/submit', c.body)),
      )
      await h.server.whenIdle()
      const seconds = (performance.now() - t0) / 1000
      expect(seconds).toBeLessThan(60)

      // Every request answered once, with the expected status and reason.
      answers.forEach((a, i) => {
        const c = order[i]!
        let reason: string
        if (a.status === 200) reason = parseSubmitResponse(a.text).reason
        else if (a.status === 422) {
          validationErrorSchema.parse(a.json)
          reason = 'bad_schema'
        } else reason = detailSchema.parse(a.json).detail
        expect({ kind: c.kind, status: a.status, reason }).toEqual({
          kind: c.kind,
          status: c.expect.status,
          reason: c.expect.reason,
        })
        if (c.kind === 'bad_envelope' || c.kind === 'oversized')
          expect(a.headers.connection).toBe('close')
      })
      const submitted = order.filter((c) => c.expect.reason === 'submitted')
      const stats = h.server.stats()
      expect(Object.values(stats.submitResponses).reduce((a, b) => a + b, 0)).toBe(200)
      expect(stats.workerVerdicts).toBe(submitted.length)
      expect(h.server.pending()).toBe(0)
      expect(h.s.pipeline.queueDepth).toBe(0)

      // None lost, none double-counted: per hotkey, the worker verdicts on /verdicts match what it queued.
      const workerEvents = h.events.filter((e) => e.stage === 'worker')
      expect(workerEvents).toHaveLength(submitted.length)
      for (const e of workerEvents)
        if (e.verdict?.accepted)
          expect((e.verdict as { submission?: { hotkey: string } }).submission?.hotkey).toBe(
            e.hotkey,
          )
      const byHotkey = new Map<string, string[]>()
      for (const c of submitted)
        byHotkey.set(c.hotkey!, [...(byHotkey.get(c.hotkey!) ?? []), c.expect.worker!].sort())
      for (const [hk, expected] of byHotkey) {
        const v = parseVerdicts(
          (await raw(h.server.url, 'GET', `/verdicts/${encodeURIComponent(hk)}`)).text,
        ).verdicts
        const worker = v
          .filter(
            (x) =>
              x.reason === 'accepted' ||
              x.reason === 'reward_mismatch' ||
              x.reason === 'out_of_zone',
          )
          .map((x) => x.reason)
          .sort()
        expect(worker, hk).toEqual(expected)
      }
      expect(h.s.batcher.validCount).toBe(36)

      // Bounded memory: at most maxQueueDepth requests pending, each holding at most maxBodyBytes.
      expect(stats.peakPending).toBeLessThanOrEqual(256)
      expect(stats.peakBufferedBytes).toBeLessThanOrEqual(200 * maxBodyBytes)
      expect(stats.peakBufferedBytes).toBeLessThan(
        order.reduce((a, c) => a + Buffer.byteLength(c.body), 0),
      )
      expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(512 * 1024 * 1024)

      // The window still seals correctly: trigger in ROUND, due after the next boundary, a full batch of 8.
      expect(h.s.batcher.sealTriggerRound).toBe(ROUND)
      const due = h.s.batcher.sealDueAt()!
      expect(h.s.batcher.isSealDue(due, { queueDepth: h.server.pending() })).toBe(true)
      const sealed = h.s.batcher.seal(due)
      expect(sealed.trained).toBe(true)
      expect(new Set(sealed.batch.map((b) => b.promptIdx)).size).toBe(8)
      expect([...sealed.rewardsByHotkey.values()].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12)
      expect(
        [...sealed.rewardsByHotkey.keys()].every((hk) =>
          keys.slice(0, 6).some((k) => k.address === hk),
        ),
      ).toBe(true)
      // After the seal, a late submission is batch_filled.
      const late = await raw(
        h.server.url,
        'POST',
        '/submit',
        JSON.stringify(await buildBody({ hotkey: flood[23]!, promptIdx: 63, salt: 9999 })),
      )
      expect(parseSubmitResponse(late.text)).toEqual({ accepted: false, reason: 'batch_filled' })
    } finally {
      await h.close()
    }
  }, 120_000)
})

test('close() is idempotent and stops listening', async () => {
  const h = await harness()
  await Promise.all([h.close(), h.close()])
  await expect(raw(h.server.url, 'GET', '/health')).rejects.toThrow()
})

describe('createValidator', () => {
  const modelDir = 'test/fixtures/reference/qwen3-tiny-s0'
  const chain = createLocalBeaconChain({
    genesisTime: Math.floor(Date.now() / 1000) - 5,
    periodSeconds: 1,
  })
  const profile = defineProfile(e3, {
    id: 'e3-validator-test',
    drand: {
      chainHash: chain.info.hash,
      genesisTime: chain.info.genesis_time,
      periodSeconds: chain.info.period,
    },
  })
  let dir: string
  let base: Omit<Parameters<typeof createValidator>[0], 'profile'>
  beforeAll(async () => {
    await useBackend('wasm')
    dir = await mkdtemp(join(tmpdir(), 'reliquary-validator-test-'))
    const tokenizer = await loadTokenizer(modelDir)
    const environment = createTargetTokenEnvironment({ tokenizer, vocabSize: 459, size: 16 })
    base = {
      modelDir,
      environment,
      tokenizer,
      hotkey: validatorKey,
      beacons: chain,
      archiveDir: dir,
    }
  })
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true })
  })

  test('one window without miners: 503 → open (the randomness of the verified beacon) → partial seal → archive → ready', async () => {
    // The profile's drand timing must be the beacon chain's.
    await expect(createValidator({ ...base, profile: e3 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
    const events: ValidatorEvent[] = []
    const v = await createValidator({ ...base, profile, onEvent: (e) => events.push(e) })
    try {
      expect(v.url).toMatch(/^http:\/\/127\.0\.0\.1:/)
      expect((await raw(v.url, 'GET', '/state')).status).toBe(503)
      expect(parseHealth((await raw(v.url, 'GET', '/health')).text)).toEqual({
        status: 'ok',
        active_window: null,
      })
      const running = v.runWindow()
      await expect(v.runWindow()).rejects.toMatchObject({ code: 'WINDOW_STATE_INVALID' })
      let state: WindowState | null = null
      for (let i = 0; i < 200 && state === null; i++) {
        const r = await raw(v.url, 'GET', '/state')
        if (r.status === 200) state = parseState(r.text)
        else await new Promise((res) => setTimeout(res, 25))
      }
      const open = events.find((e) => e.type === 'open')
      if (!state || open?.type !== 'open') throw new Error('the window did not open')
      expect(state).toEqual({
        state: 'open',
        window_n: 1,
        anchor_block: 1,
        cooldown_prompts: [],
        valid_submissions: 0,
        checkpoint_n: 0,
        checkpoint_repo_id: null,
        checkpoint_revision: null,
        randomness: windowRandomnessE3(chain.rawBeacon(open.round).randomness!, open.round),
      })
      // A request whose envelope binds another randomness is a cheap reject, counted for its hotkey.
      const body = await buildBody({
        hotkey: alice,
        promptIdx: 1,
        windowStart: 1,
        drandRound: open.round,
        randomness: 'aa'.repeat(32),
      })
      const r = await raw(v.url, 'POST', '/submit', JSON.stringify(body))
      expect([r.status, r.headers.connection, parseSubmitResponse(r.text)]).toEqual([
        200,
        'close',
        { accepted: false, reason: 'bad_envelope_signature' },
      ])
      v.closeWindow()
      const report = await running
      expect(report).toMatchObject({
        windowN: 1,
        round: open.round,
        sealReason: 'closed',
        validSubmissions: 0,
        batchSize: 0,
        trained: false,
        loss: null,
        kl: null,
        published: null,
        burn: 1,
      })
      expect(report.rejects).toEqual({ bad_envelope_signature: 1 })
      expect(report.perHotkey).toEqual({
        [alice.address]: { submitted: 1, accepted: 0, rejected: { bad_envelope_signature: 1 } },
      })
      expect(
        events.filter((e) => e.type === 'state').map((e) => (e.type === 'state' ? e.to : '')),
      ).toEqual(['open', 'training', 'publishing', 'ready'])
      const archive = await decodeWindowArchive(await readFile(report.archivePath))
      expect(archive).toMatchObject({
        window_start: 1,
        validator_hotkey: validatorKey.address,
        randomness: state.randomness,
        batch: [],
      })
      expect((await raw(v.url, 'GET', '/state')).status).toBe(503)
      expect(v.phase).toBe('ready')
      expect(v.checkpoint()).toBeNull()
      expect(v.ema().size).toBe(0)
    } finally {
      await v.dispose()
    }
  }, 60_000)

  test('runValidator: an abort closes the open window, finishes it, then shuts the validator down', async () => {
    const ac = new AbortController()
    let url = ''
    const out = await runValidator({
      ...base,
      profile,
      archiveDir: join(dir, 'run'),
      lastWindowN: 41,
      windows: 5,
      signal: ac.signal,
      onStart: (v) => (url = v.url),
      onEvent: (e) => e.type === 'open' && ac.abort(),
    })
    expect(out.aborted).toBe(true)
    expect(out.reports.map((r) => [r.windowN, r.sealReason])).toEqual([[42, 'closed']])
    await expect(raw(url, 'GET', '/health')).rejects.toThrow()
  }, 60_000)
})
