// E3 admission (docs/protocol.md §4.3): one test per reject reason, each built from a valid
// submission
// with one thing changed so that exactly that check fires (the first failure wins, so the check id
// proves no earlier one did); the real verifyRollout over a tiny fake model for the per-rollout
// reasons; the legacy E1 variant; and a hostile-input run of >10 000 generated and mutated bodies.
import fc from 'fast-check'
import { beforeAll, describe, expect, test } from 'vitest'
import { signCommit } from '../src/crypto/commitSignature.js'
import type { Hotkey } from '../src/crypto/sr25519.js'
import { defineProfile, e1, e3, type RejectReason } from '../src/protocol/profiles.js'
import {
  E1_HANDLER_CHECKS,
  E1_WORKER_CHECKS,
  E3_HANDLER_CHECKS,
  E3_WORKER_CHECKS,
} from '../src/window/admission/admissionChecks.js'
import type { AdmissionVerdict, RolloutVerifier } from '../src/window/admission/admissionTypes.js'
import { rolloutHash } from '../src/window/seal/hashDedup.js'
import { toSubmitHttpResponse } from '../src/validator/http/toSubmitHttpResponse.js'
import { WindowBatcher } from '../src/window/seal/windowBatcher.js'
import {
  HALF,
  RANDOMNESS,
  ROUND,
  T_ROUND,
  VOCAB,
  WINDOW,
  buildBody,
  fakeModel,
  hotkeys,
  okVerifier,
  realBatchVerifier,
  realVerifier,
  schemaOnlyVerifier,
  scriptedVerifier,
  setup,
  signBody,
  type RolloutSpec,
} from './_admission.js'

let alice: Hotkey
let bob: Hotkey
let keys: Hotkey[]
beforeAll(async () => {
  keys = await hotkeys()
  alice = keys[0]!
  bob = keys[1]!
})

type Expect = {
  reason: RejectReason
  stage: 'handler' | 'worker'
  check: string
  httpStatus?: number
}
function expectVerdict(v: AdmissionVerdict | null, e: Expect): void {
  expect(v, 'a verdict').not.toBeNull()
  expect({
    reason: v!.reason,
    stage: v!.stage,
    check: v!.check,
    httpStatus: toSubmitHttpResponse(v!).status,
  }).toEqual({ httpStatus: 200, ...e })
  expect(v!.accepted).toBe(e.reason === 'accepted' || e.reason === 'submitted')
}

const at = { arrivalSeconds: T_ROUND }
const now = { nowSeconds: T_ROUND + 0.5 }

/** Submits through the handler, expects `submitted`, then runs the worker on it. */
async function throughWorker(
  s: ReturnType<typeof setup>,
  body: unknown,
): Promise<AdmissionVerdict> {
  const h = await s.pipeline.submit(body, at)
  expectVerdict(h, { reason: 'submitted', stage: 'handler', check: 'enqueue' })
  return (await s.pipeline.processNext(now))!
}

/** Fills prompts 40..47 with valid submissions at `round` (sets the seal trigger). */
async function fillDistinct(s: ReturnType<typeof setup>, round: number, count = 8): Promise<void> {
  for (let i = 0; i < count; i++) {
    const body = await buildBody({
      hotkey: keys[i % keys.length]!,
      promptIdx: 40 + i,
      drandRound: round,
      salt: 1000 + i,
    })
    expectVerdict(await s.pipeline.admitDirect(body, now), {
      reason: 'accepted',
      stage: 'worker',
      check: 'accept',
    })
  }
}

describe('check order', () => {
  test('E3 handler and worker checks are in the docs/protocol.md §4.3 order', () => {
    expect(E3_HANDLER_CHECKS.map((c) => c.id)).toEqual([
      'envelope',
      'rate_limit',
      'window_state',
      'active_window',
      'window_match',
      'sealed',
      'checkpoint',
      'drand_round',
      'seal_trigger',
      'prompt_idx',
      'cooldown',
      'prompt_full',
    ])
    expect(E3_WORKER_CHECKS.map((c) => c.id)).toEqual([
      'batcher_active',
      'sealed',
      'seal_trigger',
      'window_match',
      'checkpoint',
      'prompt_idx',
      'cooldown',
      'prompt_full',
      'tokens_match',
      'hash_duplicate',
      'reward',
      'zone',
      'rollouts',
    ])
    expect(E1_HANDLER_CHECKS.map((c) => c.id)).toEqual([
      'window_state',
      'active_window',
      'window_match',
    ])
    expect(E1_WORKER_CHECKS.map((c) => c.id)).toEqual([
      'batcher_active',
      'window_match',
      'checkpoint',
      'prompt_idx',
      'signed_round',
      'cooldown',
      'superseded',
      'tokens_match',
      'reward',
      'zone',
      'rollouts',
    ])
  })
})

