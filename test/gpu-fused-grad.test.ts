/**
 * The fused training ops on the webgpu backend (software Vulkan in CI): RMSNorm, RoPE and SwiGLU
 * with their hand-written backward kernels (`tapeFused.ts`) against TF.js's autodiff of the
 * decoder's generic ops on the same backend, and one whole GRPO step on the tiny Qwen3 fixture
 * through them (with and without layer checkpointing) against the step on TF.js's own ops.
 */
import * as tf from '@tensorflow/tfjs-core'
import { describe, expect, test } from 'vitest'
import { tapeFusedOptions, tapeRmsNorm, tapeRope, tapeSwiGlu } from '../src/gpu/tapeFused.js'
import { tapeMatMulOptions } from '../src/gpu/tapeMatMul.js'
import { applyRope, rmsNorm } from '../src/model/_decoder.js'
import { createRopeTables } from '../src/model/_rope.js'
import { loadModel } from '../src/model/index.js'
import { ensureGradients } from '../src/_peers/ensureGradients.js'
import { stepGrads, tinyStepBatch } from './_stepGrads.js'
import { filesWith, modelDir } from './_vectors.js'
import { relL2, webGpuTests } from './_webgpu.js'

const ready = await webGpuTests()

/** Value and gradients of `sum(f(...xs) · r)` with respect to every input, for a fixed `r`. */
async function valueAndGrads(
  f: (...xs: tf.Tensor[]) => tf.Tensor,
  xs: tf.Tensor[],
  r: tf.Tensor,
): Promise<Float32Array[]> {
  const { value, grads } = tf.valueAndGrads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), r)))(xs)
  const y = tf.tidy(() => f(...xs))
  const out = await Promise.all([y, ...grads].map(async (t) => (await t.data()) as Float32Array))
  tf.dispose([value, y, ...grads])
  return out
}

/** `got` equals `ref` output by output within relative L2 `tol`. */
function expectClose(got: Float32Array[], ref: Float32Array[], label: string, tol = 1e-5) {
  expect(got.length).toBe(ref.length)
  got.forEach((g, i) => {
    expect(g.length, `${label} #${i}`).toBe(ref[i]!.length)
    expect(relL2(g, ref[i]!), `${label} #${i}`).toBeLessThan(tol)
  })
}

