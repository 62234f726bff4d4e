// The /submit parsing threads (createValidatorServer's `submitWorkers`): the same answers, events
// and verdicts as the handler on the event loop, for good and bad bodies; a killed or stopped
// thread gives a typed outcome, never a hang, and the next body starts a new thread.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { e3 } from '../src/protocol/profiles.js'
import { ReliquaryError } from '../src/errors/base.js'
import type { Hotkey } from '../src/crypto/sr25519.js'
import {
  createValidatorServer,
  type SubmissionEvent,
  type ValidatorServer,
} from '../src/validator/http/createValidatorServer.js'
import {
  fromRemote,
  type PreparedSubmit,
  prepareSubmit,
  requestHead,
} from '../src/validator/http/_prepareSubmit.js'
import { SubmitPool } from '../src/validator/http/submitPool.js'
import { ArrivalOrder } from '../src/validator/http/submitRoute.js'
import {
  RANDOMNESS,
  ROUND,
  T_ROUND,
  WINDOW,
  buildBody,
  hotkeys,
  setup,
} from '../test/_admission.js'

type Answer = { status: number; body: string; connection: string | null }

async function post(
  server: ValidatorServer,
  body: string | Uint8Array<ArrayBuffer>,
): Promise<Answer> {
  const r = await fetch(`${server.url}/submit`, { method: 'POST', body })
  return { status: r.status, body: await r.text(), connection: r.headers.get('connection') }
}

/** A server over a fresh pipeline; `pool`: parse every body in one thread. */
async function serve(pool: boolean) {
  const s = setup()
  const events: SubmissionEvent[] = []
  const server = await createValidatorServer({
    pipeline: s.pipeline,
    state: () => null,
    checkpoint: () => null,
    health: () => ({ status: 'ok', active_window: WINDOW }),
    now: () => T_ROUND,
    onSubmission: (e) => events.push(e),
    ...(pool ? { submitWorkers: 1, submitInlineBytes: 0 } : {}),
  })
  return { s, server, events }
}

let keys: Hotkey[]
let bodies: (string | Uint8Array<ArrayBuffer>)[]
// One pooled server for the tests below (each thread start costs a TypeScript load here).
let pooled: Awaited<ReturnType<typeof serve>>

beforeAll(async () => {
  pooled = await serve(true)
  keys = await hotkeys()
  const good = await buildBody({ hotkey: keys[0]!, promptIdx: 1, nonce: 'n1' })
  const good2 = await buildBody({ hotkey: keys[1]!, promptIdx: 2, salt: 2, nonce: 'n2' })
  const badSig = { ...(await buildBody({ hotkey: keys[2]!, promptIdx: 3 })), nonce: 'edited' }
  const otherWindow = await buildBody({ hotkey: keys[0]!, promptIdx: 4, windowStart: WINDOW + 1 })
  const future = await buildBody({ hotkey: keys[1]!, promptIdx: 5, drandRound: ROUND + 5 })
  const wrongRandomness = await buildBody({
    hotkey: keys[2]!,
    promptIdx: 6,
    randomness: '11'.repeat(32),
  })
  const extra = { ...good2, surprise: 1 }
  const { rollouts: _r, ...noRollouts } = good2
  bodies = [
    JSON.stringify(good),
    JSON.stringify(badSig),
    JSON.stringify(otherWindow),
    JSON.stringify(future),
    JSON.stringify(wrongRandomness),
    JSON.stringify(extra),
    JSON.stringify(noRollouts),
    JSON.stringify({ ...good2, prompt_idx: -1 }),
    '{"miner_hotkey":1}',
    '[1,2',
    new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]),
    JSON.stringify(good), // a repeat of the first (same nonce and root)
    JSON.stringify(good2),
  ]
})

/** A body's answer when it parsed. */
type Parsed = Extract<PreparedSubmit, { kind: 'parsed' }>
/** The loop's request for a thread's answer of `head` and `bytes`. */
const fromThread = (head: Record<string, unknown>, bytes: Uint8Array): Parsed =>
  fromRemote({ kind: 'parsed_bytes', head, bytes, envelope: null }, e3) as Parsed

const servers: ValidatorServer[] = []
afterAll(async () => {
  await pooled.server.close()
  for (const s of servers) await s.close()
})