describe('E3 handler stage: one reject reason each', () => {
  test('a valid submission is submitted, queued, then accepted by the worker (real verifyRollout)', async () => {
    const s = setup({ verifier: realVerifier() })
    const body = await buildBody({ hotkey: alice, promptIdx: 3, prove: true })
    const v = await throughWorker(s, body)
    expectVerdict(v, { reason: 'accepted', stage: 'worker', check: 'accept' })
    expect(s.batcher.validCount).toBe(1)
    expect(s.pipeline.verdicts(alice.address).verdicts.map((x) => [x.reason, x.accepted])).toEqual([
      ['accepted', true],
    ])
    expect(toSubmitHttpResponse(await s.pipeline.submit(JSON.stringify(body), at))).toEqual({
      status: 200,
      body: { accepted: true, reason: 'submitted' },
      headers: {},
    })
  })

  test('bad_schema: an unknown field is a 422 before anything else', async () => {
    const s = setup()
    const body = { ...(await buildBody({ hotkey: alice, promptIdx: 3 })), extra: 1 }
    const v = await s.pipeline.submit(body, at)
    expectVerdict(v, { reason: 'bad_schema', stage: 'handler', check: 'parse', httpStatus: 422 })
    expect(toSubmitHttpResponse(v).status).toBe(422)
    expect(s.pipeline.ledger.used(alice.address)).toBe(0)
    // A wrong rollout count is a 422 too: wrong_rollout_count is never emitted (docs/protocol.md
    // §3.1).
    const seven = await buildBody({ hotkey: alice, promptIdx: 3, rollouts: HALF.slice(0, 7) })
    expectVerdict(await s.pipeline.submit(seven, at), {
      reason: 'bad_schema',
      stage: 'handler',
      check: 'parse',
      httpStatus: 422,
    })
  })

  test('bad_envelope_signature: consumes no quota, closes the connection, at most 2 verdicts per hotkey per window', async () => {
    const s = setup()
    // /verdicts keeps rings only for authenticated hotkeys (test/verdicts-memory.test.ts): alice
    // authenticates once, and her ring then takes bad-envelope verdicts up to the cap.
    await s.pipeline.submit(await buildBody({ hotkey: alice, promptIdx: 9 }), at)
    await s.pipeline.processNext({ nowSeconds: T_ROUND })
    const body = { ...(await buildBody({ hotkey: alice, promptIdx: 3 })), nonce: 'tampered' }
    for (let i = 0; i < 4; i++) {
      const v = await s.pipeline.submit(body, at)
      expectVerdict(v, { reason: 'bad_envelope_signature', stage: 'handler', check: 'envelope' })
      expect(toSubmitHttpResponse(v).headers).toEqual({ Connection: 'close' })
    }
    expect(s.pipeline.ledger.used(alice.address)).toBe(1)
    expect(
      s.pipeline
        .verdicts(alice.address)
        .verdicts.filter((x) => x.reason === 'bad_envelope_signature'),
    ).toHaveLength(e3.window.maxBadEnvelopeVerdicts)
    // A new window resets the cap.
    s.pipeline.setActiveBatcher(new WindowBatcher({ windowStart: WINDOW, randomness: RANDOMNESS }))
    await s.pipeline.submit(body, at)
    expect(
      s.pipeline
        .verdicts(alice.address)
        .verdicts.filter((x) => x.reason === 'bad_envelope_signature'),
    ).toHaveLength(e3.window.maxBadEnvelopeVerdicts + 1)
  })

  test('rate_limited: the 9th request of a hotkey in a window', async () => {
    const s = setup()
    const body = await buildBody({ hotkey: alice, promptIdx: 3 })
    for (let i = 0; i < e3.window.maxSubmissionsPerHotkey; i++)
      expectVerdict(await s.pipeline.submit(body, at), {
        reason: 'submitted',
        stage: 'handler',
        check: 'enqueue',
      })
    expectVerdict(await s.pipeline.submit(body, at), {
      reason: 'rate_limited',
      stage: 'handler',
      check: 'rate_limit',
    })
    expect(s.pipeline.ledger.used(alice.address)).toBe(8)
    expect(s.pipeline.takeLateDrops()).toEqual({ [alice.address]: { rate_limited: 1 } })
  })

  test('window_not_active: state is not open (200, quota consumed)', async () => {
    const s = setup()
    s.pipeline.setPhase('training')
    const v = await s.pipeline.submit(await buildBody({ hotkey: alice, promptIdx: 3 }), at)
    expectVerdict(v, { reason: 'window_not_active', stage: 'handler', check: 'window_state' })
    expect(s.pipeline.ledger.used(alice.address)).toBe(1)
  })

  test('no active batcher: HTTP 503 no_active_window', async () => {
    const s = setup()
    s.pipeline.setActiveBatcher(null)
    // With no batcher the envelope binds the empty randomness.
    const v = await s.pipeline.submit(
      await buildBody({ hotkey: alice, promptIdx: 3, randomness: '' }),
      at,
    )
    expectVerdict(v, {
      reason: 'window_not_active',
      stage: 'handler',
      check: 'active_window',
      httpStatus: 503,
    })
    expect(toSubmitHttpResponse(v)).toEqual({
      status: 503,
      body: { detail: 'no_active_window' },
      headers: {},
    })
  })

  test('window_mismatch: HTTP 409 at the handler', async () => {
    const s = setup()
    const v = await s.pipeline.submit(
      await buildBody({ hotkey: alice, promptIdx: 3, windowStart: WINDOW + 1 }),
      at,
    )
    expectVerdict(v, {
      reason: 'window_mismatch',
      stage: 'handler',
      check: 'window_match',
      httpStatus: 409,
    })
    expect(toSubmitHttpResponse(v)).toEqual({
      status: 409,
      body: { detail: 'window_mismatch' },
      headers: {},
    })
  })

  test('batch_filled: the window is sealed', async () => {
    const s = setup()
    s.batcher.seal(T_ROUND, { force: true })
    expectVerdict(await s.pipeline.submit(await buildBody({ hotkey: alice, promptIdx: 3 }), at), {
      reason: 'batch_filled',
      stage: 'handler',
      check: 'sealed',
    })
  })

  test('wrong_checkpoint: the gate is on when a checkpoint exists, off when it is ""', async () => {
    const s = setup({ checkpointHash: 'a'.repeat(40) })
    expectVerdict(await s.pipeline.submit(await buildBody({ hotkey: alice, promptIdx: 3 }), at), {
      reason: 'wrong_checkpoint',
      stage: 'handler',
      check: 'checkpoint',
    })
    expectVerdict(
      await s.pipeline.submit(
        await buildBody({ hotkey: alice, promptIdx: 3, checkpointHash: 'a'.repeat(40) }),
        at,
      ),
      { reason: 'submitted', stage: 'handler', check: 'enqueue' },
    )
    const open = setup()
    expectVerdict(
      await open.pipeline.submit(
        await buildBody({ hotkey: alice, promptIdx: 3, checkpointHash: 'anything' }),
        at,
      ),
      { reason: 'submitted', stage: 'handler', check: 'enqueue' },
    )
  })

  test('future_round and stale_round: the drand gate on the arrival time', async () => {
    const s = setup()
    expectVerdict(
      await s.pipeline.submit(
        await buildBody({ hotkey: alice, promptIdx: 3, drandRound: ROUND + 1 }),
        at,
      ),
      { reason: 'future_round', stage: 'handler', check: 'drand_round' },
    )
    expectVerdict(
      await s.pipeline.submit(
        await buildBody({ hotkey: alice, promptIdx: 3, drandRound: ROUND - 1 }),
        at,
      ),
      { reason: 'stale_round', stage: 'handler', check: 'drand_round' },
    )
    expectVerdict(
      await s.pipeline.submit(await buildBody({ hotkey: alice, promptIdx: 3, drandRound: 0 }), at),
      { reason: 'stale_round', stage: 'handler', check: 'drand_round' },
    )
    // The same request arriving one round later is in time with tolerance 1.
    const tolerant = setup({
      profile: defineProfile(e3, { id: 'e3-tol1', window: { drandBackwardTolerance: 1 } }),
    })
    expectVerdict(
      await tolerant.pipeline.submit(
        await buildBody({ hotkey: alice, promptIdx: 3, drandRound: ROUND - 1 }),
        at,
      ),
      { reason: 'submitted', stage: 'handler', check: 'enqueue' },
    )
  })

  test('batch_filled: a round after the seal trigger round', async () => {
    const s = setup({ verifier: okVerifier })
    await fillDistinct(s, ROUND)
    expect(s.batcher.sealTriggerRound).toBe(ROUND)
    const later = { arrivalSeconds: T_ROUND + 3 }
    expectVerdict(
      await s.pipeline.submit(
        await buildBody({ hotkey: alice, promptIdx: 3, drandRound: ROUND + 1 }),
        later,
      ),
      { reason: 'batch_filled', stage: 'handler', check: 'seal_trigger' },
    )
    expectVerdict(
      await s.pipeline.submit(
        await buildBody({ hotkey: alice, promptIdx: 3, drandRound: ROUND }),
        at,
      ),
      { reason: 'submitted', stage: 'handler', check: 'enqueue' },
    )
  })

  test('bad_prompt_idx: prompt_idx ≥ environment size', async () => {
    const s = setup()
    expectVerdict(await s.pipeline.submit(await buildBody({ hotkey: alice, promptIdx: 64 }), at), {
      reason: 'bad_prompt_idx',
      stage: 'handler',
      check: 'prompt_idx',
    })
  })

  test('prompt_in_cooldown', async () => {
    const s = setup()
    s.cooldown.record(3, WINDOW - 1)
    expectVerdict(await s.pipeline.submit(await buildBody({ hotkey: alice, promptIdx: 3 }), at), {
      reason: 'prompt_in_cooldown',
      stage: 'handler',
      check: 'cooldown',
    })
  })

  test('prompt_full: 10 valid submissions already on the prompt', async () => {
    const s = setup()
    for (let i = 0; i < e3.window.maxSubmissionsPerPrompt; i++) {
      expectVerdict(
        await s.pipeline.admitDirect(
          await buildBody({ hotkey: keys[i % 6]!, promptIdx: 3, salt: i }),
          now,
        ),
        { reason: 'accepted', stage: 'worker', check: 'accept' },
      )
    }
    expectVerdict(
      await s.pipeline.submit(await buildBody({ hotkey: alice, promptIdx: 3, salt: 99 }), at),
      { reason: 'prompt_full', stage: 'handler', check: 'prompt_full' },
    )
  })
})

