/**
 * The gpu kernels (src/gpu) against TF.js's own ops on the same webgpu backend, on random inputs of
 * odd sizes (tile edges). Runs on software Vulkan in CI; the tensor-core GEMM needs a GPU with
 * subgroup matrices and is checked by bench/gpu instead.
 */
import * as tf from '@tensorflow/tfjs-core'
import { describe, expect, test } from 'vitest'
import {
  attentionOptions,
  gemmPath,
  gpuAddRmsNorm,
  gpuCapabilities,
  gpuCausalAttention,
  gpuMatMul,
  gpuMatMulSplit,
  gpuMatMulTransposed,
  gpuQkNormRope,
  gpuRmsNorm,
  gpuRope,
  gpuSwiGlu,
  gpuTokenStats,
  toGpuF16,
} from '../src/gpu/index.js'
import { expectRejectCode } from './_errors.js'
import { relL2, webGpuTests } from './_webgpu.js'

const ready = await webGpuTests()

async function close(got: tf.Tensor, ref: tf.Tensor, tol: number) {
  expect(got.shape).toEqual(ref.shape)
  const [g, r] = await Promise.all([got.data(), ref.data()])
  got.dispose()
  ref.dispose()
  for (const v of g) expect(Number.isFinite(v)).toBe(true)
  expect(relL2(g, r)).toBeLessThan(tol)
}

const rmsRef = (x: tf.Tensor, w: tf.Tensor, eps: number) =>
  tf.tidy(() => tf.mul(w, tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps)))))

