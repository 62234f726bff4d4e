// Admission no client can hold: a /submit whose body is still arriving is not pending (the seal
// never waits for it), is dropped with 408 request_timeout at its deadline, and held uploads
// neither fill the queue nor the byte budget for honest miners.
import { connect, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import type { Hotkey } from '../src/crypto/sr25519.js'
import { parseSubmitResponse } from '../src/protocol/schemas.js'
import {
  createValidatorServer,
  type SubmissionEvent,
  type ValidatorServerParameters,
} from '../src/validator/http/createValidatorServer.js'
import { T_ROUND, buildBody, hotkeys, schemaOnlyVerifier, setup } from './_admission.js'

let keys: Hotkey[]
beforeAll(async () => {
  keys = await hotkeys()
})

async function harness(server: Partial<ValidatorServerParameters> = {}) {
  const s = setup({ verifier: schemaOnlyVerifier, openedAtSeconds: T_ROUND - 1 })
  const events: SubmissionEvent[] = []
  const srv = await createValidatorServer({
    pipeline: s.pipeline,
    state: () => null,
    checkpoint: () => null,
    health: () => ({ status: 'ok', active_window: s.batcher.windowStart }),
    now: () => T_ROUND,
    onSubmission: (e) => events.push(e),
    ...server,
  })
  return { s, server: srv, events }
}

const sockets: Socket[] = []
afterAll(() => {
  for (const s of sockets) s.destroy()
})

/** Opens a connection, sends the headers of a `/submit` of `length` bytes and `sent` of them. */
function holdUpload(
  url: string,
  length: number,
  sent: number,
): { socket: Socket; answer: Promise<string> } {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port), hostname)
  sockets.push(socket)
  socket.write(
    `POST /submit HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n${'{'.padEnd(sent, ' ')}`,
  )
  let text = ''
  const answer = new Promise<string>((resolve) => {
    socket.on('data', (c) => (text += c.toString()))
    socket.on('close', () => resolve(text))
    socket.on('error', () => resolve(text))
  })
  return { socket, answer }
}

async function submitHonest(url: string, i: number): Promise<{ status: number; reason: string }> {
  const body = JSON.stringify(await buildBody({ hotkey: keys[i % keys.length]!, promptIdx: i }))
  const r = await fetch(`${url}/submit`, { method: 'POST', body })
  const text = await r.text()
  return { status: r.status, reason: r.status === 200 ? parseSubmitResponse(text).reason : text }
}

const waitFor = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 10))
  expect(cond()).toBe(true)
}

describe('held and slow uploads', () => {
  test('a partial upload is not pending: the seal does not wait, others are admitted, it gets 408 at its deadline', async () => {
    const h = await harness({ bodyTimeoutMs: 400 })
    try {
      const held = holdUpload(h.server.url, 5000, 100)
      await waitFor(() => h.server.stats().peakBufferedBytes >= 100)
      // Before: the held request counted as pending, so the E3 seal (queue empty) waited for it.
      expect(h.server.pending()).toBe(0)
      await h.server.whenIdle()
      expect(await submitHonest(h.server.url, 3)).toEqual({ status: 200, reason: 'submitted' })
      await h.server.whenIdle()
      expect(h.s.batcher.validCount).toBe(1)
      const answer = await held.answer
      expect(answer).toMatch(/^HTTP\/1\.1 408 /)
      expect(answer.toLowerCase()).toContain('connection: close')
      expect(answer).toContain('{"detail":"request_timeout"}')
      expect(h.events.map((e) => e.reason)).toContain('body_timeout')
      expect(h.server.pending()).toBe(0)
    } finally {
      await h.server.close()
    }
  })

  test('1,100 held partial uploads: honest submissions are still admitted and nothing is pending', async () => {
    const h = await harness({ bodyTimeoutMs: 60_000 })
    try {
      const held = Array.from({ length: 1100 }, () => holdUpload(h.server.url, 4000, 10))
      await waitFor(() => h.server.stats().peakBufferedBytes >= 1100 * 10)
      // Before: 1,024 requests being read filled the queue and every /submit answered 503.
      expect(h.server.pending()).toBe(0)
      const honest = await Promise.all([0, 1, 2, 3, 4].map((i) => submitHonest(h.server.url, i)))
      expect(honest).toEqual(honest.map(() => ({ status: 200, reason: 'submitted' })))
      await h.server.whenIdle()
      expect(h.s.batcher.validCount).toBe(5)
      for (const u of held) u.socket.destroy()
    } finally {
      await h.server.close()
    }
  })

  test('the global byte budget: an upload past it is refused, the held bytes are released', async () => {
    const h = await harness({ bodyTimeoutMs: 60_000, maxBufferedBytes: 64 * 1024 })
    try {
      const held = holdUpload(h.server.url, 200_000, 60 * 1024)
      await waitFor(() => h.server.stats().peakBufferedBytes >= 60 * 1024)
      const big = holdUpload(h.server.url, 100_000, 8 * 1024)
      const answer = await big.answer
      expect(answer).toMatch(/^HTTP\/1\.1 503 /)
      expect(answer).toContain('{"detail":"queue_full"}')
      expect(h.events.map((e) => e.reason)).toContain('buffer_full')
      held.socket.destroy()
      await waitFor(() => h.server.pending() === 0)
      expect(await submitHonest(h.server.url, 7)).toEqual({ status: 200, reason: 'submitted' })
      await h.server.whenIdle()
    } finally {
      await h.server.close()
    }
  })
})