describe('E3 worker stage: one reject reason each', () => {
  test('worker_dropped: the window rolled over while queued', async () => {
    const s = setup()
    expectVerdict(await s.pipeline.submit(await buildBody({ hotkey: alice, promptIdx: 3 }), at), {
      reason: 'submitted',
      stage: 'handler',
      check: 'enqueue',
    })
    s.pipeline.setActiveBatcher(
      new WindowBatcher({ windowStart: WINDOW + 1, randomness: RANDOMNESS }),
    )
    expectVerdict(await s.pipeline.processNext(now), {
      reason: 'worker_dropped',
      stage: 'worker',
      check: 'batcher_active',
    })
    expect(s.pipeline.takeLateDrops()).toEqual({ [alice.address]: { worker_dropped: 1 } })
  })

  test('worker_dropped: the window rolled over while the handler ran (queued for the window it was judged in)', async () => {
    for (const next of [
      new WindowBatcher({ windowStart: WINDOW + 1, randomness: RANDOMNESS }),
      null,
    ]) {
      const s = setup()
      // The last handler check (prompt_full) reads the batcher; the window rolls over right after it,
      // before the handler enqueues.
      class RollingOver extends WindowBatcher {
        override promptSubmissionCount(promptIdx: number): number {
          const n = super.promptSubmissionCount(promptIdx)
          s.pipeline.setActiveBatcher(next)
          return n
        }
      }
      s.pipeline.setActiveBatcher(new RollingOver({ windowStart: WINDOW, randomness: RANDOMNESS }))
      expectVerdict(await s.pipeline.submit(await buildBody({ hotkey: alice, promptIdx: 3 }), at), {
        reason: 'submitted',
        stage: 'handler',
        check: 'enqueue',
      })
      expectVerdict(await s.pipeline.processNext(now), {
        reason: 'worker_dropped',
        stage: 'worker',
        check: 'batcher_active',
      })
      expect(s.pipeline.verdicts(alice.address).verdicts.map((v) => v.reason)).toEqual([
        'worker_dropped',
      ])
      if (next) expect(next.validCount).toBe(0)
    }
  })

  test('batch_filled: sealed while queued', async () => {
    const s = setup()
    await s.pipeline.submit(await buildBody({ hotkey: alice, promptIdx: 3 }), at)
    s.batcher.seal(T_ROUND, { force: true, queueDepth: s.pipeline.queueDepth })
    expectVerdict(await s.pipeline.processNext(now), {
      reason: 'batch_filled',
      stage: 'worker',
      check: 'sealed',
    })
  })

  test('batch_filled: queued in a round that ends up after the trigger round', async () => {
    const s = setup({ verifier: okVerifier })
    expectVerdict(
      await s.pipeline.submit(
        await buildBody({ hotkey: alice, promptIdx: 3, drandRound: ROUND + 1 }),
        { arrivalSeconds: T_ROUND + 3 },
      ),
      { reason: 'submitted', stage: 'handler', check: 'enqueue' },
    )
    await fillDistinct(s, ROUND)
    expectVerdict(await s.pipeline.processNext(now), {
      reason: 'batch_filled',
      stage: 'worker',
      check: 'seal_trigger',
    })
  })

  test('window_mismatch at the worker is a verdict, not a 409', async () => {
    const s = setup()
    expectVerdict(
      await s.pipeline.admitDirect(
        await buildBody({ hotkey: alice, promptIdx: 3, windowStart: WINDOW + 1 }),
        now,
      ),
      { reason: 'window_mismatch', stage: 'worker', check: 'window_match' },
    )
  })

  test('wrong_checkpoint, bad_prompt_idx, prompt_in_cooldown at the worker', async () => {
    const s = setup({ checkpointHash: 'rev' })
    expectVerdict(
      await s.pipeline.admitDirect(await buildBody({ hotkey: alice, promptIdx: 3 }), now),
      { reason: 'wrong_checkpoint', stage: 'worker', check: 'checkpoint' },
    )
    expectVerdict(
      await s.pipeline.admitDirect(
        await buildBody({ hotkey: alice, promptIdx: 64, checkpointHash: 'rev' }),
        now,
      ),
      { reason: 'bad_prompt_idx', stage: 'worker', check: 'prompt_idx' },
    )
    s.cooldown.record(3, WINDOW)
    expectVerdict(
      await s.pipeline.admitDirect(
        await buildBody({ hotkey: alice, promptIdx: 3, checkpointHash: 'rev' }),
        now,
      ),
      { reason: 'prompt_in_cooldown', stage: 'worker', check: 'cooldown' },
    )
  })

  test('prompt_full at the worker: 11 queued on one prompt, the 11th is full', async () => {
    const s = setup()
    for (let i = 0; i < 11; i++) {
      expectVerdict(
        await s.pipeline.submit(
          await buildBody({ hotkey: i < 6 ? alice : bob, promptIdx: 3, salt: i }),
          at,
        ),
        { reason: 'submitted', stage: 'handler', check: 'enqueue' },
      )
    }
    const verdicts = await s.pipeline.drain(now)
    expect(verdicts.slice(0, 10).every((v) => v.reason === 'accepted')).toBe(true)
    expectVerdict(verdicts[10]!, { reason: 'prompt_full', stage: 'worker', check: 'prompt_full' })
  })

  test('hash_duplicate: a rollout repeated inside the group', async () => {
    const s = setup()
    const body = await buildBody({ hotkey: alice, promptIdx: 3 })
    body.rollouts[5] = structuredClone(body.rollouts[1])
    expectVerdict(await throughWorker(s, body), {
      reason: 'hash_duplicate',
      stage: 'worker',
      check: 'hash_duplicate',
    })
  })

  test('hash_duplicate: a rollout of an earlier winning prompt (HashDedup)', async () => {
    const s = setup()
    const body = await buildBody({ hotkey: alice, promptIdx: 3 })
    s.hashDedup.add(rolloutHash(body.rollouts[6].commit.tokens), WINDOW - 1)
    expectVerdict(await throughWorker(s, body), {
      reason: 'hash_duplicate',
      stage: 'worker',
      check: 'hash_duplicate',
    })
  })

  test('hash is over commit.tokens; an unhashable commit.tokens is bad_schema at that step', async () => {
    const s = setup()
    const body = await buildBody({ hotkey: alice, promptIdx: 3 })
    body.rollouts[2].commit.tokens = 'nope'
    expectVerdict(await throughWorker(s, body), {
      reason: 'bad_schema',
      stage: 'worker',
      check: 'hash_duplicate',
    })
  })

  test('reward_mismatch: recomputed on the decoded OUTER tokens after prompt_length', async () => {
    const s = setup()
    const specs: RolloutSpec[] = HALF.map((r, i) => (i === 1 ? { ...r, reward: 1 } : r))
    expectVerdict(
      await throughWorker(s, await buildBody({ hotkey: alice, promptIdx: 3, rollouts: specs })),
      { reason: 'reward_mismatch', stage: 'worker', check: 'reward' },
    )
    // Edited tokens decide the reward (the builder shares one array between the outer tokens and
    // commit.tokens, so both change); a split between the two is tokens_mismatch, decided before
    // this step (test/tokens-mismatch.test.ts).
    const split = await buildBody({ hotkey: alice, promptIdx: 4 })
    const outer = split.rollouts[1].tokens as number[]
    outer[outer.length - 2] = 1 // YES in the (shared) tokens: claimed 0 now mismatches
    expectVerdict(await throughWorker(s, split), {
      reason: 'reward_mismatch',
      stage: 'worker',
      check: 'reward',
    })
  })

  test('out_of_zone: σ of the claimed rewards (bootstrap threshold per window)', async () => {
    const s = setup()
    const allRight = HALF.map(() => ({ correct: true }))
    expectVerdict(
      await throughWorker(s, await buildBody({ hotkey: alice, promptIdx: 3, rollouts: allRight })),
      { reason: 'out_of_zone', stage: 'worker', check: 'zone' },
    )
    const oneOfEight: RolloutSpec[] = HALF.map((_, i) => ({ correct: i === 0 })) // σ ≈ 0.331
    expectVerdict(
      await throughWorker(
        s,
        await buildBody({ hotkey: alice, promptIdx: 3, rollouts: oneOfEight }),
      ),
      { reason: 'out_of_zone', stage: 'worker', check: 'zone' },
    )
    const boot = new WindowBatcher({ windowStart: 50, randomness: RANDOMNESS })
    expect(boot.bootstrap).toBe(true)
    expectVerdict(
      await s.pipeline.admitDirect(
        await buildBody({ hotkey: alice, promptIdx: 3, rollouts: oneOfEight, windowStart: 50 }),
        { batcher: boot },
      ),
      { reason: 'worker_dropped', stage: 'worker', check: 'batcher_active' },
    )
    s.pipeline.setActiveBatcher(boot)
    expectVerdict(
      await s.pipeline.admitDirect(
        await buildBody({ hotkey: alice, promptIdx: 3, rollouts: oneOfEight, windowStart: 50 }),
        now,
      ),
      { reason: 'accepted', stage: 'worker', check: 'accept' },
    )
  })

  test('bad_schema at the worker parse step (no 422 there)', async () => {
    const s = setup()
    const v = await s.pipeline.admitDirect('{"miner_hotkey": 1}')
    expectVerdict(v, { reason: 'bad_schema', stage: 'worker', check: 'parse' })
  })
})

