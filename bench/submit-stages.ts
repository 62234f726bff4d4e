// `npm run bench:submit-stages`: where the `/submit` handler's main-thread time goes, per
// submission, over the same 200 e3 bodies as bench/validator-latency.ts (8 rollouts of 44 tokens
// with real GRAIL commits): UTF-8 decoding, JSON.parse, the strict zod schema, the sr25519
// envelope signature (the JS engine and the wasm build of schnorrkel), the structured clone a
// parsed request costs to cross a thread, the worker stage's checks with an accept-all rollout
// verifier, and the rollout hash (per-token updates vs one packed buffer). Medians of 5 passes.
//
//   npx tsx bench/submit-stages.ts [--submissions N]
import { cpus, loadavg } from 'node:os'
import { performance } from 'node:perf_hooks'
import { parseArgs } from './_args.js'
import { sha256 } from '@noble/hashes/sha2'
import { sr25519Verify as jsVerify } from '@polkadot/util-crypto'
import { envelopeDigest } from '../src/crypto/envelope.js'
import { createHotkey, hotkeyPublicKey, verifyHotkeySignatureSync } from '../src/crypto/sr25519.js'
import { e3 } from '../src/protocol/profiles.js'
import { be32, fromHex, toHex } from '../src/_utils/bytes.js'
import {
  newWorkerScratch,
  parseSubmission,
  runWorkerStage,
} from '../src/window/admission/runAdmission.js'
import type { AdmissionRequest } from '../src/window/admission/admissionTypes.js'
import { rolloutHash } from '../src/window/seal/hashDedup.js'
import { ENV_SIZE, RANDOMNESS, T_ROUND, buildBody, okVerifier, setup } from '../test/_admission.js'

const { values } = parseArgs({ options: { submissions: { type: 'string', default: '200' } } })
const N = Number(values.submissions)
const keys = await Promise.all(Array.from({ length: 25 }, (_, i) => createHotkey(`//bench/${i}`)))
const bodies = await Promise.all(
  Array.from({ length: N }, async (_, i) =>
    Buffer.from(
      JSON.stringify(
        await buildBody({
          hotkey: keys[i % keys.length]!,
          promptIdx: i % ENV_SIZE,
          salt: i,
          nonce: `b${i}`,
          prove: true,
        }),
      ),
    ),
  ),
)
const texts = bodies.map((b) => b.toString('utf8'))
const parsed = texts.map((t) => JSON.parse(t) as unknown)
const requests = parsed.map((p) => {
  const r = parseSubmission(p, { profile: e3, stage: 'handler' })
  if (!r.ok) throw new Error(r.reject.detail)
  // biome-ignore lint/suspicious/noExplicitAny: an e3 request (drand_round, nonce, envelope_signature)
  return r.request as AdmissionRequest & Record<string, any>
})
const envelopes = requests.map((r) => ({
  digest: envelopeDigest({
    minerHotkey: r.miner_hotkey,
    windowStart: r.window_start,
    promptIdx: r.prompt_idx,
    merkleRoot: r.merkle_root,
    checkpointHash: r.checkpoint_hash,
    drandRound: r.drand_round,
    randomness: RANDOMNESS,
    nonce: r.nonce,
  }),
  sig: fromHex(r.envelope_signature, 'sig'),
  pk: hotkeyPublicKey(r.miner_hotkey),
}))
const tokenLists = requests.flatMap((r) => r.rollouts.map((x) => x.commit.tokens as number[]))
const perTokenHash = (tokens: number[]): string => {
  const h = sha256.create()
  for (const t of tokens) h.update(be32(t))
  return toHex(h.digest())
}

/** Milliseconds per submission of `f` over all of them, median of 5 passes. */
async function time(f: (i: number) => unknown): Promise<number> {
  const passes: number[] = []
  for (let p = 0; p < 5; p++) {
    const t0 = performance.now()
    for (let i = 0; i < N; i++) await f(i)
    passes.push((performance.now() - t0) / N)
  }
  return Number(passes.sort((a, b) => a - b)[2]!.toFixed(3))
}

const load = loadavg().map((x) => Number(x.toFixed(2)))
const stages: Record<string, number> = {}
stages.utf8_decode = await time((i) => new TextDecoder('utf-8', { fatal: true }).decode(bodies[i]))
stages.json_parse = await time((i) => JSON.parse(texts[i]!))
stages.zod_schema = await time((i) => parseSubmission(parsed[i], { profile: e3, stage: 'handler' }))
stages.envelope_sr25519_js = await time((i) => {
  const e = envelopes[i]!
  return jsVerify(e.digest, e.sig, e.pk)
})
stages.envelope_sr25519_wasm = await time((i) => {
  const e = envelopes[i]!
  return verifyHotkeySignatureSync(e.digest, e.sig, e.pk)
})
stages.structured_clone_request = await time((i) => structuredClone(requests[i]))
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
console.log('| stage | ms per submission |\n|---|---|')
for (const [k, v] of Object.entries(stages)) console.log(`| ${k} | ${v} |`)
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
  }),
)
