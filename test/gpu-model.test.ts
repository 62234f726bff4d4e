/**
 * The gpu forward (src/gpu: fused kernels, GEMMs, check statistics reduced on the GPU) on the
 * webgpu backend against the reference vectors: hidden rows, last-position logits, completion
 * log-probs and the sketch verdicts of every reference proof (f32 path, profile e1); the f16 path
 * (f16 weights) must still pass honest proofs under e3. CI runs it on software Vulkan.
 */
import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { e1, e3, verifySketch } from '../src/index.js'
import {
  createGpuRolloutEvaluator,
  gpuEvaluateRollout,
  prepareGpuModel,
  type GpuModel,
} from '../src/gpu/index.js'
import { loadModel, type CausalLM } from '../src/model/index.js'
import { filesWith, modelDir } from './_vectors.js'
import { relL2, webGpuTests } from './_webgpu.js'

const ready = await webGpuTests()
const files = filesWith('forward').filter(({ doc }) => modelDir(doc))

describe.skipIf(!ready).each(files)('$file on the gpu kernels', ({ doc }) => {
  let model: CausalLM
  let f32: GpuModel
  let f16: GpuModel
  beforeAll(async () => {
    model = await loadModel(modelDir(doc)!)
    f32 = await prepareGpuModel(model, { precision: 'f32' })
    f16 = await prepareGpuModel(model, { precision: 'f16' })
  })
  afterAll(() => {
    f16?.dispose()
    f32?.dispose()
    model?.dispose()
  })

  test('f32: hidden rows and last-position logits match the fp32 reference', async () => {
    const d = model.config.hiddenSize
    for (const c of doc.forward) {
      const hidden = f32.forwardHidden(c.tokens)
      const last = tf.slice(hidden, [c.tokens.length - 1, 0], [1, d]) as tf.Tensor2D
      const logits = f32.logits(last)
      const [h, l] = await Promise.all([hidden.data(), logits.data()])
      tf.dispose([hidden, last, logits])
      c.hidden_rows.forEach((row: number, j: number) => {
        expect(relL2(h.subarray(row * d, (row + 1) * d), c.last_hidden[j])).toBeLessThan(1e-4)
      })
      let worst = 0
      for (let v = 0; v < l.length; v++) worst = Math.max(worst, Math.abs(l[v]! - c.logits_last[v]))
      expect(worst).toBeLessThan(1e-3)
    }
  })

  test('f32: log-probs and every proof verdict (e1) match the reference', async () => {
    const ev = createGpuRolloutEvaluator(f32)
    for (const p of doc.proofs ?? []) {
      const r = await ev.evaluate(p.tokens, { hiddenRows: p.challenge_indices, temperature: 0.9 })
      for (let j = p.prompt_length; j < p.tokens.length; j++)
        expect(
          Math.abs(r.scores.logprobs[j]! - p.token_logprobs[j - p.prompt_length]),
        ).toBeLessThan(1e-4)
      for (const [c, ref] of [
        [p.commitments, p.verify_self],
        [p.commitments_bf16_gpu, p.verify_bf16_against_fp32],
      ]) {
        const v = verifySketch({
          tokens: p.tokens,
          commitments: c,
          randomness: doc.randomness,
          hidden: r.hidden,
          hiddenRows: 'challenges',
          profile: e1,
        })
        expect(v.valid).toBe(ref.all_passed)
      }
    }
  })

  test('f16 weights: honest proofs still verify under e3', async () => {
    // Four proofs keep the time modest on a software adapter.
    for (const p of (doc.proofs ?? []).slice(0, 4)) {
      const r = await gpuEvaluateRollout(f16, p.tokens, {
        hiddenRows: p.challenge_indices,
        temperature: 0.9,
      })
      const v = verifySketch({
        tokens: p.tokens,
        commitments: p.commitments,
        randomness: doc.randomness,
        hidden: r.hidden,
        hiddenRows: 'challenges',
        profile: e3,
      })
      expect(v.valid).toBe(true)
    }
  })
})
