/**
 * The SDK's own forward pass against the reference proofs: sketches, log-probs, verdicts of
 * verifySketch and of the behavioural checks, every attack (including those that change tokens);
 * then the miner → validator round trip on the tiny model under the E3 rules.
 */
import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  challengeIndices,
  computeSketch,
  createHotkey,
  defineProfile,
  e3,
  signCommit,
  sketchTolerance,
  verifyRollout,
  verifySketch,
  type Hotkey,
} from '../src/index.js'
import { checkDistribution, checkLogprobs, checkTermination } from '../src/rollout/index.js'
import { profileForVectors } from '../src/conformance/suites/crypto.js'
import {
  createRolloutEvaluator,
  evaluateRollout,
  generate,
  loadModel,
  proveWithModel,
  useBackend,
  type CausalLM,
} from '../src/model/index.js'
import { e1 } from '../src/protocol/profiles.js'
import { filesWith, modelDir } from './_vectors.js'

const files = filesWith('proofs').filter(({ doc }) => modelDir(doc))
let startTensors = 0
const models = new Map<string, CausalLM>()

beforeAll(async () => {
  await useBackend('wasm')
  startTensors = tf.memory().numTensors
  for (const { file, doc } of files) models.set(file, await loadModel(modelDir(doc)!))
})
afterAll(() => {
  for (const m of models.values()) m.dispose()
  expect(tf.memory().numTensors).toBe(startTensors)
})

describe.each(files.map((f) => [f.file, f.doc] as const))(
  'SDK forward vs reference proofs of %s',
  (file, doc) => {
    // Sketches must equal the reference fp32 commitments at ≥ 99% of all positions of the file
    // (a single-ulp forward difference can move a value across a bucket edge at a rare position;
    // every position must still be within tolerance).
    const agreement = { equal: 0, total: 0 }
    afterAll(() => {
      expect(agreement.total).toBeGreaterThan(0)
      expect(agreement.equal / agreement.total).toBeGreaterThanOrEqual(0.99)
    })
    const profile = profileForVectors(doc, e1)
    const randomness: string = doc.randomness
    const proofs = doc.proofs as Record<string, any>[]

    test.each(proofs.map((p, i) => [i, p] as const))(
      'proof %i: sketches, log-probs, verdicts and behavioural checks',
      async (_i, p) => {
        const model = models.get(file)!
        const T = p.tokens.length
        const P = p.prompt_length
        const ev = await evaluateRollout(model, p.tokens, {
          hiddenRows: Array.from({ length: T }, (_, j) => j),
          temperature: profile.sampling.temperature,
        })
        // Sketches over every position: equal at ≥ 99% of positions, all within tolerance.
        const sketches = computeSketch(ev.hidden, p.randomness, { profile })
        let equal = 0
        for (let j = 0; j < T; j++) {
          if (sketches[j] === p.commitments[j]) equal++
          const d = Math.abs(sketches[j]! - p.commitments[j])
          expect(Math.min(d, profile.grail.primeQ - d)).toBeLessThanOrEqual(
            sketchTolerance(j, { profile }),
          )
        }
        agreement.equal += equal
        agreement.total += T
        // Completion-only fp32 log-probs within 1e-4.
        const lps = Array.from(ev.scores.logprobs.subarray(P))
        expect(lps).toHaveLength(p.token_logprobs.length)
        for (let j = 0; j < lps.length; j++)
          expect(Math.abs(lps[j]! - p.token_logprobs[j])).toBeLessThanOrEqual(1e-4)
        // verifySketch on the SDK's own hidden states reproduces every reference verdict.
        const judge = (commitments: number[]) =>
          verifySketch({ tokens: p.tokens, commitments, randomness, hidden: ev.hidden, profile })
        for (const [commitments, ref] of [
          [p.commitments, p.verify_self],
          [p.commitments_bf16_gpu, p.verify_bf16_against_fp32],
        ] as const) {
          const v = judge(commitments)
          expect([v.valid, v.checked]).toEqual([ref.all_passed, ref.checked])
          expect(Math.abs(v.sketchDiffMax - ref.sketch_diff_max)).toBeLessThanOrEqual(
            0.1 * ref.sketch_diff_max + 300,
          )
        }
        // Behavioural checks equal the reference's.
        const shape = { tokens: p.tokens, promptLength: P, completionLength: T - P }
        expect(checkTermination(shape, ev.scores, model.config.eosTokenIds, { profile }).ok).toBe(
          p.termination_ok,
        )
        const lp = checkLogprobs(
          { ...shape, tokenLogprobs: p.token_logprobs },
          ev.scores,
          randomness,
          { profile },
        )
        expect(lp.ok).toBe(p.logprob_check.ok)
        if (Number.isFinite(p.logprob_check.median_dev))
          expect(Math.abs(lp.medianDev - p.logprob_check.median_dev)).toBeLessThanOrEqual(1e-4)
        const dist = checkDistribution(shape, ev.scores, { profile })
        expect(dist.ok).toBe(p.distribution.ok)
        if (p.distribution.metrics && dist.metrics) {
          for (const k of ['mean', 'median', 'q10', 'low_frac', 'high_frac'] as const)
            expect(Math.abs(dist.metrics[k] - p.distribution.metrics[k]), k).toBeLessThanOrEqual(
              1e-4,
            )
        }
      },
    )

    test.each(((doc.attacks ?? []) as Record<string, any>[]).map((a) => [a.name, a] as const))(
      'attack %s: rejected with the reference verdict on the SDK forward',
      async (_n, a) => {
        const model = models.get(file)!
        const rows = challengeIndices({ tokens: a.tokens, randomness, profile })
        const ev = await evaluateRollout(model, a.tokens, {
          hiddenRows: rows,
          temperature: profile.sampling.temperature,
        })
        const v = verifySketch({
          tokens: a.tokens,
          commitments: a.commitments,
          randomness,
          hidden: ev.hidden,
          hiddenRows: 'challenges',
          profile,
        })
        expect(v.valid).toBe(false)
        expect([v.valid, v.checked]).toEqual([a.all_passed, a.checked])
        expect(Math.abs(v.sketchDiffMax - a.sketch_diff_max)).toBeLessThanOrEqual(
          0.1 * a.sketch_diff_max + 300,
        )
      },
    )
  },
)