describe('per-rollout reasons with the real verifyRollout and a fake model', () => {
  const cases: [
    RejectReason,
    Parameters<typeof buildBody>[0]['proveWith'] | null,
    ((b: Record<string, any>) => void) | null,
  ][] = [
    ['bad_schema', null, (b) => delete b.rollouts[2].commit.commitments],
    ['bad_tokens', (i) => (i === 0 ? { token: VOCAB + 10 } : {}), null],
    ['prompt_mismatch', (i) => (i === 0 ? { prompt: [9, 9, 9, 9] } : {}), null],
    ['bad_signature', null, (b) => (b.rollouts[0].commit.signature = '00'.repeat(64))],
    ['wrong_randomness', (i) => (i === 3 ? { randomness: 'cd'.repeat(32) } : {}), null],
    ['logprob_mismatch', (i) => (i === 0 ? { logprob: -3 } : {}), null],
  ]
  test.each(cases)('%s', async (reason, proveWith, mutate) => {
    const s = setup({ verifier: realVerifier() })
    const body = await buildBody({
      hotkey: alice,
      promptIdx: 3,
      prove: true,
      ...(proveWith ? { proveWith } : {}),
    })
    mutate?.(body)
    expectVerdict(await throughWorker(s, body), { reason, stage: 'worker', check: 'rollouts' })
    expect(s.batcher.rejectSummary()).toEqual({ [reason]: 1 })
    expect(s.batcher.validCount).toBe(0)
  })

  test.each(cases)(
    '%s, with the batch verifier (one call per submission)',
    async (reason, proveWith, mutate) => {
      const calls: number[] = []
      const s = setup({
        verifier: realVerifier(),
        batchVerifier: realBatchVerifier(fakeModel(), calls),
      })
      const body = await buildBody({
        hotkey: alice,
        promptIdx: 3,
        prove: true,
        ...(proveWith ? { proveWith } : {}),
      })
      mutate?.(body)
      expectVerdict(await throughWorker(s, body), { reason, stage: 'worker', check: 'rollouts' })
      expect(s.batcher.rejectSummary()).toEqual({ [reason]: 1 })
      // bad_schema fails the whole body's parse for one rollout only; the rest still batch.
      expect(calls.length).toBeLessThanOrEqual(1)
    },
  )

  test('batch verifier: one truncated rollout tolerated, all rollouts in one call', async () => {
    const calls: number[] = []
    const s = setup({
      verifier: realVerifier(),
      batchVerifier: realBatchVerifier(fakeModel(), calls),
    })
    const one: RolloutSpec[] = HALF.map((r, i) => (i === 2 ? { ...r, eos: false } : r))
    expectVerdict(
      await throughWorker(
        s,
        await buildBody({ hotkey: alice, promptIdx: 3, prove: true, rollouts: one }),
      ),
      { reason: 'accepted', stage: 'worker', check: 'accept' },
    )
    expect(calls).toEqual([HALF.length])
  })

  test('grail_fail: sketches far from the model sketches, signed by the miner', async () => {
    const s = setup({ verifier: realVerifier() })
    const body = await buildBody({ hotkey: alice, promptIdx: 3, prove: true })
    const commit = body.rollouts[1].commit
    // Sketches are small sums, so near-miss hidden states still pass the 5000 tolerance (docs/protocol.md
    // §13.6); a forged commitment far from the model's sketch does not.
    commit.commitments = commit.commitments.map((c: { sketch: number }) => ({
      sketch: (c.sketch + 1_000_000_000) % 2_147_483_647,
    }))
    commit.signature = signCommit(alice, commit)
    expectVerdict(await throughWorker(s, body), {
      reason: 'grail_fail',
      stage: 'worker',
      check: 'rollouts',
    })
    // Anti-tuning: the archive diagnostics never reveal the sketch diff of a grail_fail.
    // (Rollout 0 passed first, so its logprob and distribution diagnostics are kept, as the reference does.)
    expect(s.batcher.rejectedSubmissions()).toEqual([
      {
        hotkey: alice.address,
        promptIdx: 3,
        reason: 'grail_fail',
        sketchDiffMax: null,
        lpDevMax: 0,
        distQ10Min: expect.closeTo(0.9, 9),
      },
    ])
  })

  test('distribution_suspicious (model gives the chosen tokens low probability)', async () => {
    const s = setup({ verifier: realVerifier(fakeModel({ temperedProb: 0.01 })) })
    expectVerdict(
      await throughWorker(s, await buildBody({ hotkey: alice, promptIdx: 3, prove: true })),
      { reason: 'distribution_suspicious', stage: 'worker', check: 'rollouts' },
    )
  })

  test('bad_termination: one failing rollout per group is tolerated, the second is not', async () => {
    const s = setup({ verifier: realVerifier() })
    const one: RolloutSpec[] = HALF.map((r, i) => (i === 2 ? { ...r, eos: false } : r))
    expectVerdict(
      await throughWorker(
        s,
        await buildBody({ hotkey: alice, promptIdx: 3, prove: true, rollouts: one }),
      ),
      { reason: 'accepted', stage: 'worker', check: 'accept' },
    )
    const two: RolloutSpec[] = HALF.map((r, i) => (i === 2 || i === 5 ? { ...r, eos: false } : r))
    expectVerdict(
      await throughWorker(
        s,
        await buildBody({ hotkey: alice, promptIdx: 4, prove: true, rollouts: two }),
      ),
      { reason: 'bad_termination', stage: 'worker', check: 'rollouts' },
    )
    // E1 tolerates none.
    expect(e1.checks.maxTruncatedPerGroup).toBe(0)
  })

  test('cheap checks run before any model call', async () => {
    let calls = 0
    const model = fakeModel()
    const counting = {
      ...model,
      evaluate: (
        t: readonly number[],
        o: { hiddenRows: readonly number[]; temperature: number },
      ) => {
        calls++
        return model.evaluate(t, o)
      },
    }
    const s = setup({ verifier: realVerifier(counting) })
    const dup = await buildBody({ hotkey: alice, promptIdx: 3, prove: true })
    dup.rollouts[1] = structuredClone(dup.rollouts[0])
    expect((await throughWorker(s, dup)).reason).toBe('hash_duplicate')
    expect(
      (
        await throughWorker(
          s,
          await buildBody({
            hotkey: alice,
            promptIdx: 3,
            prove: true,
            rollouts: HALF.map(() => ({ correct: false })),
          }),
        )
      ).reason,
    ).toBe('out_of_zone')
    expect(calls).toBe(0)
    expect(
      (await throughWorker(s, await buildBody({ hotkey: alice, promptIdx: 3, prove: true })))
        .reason,
    ).toBe('accepted')
    expect(calls).toBe(8)
    expect(s.batcher.validSubmissions()[0]!.sketchDiffMax).toBe(0)
    expect(s.batcher.validSubmissions()[0]!.lpDevMax).toBe(0)
  })

  test('an injected verifier: its per-rollout reason is reported as is', async () => {
    const reasons: RejectReason[] = [
      'bad_schema',
      'bad_tokens',
      'prompt_mismatch',
      'bad_signature',
      'wrong_randomness',
      'grail_fail',
      'logprob_mismatch',
      'distribution_suspicious',
    ]
    const body = await buildBody({ hotkey: alice, promptIdx: 3 })
    for (const reason of reasons) {
      const s = setup({ verifier: scriptedVerifier((i) => (i === 4 ? reason : null)) })
      expectVerdict(await s.pipeline.admitDirect(body, now), {
        reason,
        stage: 'worker',
        check: 'rollouts',
      })
    }
  })

  test('a window sealed or swapped while the model runs: batch_filled / worker_dropped, nothing recorded', async () => {
    let during: () => void = () => undefined
    const verifier: RolloutVerifier = async () => {
      await Promise.resolve()
      during()
      return { ok: true, reason: null }
    }
    const s = setup({ verifier })
    during = () => s.batcher.isSealed || s.batcher.seal(T_ROUND, { force: true })
    expectVerdict(
      await s.pipeline.admitDirect(await buildBody({ hotkey: alice, promptIdx: 3 }), now),
      { reason: 'batch_filled', stage: 'worker', check: 'accept' },
    )
    const t = setup({ verifier })
    during = () => t.pipeline.setActiveBatcher(null)
    expectVerdict(
      await t.pipeline.admitDirect(await buildBody({ hotkey: alice, promptIdx: 3 }), now),
      { reason: 'worker_dropped', stage: 'worker', check: 'accept' },
    )
    expect(s.batcher.validCount + t.batcher.validCount).toBe(0)
  })

  test('a throwing verifier gives worker_dropped, never a throw', async () => {
    const boom: RolloutVerifier = () => {
      throw new Error('GPU fell over')
    }
    const s = setup({ verifier: boom })
    const v = await s.pipeline.admitDirect(await buildBody({ hotkey: alice, promptIdx: 3 }), now)
    expectVerdict(v, { reason: 'worker_dropped', stage: 'worker', check: 'rollouts' })
    expect(v.detail).toMatch(/GPU fell over/)
  })
})

