/**
 * Batched evaluation on the gpu kernels (several rollouts packed per forward, a causal mask per
 * sequence) against per-rollout evaluation and the reference vectors; `verifyRollouts` over the
 * batching evaluator against `verifyRollout` one by one. CI runs it on software Vulkan.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createHotkey, e1, e3, proveRollout, verifyRollout, verifySketch } from '../src/index.js'
import { verifyRollouts } from '../src/rollout/index.js'
import type { RolloutEvaluator } from '../src/rollout/verifyRollout.js'
import {
  createGpuRolloutEvaluator,
  gpuEvaluateRollout,
  gpuEvaluateRollouts,
  prepareGpuModel,
  type GpuModel,
} from '../src/gpu/index.js'
import { loadModel, type CausalLM } from '../src/model/index.js'
import { verifyCommand } from '../src/cli/verify.js'
import { filesWith, modelDir } from './_vectors.js'
import { maxAbs, webGpuTests } from './_webgpu.js'

const ready = await webGpuTests()
const file = filesWith('proofs').find(({ doc }) => modelDir(doc))
let model: CausalLM
let gm: GpuModel
beforeAll(async () => {
  if (!ready || !file) return
  model = await loadModel(modelDir(file.doc)!)
  gm = await prepareGpuModel(model, { precision: 'f32' })
})
afterAll(() => {
  gm?.dispose()
  model?.dispose()
})

describe.skipIf(!ready || !file)('batched gpu evaluation', () => {
  const doc = file?.doc ?? {}
  // The four shortest proofs keep the time modest on a software adapter.
  const proofs = ((doc.proofs ?? []) as Record<string, any>[])
    .map((p, i) => ({ p, i }))
    .sort((a, b) => a.p.tokens.length - b.p.tokens.length || a.i - b.i)
    .slice(0, 4)
    .map(({ p }) => p)

  test('packed forwards equal per-rollout forwards and reproduce the reference (e1)', async () => {
    const requests = proofs.map((p) => ({ tokens: p.tokens, hiddenRows: p.challenge_indices }))
    const total = requests.reduce((n, r) => n + r.tokens.length, 0)
    // A budget of about half the tokens: at least two forwards, each with several sequences.
    const batched = await gpuEvaluateRollouts(gm, requests, {
      temperature: 0.9,
      maxBatchTokens: Math.ceil(total / 2),
    })
    expect(batched).toHaveLength(proofs.length)
    for (const [i, p] of proofs.entries()) {
      const one = await gpuEvaluateRollout(gm, p.tokens, {
        hiddenRows: p.challenge_indices,
        temperature: 0.9,
      })
      const b = batched[i]!
      expect(b.hidden.data).toHaveLength(p.challenge_indices.length * model.config.hiddenSize)
      expect(maxAbs(b.hidden.data, one.hidden.data)).toBeLessThan(1e-5)
      const T = p.tokens.length
      expect(Number.isNaN(b.scores.logprobs[0]!)).toBe(true)
      expect(maxAbs(b.scores.logprobs.subarray(1), one.scores.logprobs.subarray(1))).toBeLessThan(
        1e-5,
      )
      expect(
        maxAbs(b.scores.temperedProbs.subarray(1), one.scores.temperedProbs.subarray(1)),
      ).toBeLessThan(1e-5)
      expect(Math.abs(b.scores.eosProbability - one.scores.eosProbability)).toBeLessThan(1e-6)
      for (let j = p.prompt_length; j < T; j++)
        expect(
          Math.abs(b.scores.logprobs[j]! - p.token_logprobs[j - p.prompt_length]),
        ).toBeLessThan(1e-4)
      for (const [c, ref] of [
        [p.commitments, p.verify_self],
        [p.commitments_bf16_gpu, p.verify_bf16_against_fp32],
      ]) {
        const v = verifySketch({
          tokens: p.tokens,
          commitments: c,
          randomness: doc.randomness,
          hidden: b.hidden,
          hiddenRows: 'challenges',
          profile: e1,
        })
        expect(v.valid).toBe(ref.all_passed)
      }
    }
  })

  test('bad requests are refused before any GPU work', async () => {
    const before = tf.memory().numTensors
    const ok = { tokens: proofs[0]!.tokens as number[], hiddenRows: [0] }
    await expect(
      gpuEvaluateRollouts(gm, [ok, { tokens: [1, 2], hiddenRows: [2] }], { temperature: 1 }),
    ).rejects.toMatchObject({ code: 'GRAIL_SHAPE_MISMATCH' })
    await expect(
      gpuEvaluateRollouts(gm, [ok, { tokens: [], hiddenRows: [] }], { temperature: 1 }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(
      gpuEvaluateRollouts(gm, [ok], { temperature: 1, maxBatchTokens: 0 }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    expect(tf.memory().numTensors).toBe(before)
  })

  test('verifyRollouts: one batch for the rollouts that pass the cheap checks, same verdicts', async () => {
    const alice = await createHotkey('//Alice')
    const randomness = 'ab'.repeat(32)
    // Commits proved from one batched forward over every position of three rollouts.
    const three = proofs.slice(0, 3)
    const full = await gpuEvaluateRollouts(
      gm,
      three.map((p) => ({
        tokens: p.tokens,
        hiddenRows: p.tokens.map((_: number, j: number) => j),
      })),
      { temperature: e3.sampling.temperature },
    )
    const commits = []
    for (const [i, p] of three.entries())
      commits.push(
        await proveRollout({
          tokens: p.tokens,
          promptLength: p.prompt_length,
          hidden: full[i]!.hidden,
          tokenLogprobs: Array.from(full[i]!.scores.logprobs.subarray(p.prompt_length)),
          randomness,
          modelName: 'qwen3-tiny',
          hotkey: alice,
          profile: e3,
        }),
      )
    const gpu = createGpuRolloutEvaluator(gm)
    const calls: number[] = []
    const spy: RolloutEvaluator = {
      ...gpu,
      evaluateBatch: (reqs, o) => {
        calls.push(reqs.length)
        return gpu.evaluateBatch!(reqs, o)
      },
    }
    const rollouts = [
      ...commits.map((c, i) => ({
        commit: c,
        minerHotkey: alice.address,
        randomness,
        promptTokens: proofs[i]!.tokens.slice(0, proofs[i]!.prompt_length),
      })),
      // Fails the prompt binding: never reaches the model.
      { commit: commits[0], minerHotkey: alice.address, randomness, promptTokens: [1] },
      { commit: { nope: true }, minerHotkey: alice.address, randomness, promptTokens: [] },
    ]
    const batch = await verifyRollouts({ rollouts, model: spy, profile: e3 })
    expect(calls).toEqual([3])
    const strip = (v: Awaited<ReturnType<typeof verifyRollout>>) => [
      v.ok,
      v.reason,
      v.detail,
      v.grail?.sketchDiffMax ?? null,
    ]
    for (const [i, r] of rollouts.entries()) {
      const one = await verifyRollout({ ...r, model: gpu, profile: e3 })
      expect(strip(batch[i]!)).toEqual(strip(one))
    }
    expect(batch.slice(0, 3).every((v) => v.grail?.valid)).toBe(true)
    expect(batch[3]!.reason).toBe('prompt_mismatch')
    expect(batch[4]!.reason).toBe('bad_schema')
  })
})

describe.skipIf(!ready || !file)('reliquary verify on the webgpu backend', () => {
  test('f32 reproduces the reference verdicts of a proof and an attack; f16 accepts the proof', async () => {
    const doc = file!.doc
    const dir = mkdtempSync(join(tmpdir(), 'reliquary-gpu-verify-'))
    try {
      const p = doc.proofs[0]
      const a = doc.attacks[0]
      const write = (name: string, x: { tokens: number[]; commitments: number[] }) => {
        const f = join(dir, name)
        writeFileSync(
          f,
          JSON.stringify({
            tokens: x.tokens,
            commitments: x.commitments.map((sketch) => ({ sketch })),
          }),
        )
        return f
      }
      const run = (f: string, precision: 'f32' | 'f16', profile: string) =>
        verifyCommand({
          file: f,
          model: modelDir(doc)!,
          randomness: doc.randomness,
          profile,
          precision,
        })
      const honest = write('proof.json', p)
      expect((await run(honest, 'f32', 'e1')).accepted).toBe(p.verify_self.all_passed)
      expect((await run(write('attack.json', a), 'f32', 'e1')).accepted).toBe(a.all_passed)
      expect((await run(honest, 'f16', 'e3')).accepted).toBe(true)
      // Several bare commits in one file: evaluated together, each judged as on its own.
      const both = join(dir, 'both.json')
      const commitOf = (x: { tokens: number[]; commitments: number[] }) => ({
        tokens: x.tokens,
        commitments: x.commitments.map((sketch) => ({ sketch })),
      })
      writeFileSync(
        both,
        JSON.stringify({ rollouts: [p, a, p].map((x) => ({ commit: commitOf(x) })) }),
      )
      const many = await run(both, 'f32', 'e1')
      expect(many.rollouts.map((r) => r.accepted)).toEqual([
        p.verify_self.all_passed,
        a.all_passed,
        p.verify_self.all_passed,
      ])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
