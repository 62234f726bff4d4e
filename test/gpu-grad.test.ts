/**
 * The training products on the webgpu backend (software Vulkan in CI): `tapeMatMul`'s value and
 * both gradients against `tf.matMul`'s on the same backend, and one whole GRPO step on the tiny
 * Qwen3 fixture through the src/gpu GEMMs with layer checkpointing against the same step on
 * TF.js's own products without it.
 */
import * as tf from '@tensorflow/tfjs-core'
import { describe, expect, test } from 'vitest'
import { tapeMatMul, tapeMatMulOptions } from '../src/gpu/tapeMatMul.js'
import type { GrpoBatch, GrpoRollout } from '../src/grpo/index.js'
import { loadModel } from '../src/model/index.js'
import { ensureGradients } from '../src/_peers/ensureGradients.js'
import { stepGrads } from './_stepGrads.js'
import { filesWith, modelDir } from './_vectors.js'
import { relL2, webGpuTests } from './_webgpu.js'

const ready = await webGpuTests()

/** Value, dX and dW of `sum(f(x, w) · r)` for a fixed random `r`. */
async function valueAndGrads(
  f: (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D,
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  r: tf.Tensor2D,
): Promise<Float32Array[]> {
  const { value, grads } = tf.valueAndGrads((a: tf.Tensor, b: tf.Tensor) =>
    tf.sum(tf.mul(f(a as tf.Tensor2D, b as tf.Tensor2D), r)),
  )([x, w])
  const y = tf.tidy(() => f(x, w))
  const out = await Promise.all([y, ...grads].map(async (t) => (await t.data()) as Float32Array))
  tf.dispose([value, y, ...grads])
  return out
}

describe.skipIf(!ready)('training products on the webgpu backend', () => {
  test('tapeMatMul: value, dy·wᵀ and xᵀ·dy equal tf.matMul and its gradients (rel. L2 < 1e-6)', async () => {
    await ensureGradients()
    // 4-aligned sizes (128 x 128 kernels, transposed-operand dX) and ragged ones (the 64 x 64
    // kernel, dX on an explicit transpose), each across several tiles.
    for (const [m, k, n] of [
      [200, 132, 260],
      [37, 70, 459],
    ] as const) {
      const x = tf.randomNormal([m, k]) as tf.Tensor2D
      const w = tf.randomNormal([k, n]) as tf.Tensor2D
      const r = tf.randomNormal([m, n]) as tf.Tensor2D
      const got = await valueAndGrads(tapeMatMul, x, w, r)
      const ref = await valueAndGrads((a, b) => tf.matMul(a, b), x, w, r)
      got.forEach((g, i) => {
        expect(g.length, `${m}x${k}x${n} #${i}`).toBe(ref[i]!.length)
        expect(relL2(g, ref[i]!), `${m}x${k}x${n} #${i}`).toBeLessThan(1e-6)
      })
      tf.dispose([x, w, r])
    }
  })

  test('a GRPO step on the src/gpu GEMMs with layer checkpointing gives the TF.js-product step', async () => {
    const dir = modelDir(filesWith('grpo').find(({ doc }) => modelDir(doc))!.doc)!
    // One group of three short rollouts of different lengths (padding), rewards with variance;
    // π_old is any plausible log-prob (the step's arithmetic, not honesty, is under test).
    const rollout = (n: number, reward: number): GrpoRollout => ({
      tokens: Array.from({ length: n }, (_, j) => (j * 37 + n * 11) % 400),
      promptLength: 5,
      reward,
      tokenLogprobs: Array.from({ length: n - 5 }, (_, j) => -5 - 0.1 * j),
    })
    const batch: GrpoBatch = [{ rollouts: [rollout(14, 1), rollout(11, 0), rollout(16, 0.5)] }]
    const model = await loadModel(dir)
    const reference = await loadModel(dir, { trainable: false })
    const options = { klBeta: 0.04 }
    try {
      tapeMatMulOptions.gpu = false
      const old = await stepGrads(model, reference, batch, options, { checkpointLayers: false })
      tapeMatMulOptions.gpu = true
      const now = await stepGrads(model, reference, batch, options, { checkpointLayers: true })
      expect(now.step.rolloutsUsed).toBe(old.step.rolloutsUsed)
      expect(now.step.rolloutsUsed).toBeGreaterThan(1)
      expect(Math.abs(now.step.loss - old.step.loss)).toBeLessThan(1e-6 * Math.abs(old.step.loss))
      now.step.rollouts.forEach((t, i) => {
        const o = old.step.rollouts[i]!
        if (!t.used) return
        expect(Math.abs(t.ppoLoss! - o.ppoLoss!)).toBeLessThan(1e-6)
        expect(Math.abs(t.kl! - o.kl!)).toBeLessThan(1e-6)
      })
      expect(Math.abs(now.step.gradNorm - old.step.gradNorm) / old.step.gradNorm).toBeLessThan(1e-5)
      expect([...now.grads.keys()].sort()).toEqual([...old.grads.keys()].sort())
      for (const [n, g] of old.grads) expect(relL2(now.grads.get(n)!, g), n).toBeLessThan(1e-4)
    } finally {
      tapeMatMulOptions.gpu = true
      model.dispose()
      reference.dispose()
    }
  })
})