describe('legacy E1 pipeline (docs/protocol.md §4.1)', () => {
  function e1Body(b: Record<string, any>, signedRound: number): Record<string, any> {
    const { drand_round: _d, nonce: _n, envelope_signature: _e, ...rest } = b
    return { ...rest, signed_round: signedRound }
  }
  const e1Setup = () => setup({ profile: e1, verifier: okVerifier })

  test('handler: provisional accepted; window_not_active; 409', async () => {
    const s = e1Setup()
    const body = e1Body(await buildBody({ hotkey: alice, promptIdx: 3 }), ROUND)
    expectVerdict(await s.pipeline.submit(body, at), {
      reason: 'accepted',
      stage: 'handler',
      check: 'enqueue',
    })
    expectVerdict(await s.pipeline.submit({ ...body, drand_round: 1 }, at), {
      reason: 'bad_schema',
      stage: 'handler',
      check: 'parse',
      httpStatus: 422,
    })
    expectVerdict(await s.pipeline.submit({ ...body, window_start: WINDOW + 1 }, at), {
      reason: 'window_mismatch',
      stage: 'handler',
      check: 'window_match',
      httpStatus: 409,
    })
    s.pipeline.setPhase('publishing')
    expectVerdict(await s.pipeline.submit(body, at), {
      reason: 'window_not_active',
      stage: 'handler',
      check: 'window_state',
    })
  })

  test('worker: stale_round, superseded, accepted; the window closes at the B-th distinct prompt', async () => {
    const s = e1Setup()
    const mk = async (p: number, round: number, salt = p) =>
      e1Body(await buildBody({ hotkey: alice, promptIdx: p, salt }), round)
    expectVerdict(await s.pipeline.admitDirect(await mk(3, ROUND - 11), now), {
      reason: 'stale_round',
      stage: 'worker',
      check: 'signed_round',
    })
    expectVerdict(await s.pipeline.admitDirect(await mk(3, ROUND + 1), now), {
      reason: 'stale_round',
      stage: 'worker',
      check: 'signed_round',
    })
    expectVerdict(await s.pipeline.admitDirect(await mk(3, ROUND - 2), now), {
      reason: 'accepted',
      stage: 'worker',
      check: 'accept',
    })
    expectVerdict(await s.pipeline.admitDirect(await mk(3, ROUND - 2, 77), now), {
      reason: 'superseded',
      stage: 'worker',
      check: 'superseded',
    })
    expectVerdict(await s.pipeline.admitDirect(await mk(3, ROUND - 3, 78), now), {
      reason: 'accepted',
      stage: 'worker',
      check: 'accept',
    })
    for (let p = 10; p < 16; p++) await s.pipeline.admitDirect(await mk(p, ROUND), now)
    expect(s.batcher.isClosed).toBe(false)
    await s.pipeline.admitDirect(await mk(16, ROUND), now)
    expect(s.batcher.isClosed).toBe(true)
    expect(s.batcher.isSealDue(T_ROUND + 0.5)).toBe(true)
    const sealed = s.batcher.seal(T_ROUND + 0.5)
    expect(sealed.batch.map((x) => x.promptIdx)).toHaveLength(8)
    expect([...sealed.rewardsByHotkey.values()].reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12)
  })
})

