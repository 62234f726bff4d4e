// `npm run bench:submit-stages`: where a `/submit` body's CPU time goes, per submission, over the
// same 200 e3 bodies as bench/validator-latency.ts (8 rollouts of 44 tokens with real GRAIL
// commits). In a parsing thread: UTF-8 decoding, JSON.parse, the strict zod schema, the envelope
// digest, the SS58 key decoding, the sr25519 envelope signature (the JS engine and the wasm build
// of schnorrkel; one verification per honest body), the whole of prepareSubmit, and the
// serialisation of its answer. Crossing back: the deserialisation on the server thread. On the
// server thread: the handler stage on a parsed body, the worker stage's checks with an accept-all
// rollout verifier, and the rollout hash (per-token updates vs one packed buffer). Medians of 5
// passes. Then the burst itself through a real SubmitPool (`pool_*`): every body posted at once,
// the wall time until the last answer and the CPU time of the server thread and of the others.
//
//   npx tsx bench/submit-stages.ts [--submissions N]
import { cpus, loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import { deserialize, serialize } from 'node:v8'
import { parseArgs } from './_args.js'
import { threadCpu } from './_threadCpu.js'
import { sha256 } from '@noble/hashes/sha2'
import { sr25519Verify as jsVerify } from '@polkadot/util-crypto'
import { envelopeDigest, verifyEnvelope } from '../src/crypto/envelope.js'
import {
  ensureCryptoReady,
  hotkeyPublicKey,
  verifyHotkeySignatureSync,
} from '../src/crypto/sr25519.js'
import { e3 } from '../src/protocol/profiles.js'
import { be32, fromHex, toHex } from '../src/_utils/bytes.js'
import {
  newWorkerScratch,
  parseSubmission,
  runWorkerStage,
} from '../src/window/admission/runAdmission.js'
import type { AdmissionRequest } from '../src/window/admission/admissionTypes.js'
import { rolloutHash } from '../src/window/seal/hashDedup.js'
import {
  type PreparedSubmit,
  fromRemote,
  parseSubmitBody,
  prepareSubmit,
  requestHead,
} from '../src/validator/http/_prepareSubmit.js'
import { SubmitPool } from '../src/validator/http/submitPool.js'
import { RANDOMNESS, T_ROUND, okVerifier, setup } from '../test/_admission.js'
import { submitBodies } from './_submitBodies.js'

const { values } = parseArgs({ options: { submissions: { type: 'string', default: '200' } } })
const N = Number(values.submissions)
const bodies = (await submitBodies({ n: N })).map((b) => Buffer.from(b))
const texts = bodies.map((b) => b.toString('utf8'))
const parsed = texts.map((t) => JSON.parse(t) as unknown)
const requests = parsed.map((p) => {
  const r = parseSubmission(p, { profile: e3, stage: 'handler' })
  if (!r.ok) throw new Error(r.reject.detail)
  // biome-ignore lint/suspicious/noExplicitAny: an e3 request (drand_round, nonce, envelope_signature)
  return r.request as AdmissionRequest & Record<string, any>
})
const fields = requests.map((r) => ({
  minerHotkey: r.miner_hotkey as string,
  windowStart: r.window_start,
  promptIdx: r.prompt_idx,
  merkleRoot: r.merkle_root,
  checkpointHash: r.checkpoint_hash,
  drandRound: r.drand_round as number,
  randomness: RANDOMNESS,
  nonce: r.nonce as string,
}))
const envelopes = requests.map((r, i) => ({
  digest: envelopeDigest(fields[i]!),
  sig: fromHex(r.envelope_signature, 'sig'),
  pk: hotkeyPublicKey(r.miner_hotkey),
}))
await ensureCryptoReady()
const prepared = await Promise.all(
  bodies.map((b) => prepareSubmit(b, { profile: e3, randomness: RANDOMNESS })),
)
if (prepared.some((p) => p.kind !== 'parsed' || p.envelope?.ok !== true))
  throw new Error('a bench body did not prepare')
const serialized = prepared.map((p) => serialize(p))
const tokenLists = requests.flatMap((r) => r.rollouts.map((x) => x.commit.tokens as number[]))
const perTokenHash = (tokens: number[]): string => {
  const h = sha256.create()
  for (const t of tokens) h.update(be32(t))
  return toHex(h.digest())
}

/**
 * The burst through a real pool of `defaultSubmitPoolSize()` threads: every body posted in one loop
 * turn, as when 200 complete at once; medians of 5 bursts of the wall time until the last answer,
 * and of the CPU time per submission of the server thread and of every other thread.
 */
async function poolBurst(): Promise<Record<string, number>> {
  const pool = new SubmitPool({ profile: e3 })
  await pool.ready()
  const wall: number[] = []
  const main: number[] = []
  const others: number[] = []
  try {
    for (let p = 0; p < 6; p++) {
      const c0 = threadCpu()
      const t0 = performance.now()
      await Promise.all(bodies.map((b) => pool.prepare(b, RANDOMNESS)))
      const ms = performance.now() - t0
      const c1 = threadCpu()
      if (p === 0) continue // warm-up
      let m = 0
      let o = 0
      for (const [t, v] of c1) {
        const d = v - (c0.get(t) ?? 0)
        if (t === String(process.pid)) m += d
        else o += d
      }
      wall.push(ms)
      main.push(m / N)
      others.push(o / N)
    }
  } finally {
    await pool.close()
  }
  const med = (xs: number[]): number => Number(xs.sort((a, b) => a - b)[2]!.toFixed(3))
  return {
    pool_threads: pool.size,
    pool_burst_wall_ms: med(wall),
    pool_main_cpu_per_submission: med(main),
    pool_other_threads_cpu_per_submission: med(others),
  }
}

/**
 * Milliseconds per submission of `f` over all of them, median of 5 passes: wall-clock time, and
 * this process's CPU time (`process.cpuUsage`), which unlike the wall clock does not grow with
 * the machine's load.
 */
async function time(f: (i: number) => unknown): Promise<{ wall: number; cpu: number }> {
  const wall: number[] = []
  const cpu: number[] = []
  for (let p = 0; p < 5; p++) {
    const c0 = process.cpuUsage()
    const t0 = performance.now()
    for (let i = 0; i < N; i++) await f(i)
    wall.push((performance.now() - t0) / N)
    const c = process.cpuUsage(c0)
    cpu.push((c.user + c.system) / 1000 / N)
  }
  const med = (xs: number[]): number => Number(xs.sort((a, b) => a - b)[2]!.toFixed(3))
  return { wall: med(wall), cpu: med(cpu) }
}

const load = loadavg().map((x) => Number(x.toFixed(2)))
const stages: Record<string, { wall: number; cpu: number }> = {}
stages.utf8_decode = await time((i) => new TextDecoder('utf-8', { fatal: true }).decode(bodies[i]))
stages.json_parse = await time((i) => JSON.parse(texts[i]!))
stages.zod_schema = await time((i) => parseSubmission(parsed[i], { profile: e3, stage: 'handler' }))
stages.envelope_digest = await time((i) => envelopeDigest(fields[i]!))
stages.ss58_decode = await time((i) => hotkeyPublicKey(requests[i]!.miner_hotkey))
stages.envelope_sr25519_js = await time((i) => {
  const e = envelopes[i]!
  return jsVerify(e.digest, e.sig, e.pk)
})
stages.envelope_sr25519_wasm = await time((i) => {
  const e = envelopes[i]!
  return verifyHotkeySignatureSync(e.digest, e.sig, e.pk)
})
stages.verify_envelope = await time((i) =>
  verifyEnvelope(fields[i]!, requests[i]!.envelope_signature),
)
stages.prepare_submit = await time((i) =>
  prepareSubmit(bodies[i]!, { profile: e3, randomness: RANDOMNESS }),
)
stages.structured_clone_request = await time((i) => structuredClone(requests[i]))
// What postMessage does on each side with a prepared answer (the HTML structured clone, as v8 writes it).
stages.answer_serialize = await time((i) => serialize(prepared[i]))
stages.answer_deserialize = await time((i) => deserialize(serialized[i]!))
// What the loop did with a thread's answer until the head came back too: the bytes decoded again.
stages.loop_reparse = await time((i) => parseSubmitBody(bodies[i]!, e3))
// What it does now: the thread's head (deserialised) as the request, the rollouts left encoded...
const heads = requests.map((r) => serialize(requestHead(r)))
const remote = (i: number) =>
  fromRemote(
    { kind: 'parsed_bytes', head: deserialize(heads[i]!), bytes: bodies[i]!, envelope: null },
    e3,
  ) as Extract<PreparedSubmit, { kind: 'parsed' }>
stages.loop_head = await time((i) => remote(i))
// ...until the worker stage first reads them.
stages.loop_head_then_rollouts = await time((i) => remote(i).request.rollouts)
let h = setup({ verifier: okVerifier, openedAtSeconds: T_ROUND - 1 })
stages.handler_stage = await time((i) => {
  if (i === 0) h = setup({ verifier: okVerifier, openedAtSeconds: T_ROUND - 1 })
  const p = prepared[i] as Extract<PreparedSubmit, { kind: 'parsed' }>
  return h.pipeline.submit(p.request, { arrivalSeconds: T_ROUND, envelope: p.envelope })
})
let s = setup({ verifier: okVerifier, openedAtSeconds: T_ROUND - 1 })
stages.worker_stage_checks = await time((i) => {
  // A fresh window per pass: every pass admits the same submissions into the same state.
  if (i === 0) s = setup({ verifier: okVerifier, openedAtSeconds: T_ROUND - 1 })
  return runWorkerStage({
    config: s.pipeline.config,
    request: requests[i]!,
    batcher: s.batcher,
    activeBatcher: s.batcher,
    arrivalSeconds: T_ROUND,
    nowSeconds: T_ROUND,
    scratch: newWorkerScratch(),
  })
})
const per = tokenLists.length / N
stages.rollout_hash_per_token_updates = await time((i) => {
  for (let j = 0; j < per; j++) perTokenHash(tokenLists[i * per + j]!)
})
stages.rollout_hash_packed = await time((i) => {
  for (let j = 0; j < per; j++) rolloutHash(tokenLists[i * per + j]!)
})
const burst = await poolBurst()
console.log('| stage | wall ms per submission | CPU ms per submission |\n|---|---|---|')
for (const [k, v] of Object.entries(stages)) console.log(`| ${k} | ${v.wall} | ${v.cpu} |`)
console.log(`\n${JSON.stringify(burst)}`)
console.log(
  JSON.stringify({
    bench: 'submit-stages',
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    load: { start: load, end: loadavg().map((x) => Number(x.toFixed(2))) },
    submissions: N,
    body_bytes: bodies[0]!.length,
    ms_per_submission: stages,
    pool_burst: burst,
  }),
)