describe.skipIf(!ready)(
  'fused RMSNorm, RoPE and SwiGLU under the tape on the webgpu backend',
  () => {
    test('tapeRmsNorm: value, dx and dw equal TF.js autodiff of rmsNorm (rel. L2 < 1e-5)', async () => {
      await ensureGradients()
      // Wide rows (256 threads, several columns each), head rows (64 threads), a ragged width,
      // and more rows than workgroups (blocks of several rows, the last one partial); 4-D input.
      for (const shape of [
        [50, 1024],
        [37, 200],
        [29, 37],
        [2503, 128],
        [9001, 40],
        [3, 7, 5, 128],
      ]) {
        const d = shape[shape.length - 1]!
        const x = tf.randomNormal(shape)
        const w = tf.randomNormal([d], 1, 0.3)
        const r = tf.randomNormal(shape)
        const got = await valueAndGrads(
          (a, b) => tapeRmsNorm(a!, b as tf.Tensor1D, 1e-6),
          [x, w],
          r,
        )
        const ref = await valueAndGrads((a, b) => rmsNorm(a!, b as tf.Tensor1D, 1e-6), [x, w], r)
        expectClose(got, ref, shape.join('x'))
        tf.dispose([x, w, r])
      }
    })

    test('tapeRope: value and dx (the rotation by −θ) equal TF.js autodiff of applyRope', async () => {
      await ensureGradients()
      const hd = 16
      const rope = createRopeTables({
        headDim: hd,
        ropeTheta: 10000,
        ropeScaling: { type: 'default' },
      })
      for (const [shape, scale] of [
        [[2, 9, 3, hd], 0.25],
        [[9, 5, hd], 1],
      ] as const) {
        const T = shape.length === 4 ? shape[1] : shape[0]
        const t = rope.slice(0, T)
        const cos = tf.tensor3d(t.cos, [T, 1, hd])
        const sin = tf.tensor3d(t.sinSigned, [T, 1, hd])
        const x = tf.randomNormal([...shape])
        const r = tf.randomNormal([...shape])
        const got = await valueAndGrads((a) => tapeRope(a!, cos, sin, scale), [x], r)
        const ref = await valueAndGrads(
          (a) => tf.mul(applyRope(a as tf.Tensor3D, cos, sin, hd), scale),
          [x],
          r,
        )
        expectClose(got, ref, shape.join('x'))
        tf.dispose([x, r, cos, sin])
      }
    })

    test('tapeSwiGlu: value, dgate and dup equal TF.js autodiff of g·σ(g)·up', async () => {
      await ensureGradients()
      for (const shape of [
        [37, 70],
        [3, 300],
      ]) {
        const g = tf.randomNormal(shape, 0, 4)
        const u = tf.randomNormal(shape)
        const r = tf.randomNormal(shape)
        const got = await valueAndGrads((a, b) => tapeSwiGlu(a!, b!), [g, u], r)
        const ref = await valueAndGrads((a, b) => tf.mul(tf.mul(a!, tf.sigmoid(a!)), b!), [g, u], r)
        expectClose(got, ref, shape.join('x'))
        tf.dispose([g, u, r])
      }
    })

    test('a GRPO step on the fused ops, with and without layer checkpointing, gives the TF.js-op step', async () => {
      const dir = modelDir(filesWith('grpo').find(({ doc }) => modelDir(doc))!.doc)!
      const batch = tinyStepBatch()
      const model = await loadModel(dir)
      const reference = await loadModel(dir, { trainable: false })
      const options = { klBeta: 0.04 }
      try {
        tapeFusedOptions.gpu = false
        tapeMatMulOptions.gpu = false
        const old = await stepGrads(model, reference, batch, options, { checkpointLayers: false })
        tapeFusedOptions.gpu = true
        tapeMatMulOptions.gpu = true
        for (const checkpointLayers of [false, true]) {
          let now: Awaited<ReturnType<typeof stepGrads>> | undefined
          const info = await tf.profile(async () => {
            now = await stepGrads(model, reference, batch, options, { checkpointLayers })
          })
          // The fused kernels ran, forward and backward.
          for (const k of ['ReliquaryRmsNorm', 'ReliquaryTapeRmsNormGrad', 'ReliquaryTapeRope'])
            expect(info.kernelNames, k).toContain(k)
          expect(info.kernelNames).toContain('ReliquaryTapeSwiGluGrad')
          const label = `checkpointLayers ${checkpointLayers}`
          expect(now!.step.rolloutsUsed, label).toBe(old.step.rolloutsUsed)
          expect(now!.step.rolloutsUsed).toBeGreaterThan(1)
          expect(Math.abs(now!.step.loss - old.step.loss), label).toBeLessThan(
            1e-6 * Math.abs(old.step.loss),
          )
          now!.step.rollouts.forEach((t, i) => {
            const o = old.step.rollouts[i]!
            if (!t.used) return
            expect(Math.abs(t.ppoLoss! - o.ppoLoss!), label).toBeLessThan(1e-6)
            expect(Math.abs(t.kl! - o.kl!), label).toBeLessThan(1e-6)
          })
          const dn = Math.abs(now!.step.gradNorm - old.step.gradNorm) / old.step.gradNorm
          expect(dn, label).toBeLessThan(1e-5)
          expect([...now!.grads.keys()].sort()).toEqual([...old.grads.keys()].sort())
          for (const [n, g] of old.grads)
            expect(relL2(now!.grads.get(n)!, g), `${label} ${n}`).toBeLessThan(1e-4)
        }
      } finally {
        tapeFusedOptions.gpu = true
        tapeMatMulOptions.gpu = true
        model.dispose()
        reference.dispose()
      }
    })

    test('tapeRmsNorm and tapeRope refuse mismatched weights, tables and odd head sizes with INVALID_ARGUMENT', () => {
      const start = tf.memory().numTensors
      const x = tf.zeros([2, 4, 3, 8])
      const [w6, t4, t3, odd] = [
        tf.zeros([6]),
        tf.zeros([4, 1, 8]),
        tf.zeros([3, 1, 8]),
        tf.zeros([2, 4, 3, 7]),
      ]
      const invalid = expect.objectContaining({ code: 'INVALID_ARGUMENT' })
      expect(() => tapeRmsNorm(x, w6 as tf.Tensor1D, 1e-6)).toThrow(invalid)
      expect(() => tapeRope(x, t3, t4)).toThrow(invalid)
      expect(() => tapeRope(odd, t4, t4)).toThrow(invalid)
      tf.dispose([x, w6, t4, t3, odd])
      expect(tf.memory().numTensors).toBe(start)
    })
  },
)