// -------------------------------------------------------------------------------------------------
// Hostile input
// -------------------------------------------------------------------------------------------------

const HUGE = Array.from({ length: 70_000 }, () => 1)
const weird: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    Number.NaN,
    Infinity,
    -Infinity,
    -1,
    1.5,
    2 ** 53,
    -0,
    1e308,
    null,
    true,
    false,
    '',
    '0',
    'x'.repeat(300),
    [],
    {},
    HUGE,
    [Number.NaN],
    { tokens: HUGE },
    10n as unknown,
  ),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 80 }),
  fc.array(fc.integer({ min: -5, max: 5000 }), { maxLength: 50 }),
  fc.jsonValue({ maxDepth: 2 }),
)

type Mutation = (b: Record<string, any>) => void
const TOP = [
  'miner_hotkey',
  'prompt_idx',
  'window_start',
  'merkle_root',
  'rollouts',
  'checkpoint_hash',
  'drand_round',
  'nonce',
  'envelope_signature',
  'extra_field',
]
const ROLLOUT = ['tokens', 'reward', 'commit', 'extra']
const COMMIT = [
  'tokens',
  'commitments',
  'proof_version',
  'model',
  'signature',
  'beacon',
  'rollout',
  'unknown',
]
const ROLLOUT_META = [
  'prompt_length',
  'completion_length',
  'token_logprobs',
  'success',
  'total_reward',
  'advantage',
  'surprise',
]
const idx = fc.integer({ min: 0, max: 9 })
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.constantFrom(...TOP), weird).map(
    ([k, v]): Mutation =>
      (b) =>
        (b[k] = v),
  ),
  fc.constantFrom(...TOP).map(
    (k): Mutation =>
      (b) =>
        delete b[k],
  ),
  fc.tuple(idx, fc.constantFrom(...ROLLOUT), weird).map(
    ([i, k, v]): Mutation =>
      (b) => {
        const r = b.rollouts?.[i]
        if (r && typeof r === 'object') r[k] = v
      },
  ),
  fc.tuple(idx, fc.constantFrom(...COMMIT), weird).map(
    ([i, k, v]): Mutation =>
      (b) => {
        const c = b.rollouts?.[i]?.commit
        if (c && typeof c === 'object') c[k] = v
      },
  ),
  fc.tuple(idx, fc.constantFrom(...ROLLOUT_META), weird).map(
    ([i, k, v]): Mutation =>
      (b) => {
        const m = b.rollouts?.[i]?.commit?.rollout
        if (m && typeof m === 'object') m[k] = v
      },
  ),
  fc.tuple(idx, idx).map(
    ([i, j]): Mutation =>
      (b) => {
        const rs = b.rollouts
        if (Array.isArray(rs) && rs[i] !== undefined && j < rs.length)
          rs[j] = structuredClone(rs[i]) // duplicated rollout
      },
  ),
  fc.constantFrom<Mutation>(
    (b) => Array.isArray(b.rollouts) && b.rollouts.pop(),
    (b) => Array.isArray(b.rollouts) && b.rollouts.push(structuredClone(b.rollouts[0])),
    (b) => {
      if (Array.isArray(b.rollouts)) b.rollouts = Array.from({ length: 100 }, () => b.rollouts[0])
    },
  ),
  fc.tuple(idx, fc.integer({ min: -3, max: 3 }), fc.boolean()).map(
    ([i, d, outer]): Mutation =>
      (b) => {
        // mismatched lengths: grow/shrink the outer or the commit tokens
        const r = b.rollouts?.[i]
        const arr = outer ? r?.tokens : r?.commit?.tokens
        if (!Array.isArray(arr)) return
        if (d < 0) arr.splice(d)
        else for (let k = 0; k < d; k++) arr.push(5)
      },
  ),
  fc.tuple(idx, fc.integer({ min: 0, max: 45 }), fc.integer({ min: 0, max: 5000 })).map(
    ([i, p, t]): Mutation =>
      (b) => {
        const r = b.rollouts?.[i]
        if (Array.isArray(r?.tokens) && p < r.tokens.length) r.tokens[p] = t // valid-looking token edits
      },
  ),
  fc.tuple(idx, fc.constantFrom(0, 1, 0.5)).map(
    ([i, v]): Mutation =>
      (b) => {
        const r = b.rollouts?.[i]
        if (r && typeof r === 'object') r.reward = v
      },
  ),
)