test('the parsing thread gives the same answers, events and verdicts as the event loop', async () => {
  const runs = []
  for (const pool of [false, true]) {
    const r = pool ? pooled : await serve(false)
    if (!pool) servers.push(r.server)
    r.events.length = 0
    expect(r.server.submitPool === null).toBe(!pool)
    const answers: Answer[] = []
    for (const b of bodies) answers.push(await post(r.server, b))
    await r.server.whenIdle()
    const verdicts = keys.map((k) => r.s.pipeline.verdicts(k.address).verdicts)
    runs.push({ answers, events: r.events, verdicts, stats: r.server.stats() })
  }
  const [loop, viaPool] = runs as [(typeof runs)[0], (typeof runs)[0]]
  // The reference's answers for a few of them, written out.
  expect(loop.answers[0]).toEqual({
    status: 200,
    body: '{"accepted":true,"reason":"submitted"}',
    connection: 'keep-alive',
  })
  expect(loop.answers[1]).toEqual({
    status: 200,
    body: '{"accepted":false,"reason":"bad_envelope_signature"}',
    connection: 'close',
  })
  expect(loop.answers[2]!.status).toBe(409)
  expect(loop.answers[3]!.body).toBe('{"accepted":false,"reason":"future_round"}')
  expect(loop.answers[4]!.body).toBe('{"accepted":false,"reason":"bad_envelope_signature"}')
  expect(loop.answers[5]!.status).toBe(422)
  expect(loop.answers[5]!.body).toContain('"extra_forbidden"')
  expect(loop.answers[9]!.body).toBe(
    '{"detail":[{"type":"json_invalid","loc":["body",0],"msg":"JSON decode error"}]}',
  )
  expect(loop.answers[10]!.status).toBe(422)
  // Byte for byte the same through the thread.
  expect(viaPool.answers).toEqual(loop.answers)
  expect(viaPool.events).toEqual(loop.events)
  expect(viaPool.verdicts).toEqual(loop.verdicts)
  expect(viaPool.stats.submitResponses).toEqual(loop.stats.submitResponses)
  expect(loop.events.filter((e) => e.stage === 'worker').length).toBe(3)
})

test('concurrent bodies through the thread are each answered and verified once', async () => {
  const r = pooled
  r.events.length = 0
  const many = await Promise.all(
    [0, 1, 2, 3, 4, 5].map((i) =>
      buildBody({ hotkey: keys[3 + (i % 3)]!, promptIdx: 10 + i, salt: i, nonce: `c${i}` }),
    ),
  )
  const answers = await Promise.all(many.map((b) => post(r.server, JSON.stringify(b))))
  for (const a of answers) expect(a.body).toBe('{"accepted":true,"reason":"submitted"}')
  await r.server.whenIdle()
  const handler = r.events.filter((e) => e.stage === 'handler').map((e) => e.hotkey)
  const worker = r.events.filter((e) => e.stage === 'worker').map((e) => e.hotkey)
  // The worker verifies in the order the handler queued them.
  expect(worker).toEqual(handler)
  expect(worker.length).toBe(6)
})

test('a body prepared in a thread (its bytes moved back and decoded on the loop) equals one prepared on the loop', async () => {
  const pool = pooled.server.submitPool!
  {
    const good = JSON.stringify(await buildBody({ hotkey: keys[0]!, promptIdx: 7, nonce: 'pp' }))
    const cases = [
      good,
      // Keys JSON.parse makes own properties but an object literal would not.
      good.replace('"proof_version"', '"__proto__":{"polluted":1},"proof_version"'),
      good.replace('"miner_hotkey"', '"constructor":1,"miner_hotkey"'),
      good.replace('"nonce":"pp"', '"nonce":"p\\u0000\\ud800"'),
      '{"miner_hotkey":1}',
      '[1,2',
    ]
    for (const text of cases)
      for (const randomness of [RANDOMNESS, '']) {
        const loop = await prepareSubmit(Buffer.from(text), { profile: e3, randomness })
        const thread = await pool.prepare(Buffer.from(text), randomness)
        expect(thread).toStrictEqual(loop)
      }
    const first = await prepareSubmit(Buffer.from(good), { profile: e3, randomness: RANDOMNESS })
    expect(first).toMatchObject({ kind: 'parsed', envelope: { randomness: RANDOMNESS, ok: true } })
  }
})

test("a thread's answer leaves the rollouts encoded until first read; bytes that decode otherwise fail closed", async () => {
  const good = JSON.stringify(await buildBody({ hotkey: keys[0]!, promptIdx: 9, nonce: 'lazy' }))
  const loop = (await prepareSubmit(Buffer.from(good), { profile: e3, randomness: '' })) as Parsed
  const thread = (await pooled.server.submitPool!.prepare(Buffer.from(good), '')) as Parsed
  expect(thread.kind).toBe('parsed')
  // The handler stage reads the head; the rollouts are an accessor until the worker stage reads them.
  expect(typeof Object.getOwnPropertyDescriptor(thread.request, 'rollouts')?.get).toBe('function')
  expect(Object.keys(thread.request)).toEqual(Object.keys(loop.request))
  expect(thread.request.rollouts).toStrictEqual(loop.request.rollouts)
  expect(thread.request.rollouts).toBe(thread.request.rollouts) // decoded once
  // A head that is not the bytes' own (a validator fault, never a miner's): reading the rollouts
  // throws a typed error, and the worker stage turns it into `worker_dropped`.
  const head = { ...requestHead(loop.request), prompt_idx: loop.request.prompt_idx + 1 }
  const forged = fromThread(head, Buffer.from(good))
  let thrown: unknown
  try {
    void forged.request.rollouts
  } catch (e) {
    thrown = e
  }
  expect(thrown).toBeInstanceOf(ReliquaryError)
  expect((thrown as ReliquaryError).code).toBe('VALIDATOR_SUBMIT_POOL_FAILED')
  // A head key is only ever a data field: an own `__proto__` does not set the prototype.
  const proto = JSON.parse('{"__proto__":{"polluted":1},"rollouts":null}') as Record<
    string,
    unknown
  >
  const odd = fromThread(proto, Buffer.from(good))
  expect(Object.getPrototypeOf(odd.request)).toBe(Object.prototype)
  expect((odd.request as unknown as Record<string, unknown>).polluted).toBeUndefined()
  // Queued behind an honest body whose verifier looks ahead: the look ahead skips it, and the
  // honest body's verdict is its own.
  let lookedAhead = -1
  const s = setup({
    batchVerifier: (ps, upcoming) => {
      lookedAhead = upcoming ? [...upcoming(8)].length : -1
      return ps.map(() => ({ ok: true, reason: null }))
    },
  })
  for (const request of [loop.request, forged.request]) {
    const handler = await s.pipeline.submit(request, {
      arrivalSeconds: T_ROUND,
      envelope: { randomness: RANDOMNESS, ok: true },
    })
    expect(handler.reason).toBe('submitted')
  }
  expect(await s.pipeline.processNext({ nowSeconds: T_ROUND })).toMatchObject({ accepted: true })
  expect(lookedAhead).toBe(0)
  const verdict = await s.pipeline.processNext({ nowSeconds: T_ROUND })
  expect(verdict).toMatchObject({ accepted: false, reason: 'worker_dropped', check: 'internal' })
})