describe.skipIf(!ready)('gpu kernels on the webgpu backend', () => {
  test('RMSNorm and residual-add RMSNorm match the composite ops', async () => {
    const x = tf.randomNormal([37, 300])
    const r = tf.randomNormal([37, 300])
    const w = tf.randomNormal([300]) as tf.Tensor1D
    await close(gpuRmsNorm(x, w, 1e-6), rmsRef(x, w, 1e-6), 1e-6)
    const [sum, normed] = gpuAddRmsNorm(x, r, w, 1e-6)
    await close(sum, tf.add(x, r), 1e-7)
    const ref = tf.tidy(() => rmsRef(tf.add(x, r), w, 1e-6))
    await close(normed, ref, 1e-6)
    tf.dispose([x, r, w])
  })

  test('RoPE matches x·cos + rotate_half(x)·sin', async () => {
    const [T, H, hd] = [19, 3, 16]
    const x = tf.randomNormal([T, H, hd]) as tf.Tensor3D
    const cos = tf.randomUniform([T, hd], -1, 1) as tf.Tensor2D
    const sin = tf.randomUniform([T, hd], -1, 1) as tf.Tensor2D
    const ref = tf.tidy(() => {
      const [x1, x2] = tf.split(x, 2, 2)
      return tf.add(
        tf.mul(x, tf.reshape(cos, [T, 1, hd])),
        tf.mul(tf.concat([x2!, x1!], 2), tf.reshape(sin, [T, 1, hd])),
      )
    })
    await close(gpuRope(x, cos, sin), ref, 1e-6)
    // Per-head q/k RMSNorm then RoPE in one dispatch: the same bits as the two kernels.
    const k = tf.randomNormal([T, 1, hd]) as tf.Tensor3D
    const [wq, wk] = [tf.randomNormal([hd]) as tf.Tensor1D, tf.randomNormal([hd]) as tf.Tensor1D]
    const fused = gpuQkNormRope(x, k, { q: wq, k: wk, eps: 1e-6 }, cos, sin)
    const twoStep = tf.tidy(() =>
      [x, k].map((t, i) => gpuRope(gpuRmsNorm(t, i ? wk : wq, 1e-6), cos, sin)),
    )
    for (let i = 0; i < 2; i++) expect(await fused[i]!.data()).toEqual(await twoStep[i]!.data())
    tf.dispose([x, k, wq, wk, cos, sin, ...fused, ...twoStep])
  })

  test('SwiGLU matches silu(gate)·up', async () => {
    const g = tf.tidy(() => tf.mul(tf.randomNormal([33, 70]), 4))
    const u = tf.randomNormal([33, 70])
    const ref = tf.tidy(() => tf.mul(tf.mul(g, tf.sigmoid(g)), u))
    await close(gpuSwiGlu(g, u), ref, 1e-6)
    tf.dispose([g, u])
  })

  for (const [T, start] of [
    [70, 0],
    [9, 66],
    [1, 40],
  ] as const) {
    test(`causal GQA attention, ${T} queries after ${start} cached positions`, async () => {
      const [H, KV, hd] = [4, 2, 32]
      const tk = start + T
      const q = tf.randomNormal([T, H, hd]) as tf.Tensor3D
      const k = tf.tidy(() => tf.mul(tf.randomNormal([tk, KV, hd]), 2)) as tf.Tensor3D
      const v = tf.randomNormal([tk, KV, hd]) as tf.Tensor3D
      const scale = 1 / Math.sqrt(hd)
      const ref = tf.tidy(() => {
        const rows = tf.reshape(tf.add(tf.range(0, T, 1, 'int32'), start), [T, 1])
        const cols = tf.reshape(tf.range(0, tk, 1, 'int32'), [1, tk])
        const mask = tf.mul(tf.cast(tf.greater(cols, rows), 'float32'), -1e9)
        const outs = Array.from({ length: H }, (_, h) => {
          const g = Math.floor(h / (H / KV))
          const qh = tf.squeeze(tf.slice(q, [0, h, 0], [T, 1, hd]), [1])
          const kh = tf.squeeze(tf.slice(k, [0, g, 0], [tk, 1, hd]), [1])
          const vh = tf.squeeze(tf.slice(v, [0, g, 0], [tk, 1, hd]), [1])
          const s = tf.add(tf.mul(tf.matMul(qh, kh, false, true), scale), mask)
          return tf.matMul(tf.softmax(s), vh)
        })
        return tf.concat(outs, 1)
      })
      const tcRef = tf.clone(ref)
      // One and two heads of a GQA group per thread: the same arithmetic per head, same bits.
      const hpt = attentionOptions.headsPerThread
      attentionOptions.headsPerThread = 1
      const one = gpuCausalAttention(q, k, v, { start, scale })
      attentionOptions.headsPerThread = 2
      try {
        const two = gpuCausalAttention(q, k, v, { start, scale })
        expect(await two.data()).toEqual(await one.data())
        two.dispose()
      } finally {
        attentionOptions.headsPerThread = hpt
      }
      await close(one, ref, 2e-6)
      // The opt-in tensor-core kernel (f16 q/k/v): on an adapter without subgroup matrices the
      // call falls back to the f32 kernel.
      attentionOptions.tensorCores = true
      try {
        const tc = gpuCausalAttention(q, k, v, { start, scale, tensorCores: true })
        await close(tc, tcRef, gpuCapabilities()?.subgroupMatrix ? 2e-3 : 2e-6)
      } finally {
        attentionOptions.tensorCores = false
      }
      tf.dispose([q, k, v])
    })
  }

  test('per-token log-probs, tempered probabilities and EOS mass match log-softmax', async () => {
    const [R, V] = [13, 1001]
    const logits = tf.tidy(() => tf.mul(tf.randomNormal([R, V]), 5)) as tf.Tensor2D
    const nextIds = Array.from({ length: R }, (_, i) => (i * 397) % V)
    const next = tf.tensor1d(nextIds, 'int32')
    const eos = [3, 1000]
    const got = gpuTokenStats(logits, next, eos, 0.7)
    const ref = tf.tidy(() => {
      const oh = tf.cast(tf.oneHot(next, V), 'float32')
      const chosen = tf.sum(tf.mul(logits, oh), 1)
      const logp = tf.sub(chosen, tf.logSumExp(logits, 1))
      const pT = tf.sum(tf.mul(tf.softmax(tf.div(logits, 0.7)), oh), 1)
      const pE = tf.sum(tf.gather(tf.softmax(logits), tf.tensor1d(eos, 'int32'), 1), 1)
      return tf.stack([logp, pT, pE], 1)
    })
    await close(got, ref, 1e-5)
    tf.dispose([logits, next])
  })

  test('tiled f32 GEMM (with and without bias) matches matMul at tile edges', async () => {
    for (const [M, K, N] of [
      [67, 50, 130],
      [1, 256, 64],
      [128, 16, 1],
    ] as const) {
      const a = tf.randomNormal([M, K]) as tf.Tensor2D
      const w = tf.randomNormal([K, N]) as tf.Tensor2D
      const b = tf.randomNormal([N]) as tf.Tensor1D
      expect(gemmPath(w)).toBe('f32')
      await close(gpuMatMul(a, w), tf.matMul(a, w), 1e-6)
      await close(
        gpuMatMul(a, w, b),
        tf.tidy(() => tf.add(tf.matMul(a, w), b)),
        1e-6,
      )
      tf.dispose([a, w, b])
    }
  })

  test('128x128 f32 GEMM: one product split into three outputs by column, with bias; B transposed', async () => {
    const [M, K] = [130, 36]
    const widths = [64, 40, 156]
    const N = 260
    const a = tf.randomNormal([M, K]) as tf.Tensor2D
    const w = tf.randomNormal([K, N]) as tf.Tensor2D
    const b = tf.randomNormal([N]) as tf.Tensor1D
    const outs = gpuMatMulSplit(a, w, widths, b)
    const refs = tf.tidy(() => tf.split(tf.add(tf.matMul(a, w), b), widths, 1))
    expect(outs).toHaveLength(3)
    for (const [i, o] of outs.entries()) await close(o, refs[i]!, 1e-6)
    const wt = tf.transpose(w) as tf.Tensor2D
    await close(gpuMatMulTransposed(a, wt), tf.matMul(a, w), 1e-6)
    tf.dispose([a, w, b, wt])
  })

  test('f16 weights: converted on the GPU, GEMM within f16 rounding of the f32 product', async () => {
    const a = tf.randomNormal([45, 96]) as tf.Tensor2D
    const w = tf.randomNormal([96, 130]) as tf.Tensor2D
    const h = await toGpuF16(w)
    expect([h.rows, h.cols]).toEqual([96, 130])
    expect(['f16-weights', 'tensor-core']).toContain(gemmPath(h))
    const got = gpuMatMul(a, h)
    const ref = tf.matMul(a, w)
    const [g, r] = await Promise.all([got.data(), ref.data()])
    const err = relL2(g, r)
    expect(err).toBeLessThan(2e-3) // f16 keeps 11 significant bits: ~3e-4 per weight
    expect(err).toBeGreaterThan(1e-6) // the weights really were rounded
    tf.dispose([a, w, h.data, got, ref])
  })

  test('a weight outside f16 range is refused, not stored as infinity', async () => {
    const w = tf.tensor2d([1, 2, 70000, 4], [2, 2])
    await expectRejectCode(toGpuF16(w), 'INVALID_ARGUMENT')
    w.dispose()
  })
})
