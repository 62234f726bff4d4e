/**
 * The training products on the webgpu backend (software Vulkan in CI): `tapeMatMul`'s value and
 * both gradients against `tf.matMul`'s on the same backend, `gpuPickedLogprobs` against TF.js's
 * log-softmax and one-hot product, and one whole GRPO step on the tiny Qwen3 fixture through the
 * src/gpu kernels, with and without layer checkpointing, against the same step on TF.js's own ops
 * without it.
 */
import * as tf from '@tensorflow/tfjs-core'
import { describe, expect, test } from 'vitest'
import { gpuPickedLogprobs } from '../src/gpu/pickedLogprobs.js'
import { tapeFusedOptions } from '../src/gpu/tapeFused.js'
import { tapeMatMul, tapeMatMulOptions } from '../src/gpu/tapeMatMul.js'
import { loadModel } from '../src/model/index.js'
import { ensureGradients } from '../src/_peers/ensureGradients.js'
import { stepGrads, tinyStepBatch } from './_stepGrads.js'
import { filesWith, modelDir } from './_vectors.js'
import { relL2, webGpuTests } from './_webgpu.js'

const ready = await webGpuTests()

/** Value, dX and dW of `sum(f(x, w) · r)` for a fixed random `r`. */
async function valueAndGrads(
  f: (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor,
  x: tf.Tensor2D,
  w: tf.Tensor2D,
  r: tf.Tensor,
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

  test('gpuPickedLogprobs: value, d rows and d lm_head equal the TF.js log-softmax pick (rel. L2 < 1e-5)', async () => {
    await ensureGradients()
    const start = tf.memory().numTensors
    // Ragged rows (not multiples of 4 or 64), vocabularies not multiples of 4, one 4-aligned
    // shape (the 128 x 128 GEMM); targets include 0 and V − 1. Both tape layouts: logits kept,
    // logits recomputed in the backward.
    for (const [m, k, v] of [
      [37, 70, 459],
      [130, 64, 1003],
      [68, 128, 2048],
    ] as const) {
      const x = tf.randomNormal([m, k]) as tf.Tensor2D
      const w = tf.randomNormal([k, v], 0, 0.3) as tf.Tensor2D
      const r = tf.randomNormal([m]) as tf.Tensor1D
      const ids = Int32Array.from({ length: m }, (_, i) => (i * 7919 + 3) % v)
      ids[0] = 0
      ids[m - 1] = v - 1
      ids[m >> 1] = v - 1
      const t = tf.tensor1d(ids, 'int32')
      const ref = await valueAndGrads(
        (a, b) =>
          tf.sum(tf.mul(tf.logSoftmax(tf.matMul(a, b)), tf.cast(tf.oneHot(t, v), 'float32')), 1),
        x,
        w,
        r,
      )
      for (const recompute of [false, true]) {
        const got = await valueAndGrads(
          (a, b) => gpuPickedLogprobs(a, b, t, { recompute }),
          x,
          w,
          r,
        )
        const what = `${m}x${k}x${v} recompute=${recompute}`
        got.forEach((g, i) => {
          expect(g.length, `${what} #${i}`).toBe(ref[i]!.length)
          expect(relL2(g, ref[i]!), `${what} #${i}`).toBeLessThan(1e-5)
        })
      }
      tf.dispose([x, w, r, t])
    }
    expect(tf.memory().numTensors).toBe(start)
  })

  test('a GRPO step on the src/gpu kernels with and without layer checkpointing gives the TF.js-ops step', async () => {
    const dir = modelDir(filesWith('grpo').find(({ doc }) => modelDir(doc))!.doc)!
    const batch = tinyStepBatch()
    const model = await loadModel(dir)
    const reference = await loadModel(dir, { trainable: false })
    const options = { klBeta: 0.04 }
    const start = tf.memory().numTensors
    try {
      // The baseline is TF.js's ops throughout: products, log-probs and the fused layer ops.
      tapeMatMulOptions.gpu = false
      tapeFusedOptions.gpu = false
      const old = await stepGrads(model, reference, batch, options, { checkpointLayers: false })
      tapeMatMulOptions.gpu = true
      tapeFusedOptions.gpu = true
      for (const checkpointLayers of [true, false]) {
        const now = await stepGrads(model, reference, batch, options, { checkpointLayers })
        const at = `checkpointLayers=${checkpointLayers}`
        expect(now.step.rolloutsUsed, at).toBe(old.step.rolloutsUsed)
        expect(now.step.rolloutsUsed).toBeGreaterThan(1)
        expect(Math.abs(now.step.loss - old.step.loss), at).toBeLessThan(
          1e-6 * Math.abs(old.step.loss),
        )
        now.step.rollouts.forEach((t, i) => {
          const o = old.step.rollouts[i]!
          if (!t.used) return
          expect(Math.abs(t.ppoLoss! - o.ppoLoss!), at).toBeLessThan(1e-6)
          expect(Math.abs(t.kl! - o.kl!), at).toBeLessThan(1e-6)
        })
        expect(
          Math.abs(now.step.gradNorm - old.step.gradNorm) / old.step.gradNorm,
          at,
        ).toBeLessThan(1e-5)
        expect([...now.grads.keys()].sort()).toEqual([...old.grads.keys()].sort())
        for (const [n, g] of old.grads)
          expect(relL2(now.grads.get(n)!, g), `${at} ${n}`).toBeLessThan(1e-4)
      }
      expect(tf.memory().numTensors).toBe(start)
    } finally {
      tapeMatMulOptions.gpu = true
      tapeFusedOptions.gpu = true
      model.dispose()
      reference.dispose()
    }
  })
  test('the fused log-prob pick refuses mismatched shapes and non-int32 targets with INVALID_ARGUMENT', () => {
    const start = tf.memory().numTensors
    const rows = tf.zeros([3, 4]) as tf.Tensor2D
    const head = tf.zeros([4, 5]) as tf.Tensor2D
    const bad: [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D][] = [
      [rows, tf.zeros([5, 5]) as tf.Tensor2D, tf.tensor1d([0, 1, 2], 'int32')],
      [rows, head, tf.tensor1d([0, 1, 2], 'float32')],
      [rows, head, tf.tensor1d([0, 1], 'int32')],
    ]
    for (const [r, w, t] of bad)
      expect(() => gpuPickedLogprobs(r, w, t)).toThrow(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      )
    tf.dispose([rows, head, ...bad.flatMap(([, w, t]) => [w, t])])
    expect(tf.memory().numTensors).toBe(start)
  })
  test('under tf.profile the src/gpu kernels report their GPU time beside TF.js programs', async () => {
    const start = tf.memory().numTensors
    const timestamps = (tf.backend() as unknown as { supportTimestampQuery?: boolean })
      .supportTimestampQuery
    const x = tf.randomNormal([64, 128]) as tf.Tensor2D
    const w = tf.randomNormal([128, 96]) as tf.Tensor2D
    const info = await tf.profile(() => tapeMatMul(x, w))
    const mm = info.kernels.filter((k) => k.name.startsWith('ReliquaryMatMul'))
    expect(mm.length).toBeGreaterThan(0)
    for (const k of mm) {
      // The pipeline key names the shader; its time is a GPU timestamp difference.
      expect(String(k.extraInfo)).toMatch(/^matmul-[^:]+: [0-9.]+$/)
      if (timestamps) expect(Number(k.kernelTimeMs)).toBeGreaterThan(0)
    }
    tf.dispose([x, w, info.result as tf.Tensor])
    expect(tf.memory().numTensors).toBe(start)
  })
})