type HostileCase =
  | { kind: 'mutated'; template: number; mutations: Mutation[]; resign: boolean; asText: boolean }
  | { kind: 'raw'; body: unknown }
const hostileCase: fc.Arbitrary<HostileCase> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('mutated' as const),
      template: fc.nat(11),
      mutations: fc.array(mutation, { minLength: 0, maxLength: 3 }),
      resign: fc.nat(2).map((x) => x === 0),
      asText: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.jsonValue({ maxDepth: 3 }),
        fc.anything({ maxDepth: 2 }),
        fc.string({ maxLength: 200 }),
        fc.uint8Array({ maxLength: 200 }),
        fc.constantFrom<unknown>(
          '{',
          '{"rollouts":',
          '[]',
          'null',
          '\u0000',
          new Uint8Array([0xff, 0xfe, 0x7b]),
          { toJSON: () => 1 },
          Object.create(null),
        ),
      )
      .map((body) => ({ kind: 'raw' as const, body })),
  },
)

function toText(b: unknown): string {
  try {
    return JSON.stringify(b)
  } catch {
    return JSON.stringify(b, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)) // BigInt values
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  return Promise.race([
    p,
    new Promise<T>(
      (_, reject) =>
        (timer = setTimeout(() => reject(new Error(`hang: no verdict within ${ms} ms`)), ms)),
    ),
  ]).finally(() => clearTimeout(timer))
}