describe.each(files.slice(0, 1).map((f) => [f.file, f.doc] as const))(
  'miner → validator round trip on the model of %s (E3 rules)',
  (file, doc) => {
    // A random tiny model seldom ends on EOS with the probability the termination check asks, so
    // this profile lowers the protocol cap: the cap path of E3 termination then applies. Every
    // check keeps its rule.
    const profile = defineProfile(e3, { id: 'e3-tiny-test', sampling: { maxNewTokensCap: 48 } })
    const randomness = 'ab'.repeat(32)
    let alice: Hotkey
    let bob: Hotkey
    let commit: Awaited<ReturnType<typeof proveWithModel>>
    let prompt: number[]
    beforeAll(async () => {
      alice = await createHotkey('//Alice')
      bob = await createHotkey('//Bob')
      const model = models.get(file)!
      prompt = (doc.proofs[0].tokens as number[]).slice(0, 12)
      const g = await generate(model, prompt, {
        maxNewTokens: profile.sampling.maxNewTokensCap - prompt.length,
        temperature: profile.sampling.temperature,
        seed: 7,
        eosTokenIds: [],
      })
      commit = await proveWithModel({
        model,
        tokens: g.tokens,
        promptLength: prompt.length,
        randomness,
        hotkey: alice,
        profile,
      })
      // The miner's KV-cache log-probs agree with the full forward it proves from.
      g.logprobs.forEach((x, j) => {
        expect(Math.abs(x - commit.rollout.token_logprobs[j]!)).toBeLessThan(1e-4)
      })
    })
    const verify = (
      c: unknown,
      over: Partial<{ hotkey: string; randomness: string; promptTokens: number[] }> = {},
    ) =>
      verifyRollout({
        commit: c,
        minerHotkey: over.hotkey ?? alice.address,
        randomness: over.randomness ?? randomness,
        promptTokens: over.promptTokens ?? prompt,
        model: createRolloutEvaluator(models.get(file)!),
        profile,
      })

    test('an honest rollout verifies', async () => {
      const v = await verify(commit)
      expect(v.reason).toBeNull()
      expect(v.ok).toBe(true)
      expect(v.grail?.sketchDiffMax).toBe(0)
      expect(v.termination?.path).toBe('cap')
    })
    test('a token changed after proving is rejected (the signature binds the tokens)', async () => {
      const tokens = [...commit.tokens]
      const j = challengeIndices({ tokens, randomness, profile }).find((x) => x > prompt.length)!
      tokens[j] = (tokens[j]! + 1) % models.get(file)!.config.vocabSize
      expect((await verify({ ...commit, tokens })).reason).toBe('bad_signature')
    })
    test('a fabricated completion under the old proof, even re-signed, is rejected by a model check', async () => {
      // One swapped token can hide inside the E3 sketch tolerance (docs/protocol.md §1.8); a
      // completion
      // that was not sampled from the model cannot pass the logprob and distribution checks.
      const V = models.get(file)!.config.vocabSize
      const tokens = commit.tokens.map((t, i) => (i < prompt.length ? t : (t * 7 + i * 13 + 1) % V))
      const forged = { ...commit, tokens, signature: signCommit(alice, { ...commit, tokens }) }
      expect(['grail_fail', 'logprob_mismatch', 'distribution_suspicious']).toContain(
        (await verify(forged)).reason,
      )
    })
    test('a signature by another hotkey is rejected', async () => {
      expect((await verify({ ...commit, signature: signCommit(bob, commit) })).reason).toBe(
        'bad_signature',
      )
      expect((await verify(commit, { hotkey: bob.address })).reason).toBe('bad_signature')
    })
    test("another window's randomness is rejected", async () => {
      expect((await verify(commit, { randomness: 'cd'.repeat(32) })).reason).toBe(
        'wrong_randomness',
      )
    })
    test('schema, token and prompt failures come first, in order', async () => {
      expect((await verify({ ...commit, extra: 1 })).reason).toBe('bad_schema')
      expect(
        (await verify({ ...commit, tokens: commit.tokens.map((t, i) => (i === 3 ? 10 ** 6 : t)) }))
          .reason,
      ).toBe('bad_tokens')
      expect((await verify(commit, { promptTokens: prompt.map((t) => t + 1) })).reason).toBe(
        'prompt_mismatch',
      )
    })
  },
)