test("a decoded body's bytes are let go", async () => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  const good = JSON.stringify(await buildBody({ hotkey: keys[1]!, promptIdx: 11, nonce: 'gone' }))
  const loop = (await prepareSubmit(Buffer.from(good), { profile: e3, randomness: '' })) as Parsed
  let ref: WeakRef<ArrayBuffer> | undefined
  const made = (() => {
    const bytes = new Uint8Array(Buffer.from(good))
    ref = new WeakRef(bytes.buffer)
    return fromThread(requestHead(loop.request), bytes)
  })()
  await new Promise((r) => setTimeout(r, 0))
  gc()
  expect(ref!.deref()).toBeDefined() // held until the rollouts are read
  expect(made.request.rollouts).toStrictEqual(loop.request.rollouts)
  await new Promise((r) => setTimeout(r, 0))
  gc()
  expect(ref!.deref()).toBeUndefined()
})

test('turns open in the order they were taken, whatever order earlier ones are released in', async () => {
  const order = new ArrivalOrder()
  const seen: number[] = []
  const turns = [0, 1, 2, 3].map((i) => {
    const t = order.next()
    void t.ready.then(() => seen.push(i))
    return t
  })
  const settle = () => new Promise((r) => setTimeout(r, 5))
  turns[2]!.release() // a refused body releases at once
  await settle()
  expect(seen).toEqual([0])
  turns[1]!.release()
  await settle()
  expect(seen).toEqual([0]) // turn 0 still holds everyone after it
  turns[0]!.release()
  await settle()
  expect(seen).toEqual([0, 1, 2, 3])
})

test('a killed parsing thread fails its bodies with a typed error and is replaced', async () => {
  const pool = new SubmitPool({ profile: e3, size: 1 })
  try {
    const body = new TextEncoder().encode(
      JSON.stringify(await buildBody({ hotkey: keys[0]!, promptIdx: 1 })),
    )
    // Posted before the thread is even ready: still held by it when it is killed.
    const held = pool.prepare(body, RANDOMNESS)
    await pool.kill(0)
    const err = await held.then(
      () => null,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(ReliquaryError)
    expect((err as ReliquaryError).code).toBe('VALIDATOR_SUBMIT_POOL_FAILED')
    const again = await pool.prepare(body, RANDOMNESS)
    expect(again.kind).toBe('parsed')
    expect(again.kind === 'parsed' && again.envelope).toEqual({ randomness: RANDOMNESS, ok: true })
    expect(pool.starts).toBe(2)
  } finally {
    await pool.close()
  }
  await expect(pool.prepare(new Uint8Array([1]), null)).rejects.toMatchObject({
    code: 'VALIDATOR_SUBMIT_POOL_FAILED',
  })
})

test('a server whose parsing thread died answers 500 and then recovers', async () => {
  const r = pooled
  const good = JSON.stringify(await buildBody({ hotkey: keys[5]!, promptIdx: 20, nonce: 'k' }))
  await r.server.submitPool!.kill(0)
  expect((await post(r.server, good)).body).toBe('{"accepted":true,"reason":"submitted"}')
  expect(r.server.submitPool!.starts).toBe(2)
  await r.server.submitPool!.close()
  const after = await post(r.server, '{"miner_hotkey":1}')
  expect(after.status).toBe(500)
  expect(JSON.parse(after.body).detail).toMatch(/parsing thread was stopped/)
  expect(r.events.at(-1)).toMatchObject({ stage: 'handler', status: 500, accepted: false })
  expect(r.events.at(-1)!.verdict).toMatchObject({ reason: 'worker_dropped', check: 'internal' })
})