describe('hostile input', () => {
  test('10 000+ generated and mutated submissions: each a typed verdict, no throw, no hang; rejects leave the admission state unchanged', async () => {
    const profile = defineProfile(e3, { id: 'e3-hostile', window: { maxSubmissionsPerHotkey: 0 } })
    const s = setup({ profile, verifier: schemaOnlyVerifier })
    const templates = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        buildBody({ hotkey: keys[i % 6]!, promptIdx: i % 10, salt: i, nonce: `n${i}` }),
      ),
    )
    const templateTexts = templates.map((t) => JSON.stringify(t))
    const keyByAddress = new Map(keys.map((k) => [k.address, k]))
    const stateOf = () => JSON.stringify(s.batcher.snapshot())
    const reasons = new Map<string, number>()
    let cases = 0
    let slowest = 0

    // Plain comparisons on the hot path (vitest's expect costs more than the pipeline here).
    const fail = (msg: string, v: unknown): never => {
      throw new Error(`${msg}: ${JSON.stringify(v)}`)
    }
    const reasonsAllowed = new Set<string>(profile.rejectReasons)
    const check = (
      v: AdmissionVerdict,
      before: string,
      ledgerBefore: string,
      hotkeyUsedBefore: number | null,
      hk: string | null,
      stage: 'handler' | 'worker',
    ) => {
      if (
        typeof v !== 'object' ||
        v === null ||
        typeof v.accepted !== 'boolean' ||
        typeof v.detail !== 'string'
      )
        fail('not a verdict', v)
      if (!reasonsAllowed.has(v.reason) || v.stage !== stage || v.check === 'internal')
        fail('unexpected verdict', v)
      reasons.set(`${stage}:${v.reason}`, (reasons.get(`${stage}:${v.reason}`) ?? 0) + 1)
      if ((!v.accepted || v.reason === 'submitted') && stateOf() !== before)
        fail('a reject changed the admission state', v)
      // Quota: only a request whose envelope verified may consume exactly one unit (docs/protocol.md §4.3 step 2).
      if (stage === 'handler') {
        if (v.check === 'parse' || v.check === 'envelope') {
          if (JSON.stringify(s.pipeline.ledger.snapshot().submissions) !== ledgerBefore)
            fail('quota consumed before the envelope passed', v)
        } else if (
          hk !== null &&
          hotkeyUsedBefore !== null &&
          s.pipeline.ledger.used(hk) !== hotkeyUsedBefore + 1
        )
          fail('quota not consumed exactly once', v)
      }
    }

    const run = async (c: HostileCase, stage: 'handler' | 'worker') => {
      cases++
      let body: unknown
      let hk: string | null = null
      if (c.kind === 'raw') body = c.body
      else {
        const b = JSON.parse(templateTexts[c.template]!) as Record<string, any>
        for (const m of c.mutations) m(b)
        const key =
          typeof b.miner_hotkey === 'string' ? keyByAddress.get(b.miner_hotkey) : undefined
        // Re-signing matters only where the envelope is checked (the handler).
        if (c.resign && key && stage === 'handler') {
          try {
            b.envelope_signature = signBody(key, b)
          } catch {
            /* fields too broken to sign: send as is */
          }
        }
        hk = typeof b.miner_hotkey === 'string' ? b.miner_hotkey : null
        body = c.asText ? toText(b) : b
      }
      const before = stateOf()
      const ledgerBefore = JSON.stringify(s.pipeline.ledger.snapshot().submissions)
      const usedBefore = hk === null ? null : s.pipeline.ledger.used(hk)
      const t0 = performance.now()
      if (stage === 'handler') {
        const v = await withTimeout(s.pipeline.submit(body, at), 5_000)
        check(v, before, ledgerBefore, usedBefore, hk, 'handler')
        if (v.reason === 'submitted') {
          const before2 = stateOf()
          const w = await withTimeout(s.pipeline.processNext(now), 5_000)
          if (w === null) fail('queued item vanished', body)
          check(w!, before2, '', null, null, 'worker')
        }
      } else {
        const v = await withTimeout(s.pipeline.admitDirect(body, now), 5_000)
        check(v, before, '', null, null, 'worker')
      }
      slowest = Math.max(slowest, performance.now() - t0)
    }

    // Mostly the worker path (the model stage is where hostile bytes cost most); a quarter through
    // the handler, whose envelope check costs an sr25519 verification per parsed request.
    await fc.assert(
      fc.asyncProperty(hostileCase, (c) => run(c, 'worker')),
      { numRuns: 7_500, seed: 81 },
    )
    await fc.assert(
      fc.asyncProperty(hostileCase, (c) => run(c, 'handler')),
      { numRuns: 2_600, seed: 82 },
    )
    expect(cases).toBeGreaterThanOrEqual(10_000)
    expect(s.pipeline.queueDepth).toBe(0)
    expect(slowest).toBeLessThan(5_000)
    // The run reached the deep checks, not just the schema.
    for (const r of [
      'handler:bad_schema',
      'handler:bad_envelope_signature',
      'worker:bad_schema',
      'worker:hash_duplicate',
      'worker:reward_mismatch',
      'worker:accepted',
    ]) {
      expect(reasons.get(r) ?? 0, r).toBeGreaterThan(0)
    }
  }, 120_000)

  test('hostile values never escape as exceptions from the free stage functions either', async () => {
    const s = setup()
    let deep: unknown = 1
    for (let i = 0; i < 100_000; i++) deep = { miner_hotkey: deep }
    const odd: unknown[] = [
      undefined,
      null,
      0,
      'x',
      [],
      Symbol('s'),
      () => 1,
      deep,
      '['.repeat(1_000_000),
      'x'.repeat(64 * 1024 * 1024 + 1),
      new Proxy(
        {},
        {
          get: () => {
            throw new Error('trap')
          },
          ownKeys: () => {
            throw new Error('trap')
          },
        },
      ),
    ]
    for (const body of odd) {
      const h = await s.pipeline.submit(body, at)
      expectVerdict(h, { reason: 'bad_schema', stage: 'handler', check: 'parse', httpStatus: 422 })
      const w = await s.pipeline.admitDirect(body)
      expectVerdict(w, { reason: 'bad_schema', stage: 'worker', check: 'parse' })
    }
  })
})
