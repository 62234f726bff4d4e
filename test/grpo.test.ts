/**
 * reliquary/grpo against the reference GRPO vectors (every file of the set with a `grpo`
 * section and a model directory), on the wasm backend. The test, not the library, picks the
 * backend. Reference numbers come from the vector files only; nothing is tuned to one file.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  createAdamW,
  createTrainer,
  grpoLoss,
  grpoStep,
  learningRateAt,
  parseGrpoBatch,
  resolveGrpoOptions,
  type GrpoBatch,
  type GrpoOptions,
  type GrpoRollout,
} from '../src/grpo/index.js'
import { loadModel, type CausalLM } from '../src/model/index.js'
import { filesWith, modelDir } from './_vectors.js'
import { expectRejectCode } from './_errors.js'
import { stepGrads } from './_stepGrads.js'

const PER_ROLLOUT_ABS = 1e-5
const DELTA_L2_REL = 0.01
const SAMPLE_ABS = 1e-9
const SAMPLE_REL = 0.01

let wasmPathsSet = false
async function useWasm(): Promise<void> {
  if (!wasmPathsSet) {
    const pkg = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')
    setWasmPaths(`${join(dirname(pkg), 'dist')}/`)
    wasmPathsSet = true
  }
  expect(await tf.setBackend('wasm')).toBe(true)
}

const expectCode = (p: Promise<unknown> | (() => unknown), code: string) =>
  expectRejectCode(p, code)

/** Hyper-parameters of a vector file's `grpo.hyper` as options (profile defaults for the rest). */
function optionsFromHyper(h: Record<string, any>): GrpoOptions {
  const o: GrpoOptions = {}
  if (typeof h.lr === 'number') o.learningRate = h.lr
  if (typeof h.clip === 'number') o.clipEpsilon = h.clip
  if (typeof h.kl_beta === 'number') o.klBeta = h.kl_beta
  if (typeof h.grad_clip === 'number') o.gradClipNorm = h.grad_clip
  if (typeof h.warmup === 'number') o.warmupSteps = h.warmup
  if (typeof h.cosine_max === 'number') o.cosineMaxSteps = h.cosine_max
  const a = h.adamw
  if (a && Array.isArray(a.betas)) {
    o.adamBeta1 = a.betas[0]
    o.adamBeta2 = a.betas[1]
  }
  if (a && typeof a.eps === 'number') o.adamEpsilon = a.eps
  if (a && typeof a.weight_decay === 'number') o.weightDecay = a.weight_decay
  return o
}

async function snapshot(model: CausalLM): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>()
  for (const [name, v] of model.weights)
    out.set(name, Float32Array.from((await v.data()) as Float32Array))
  return out
}

/** Completion log-probs from a full forward, float64 log-softmax in JS (independent of grpo). */
async function jsCompletionLogprobs(
  model: CausalLM,
  tokens: readonly number[],
  promptLength: number,
): Promise<number[]> {
  const { hidden, logits } = model.forward(tokens)
  const lg = (await logits.data()) as Float32Array
  tf.dispose([hidden, logits])
  const V = model.config.vocabSize
  const out: number[] = []
  for (let t = promptLength; t < tokens.length; t++) {
    const row = lg.subarray((t - 1) * V, t * V)
    let mx = -Infinity
    for (const x of row) mx = Math.max(mx, x)
    let s = 0
    for (const x of row) s += Math.exp(x - mx)
    out.push((row[tokens[t] as number] as number) - mx - Math.log(s))
  }
  return out
}

const grpoFiles = filesWith('grpo').filter(
  ({ doc }) => modelDir(doc) !== null && Array.isArray(doc.grpo?.batch),
)
const measured: string[] = []

afterAll(() => {
  if (measured.length) console.log(`[grpo parity, wasm]\n  ${measured.join('\n  ')}`)
})

test('the vector set carries at least one grpo section with a model', () => {
  expect(grpoFiles.length).toBeGreaterThan(0)
})

describe.each(grpoFiles.map((f) => [f.file, f] as const))('%s grpo (wasm)', (file, { doc }) => {
  const g = doc.grpo as Record<string, any>
  const dir = modelDir(doc)!
  const options = optionsFromHyper(g.hyper ?? {})
  const batch: GrpoBatch = parseGrpoBatch(g.batch)
  const steps = (g.steps ?? []) as Record<string, any>[]
  let stateDir = ''
  let saveAfter = -1
  /** Weights of the uninterrupted run after each reference step. */
  const afterStep: Map<string, Float32Array>[] = []

  beforeAll(async () => {
    await useWasm()
    stateDir = mkdtempSync(join(tmpdir(), 'reliquary-grpo-'))
  })
  afterAll(() => {
    if (stateDir) rmSync(stateDir, { recursive: true, force: true })
  })

  test('initial weights match param_l2_before', async () => {
    const model = await loadModel(dir)
    try {
      for (const [name, want] of Object.entries(
        (g.param_l2_before ?? {}) as Record<string, number>,
      )) {
        const d = (await model.weights.get(name)!.data()) as Float32Array
        let s = 0
        for (const x of d) s += x * x
        expect(Math.abs(Math.sqrt(s) - want) / want, name).toBeLessThan(1e-6)
      }
    } finally {
      model.dispose()
    }
  })

  test('per-rollout ppo_loss and kl before the step match the reference within 1e-5', async () => {
    const model = await loadModel(dir)
    try {
      const r = await grpoLoss(model, batch, { ...options, referenceModel: model })
      const ref = g.per_rollout_before_step as (Record<string, number> | null)[]
      expect(r.rollouts.length).toBe(ref.length)
      let worst = 0
      r.rollouts.forEach((t, i) => {
        const want = ref[i]
        if (want === null || want === undefined) {
          expect(t.used, `rollout ${i} is skipped by the reference`).toBe(false)
          return
        }
        expect(t.used, `rollout ${i}`).toBe(true)
        if (typeof want.advantage === 'number') expect(t.advantage).toBe(want.advantage)
        const dp = Math.abs((t.ppoLoss as number) - (want.ppo_loss as number))
        const dk = Math.abs((t.kl as number) - (want.kl as number))
        worst = Math.max(worst, dp, dk)
        expect(dp, `rollout ${i} ppo_loss`).toBeLessThanOrEqual(PER_ROLLOUT_ABS)
        expect(dk, `rollout ${i} kl`).toBeLessThanOrEqual(PER_ROLLOUT_ABS)
      })
      expect(r.rolloutsTotal).toBe(ref.length)
      expect(r.rolloutsUsed).toBe(ref.filter((x) => x !== null).length)
      measured.push(`${file}: per-rollout ppo_loss/kl max abs diff ${worst.toExponential(2)}`)
    } finally {
      model.dispose()
    }
  })

  test(`${steps.length} consecutive reference steps: update L2 within 1%, first 16 updates within 1e-9 + 1%, lr_after equal`, async () => {
    expect(steps.length).toBeGreaterThan(0)
    const model = await loadModel(dir)
    const trainer = createTrainer({ model, ...options })
    saveAfter = Math.max(0, steps.length - 2)
    let worstL2 = 0
    let worstSample = 0
    try {
      for (let k = 0; k < steps.length; k++) {
        const ref = steps[k]!
        const before = await snapshot(model)
        const stats = await trainer.step(batch)
        expect(stats.stepped).toBe(true)
        expect(stats.learningRateAfter, `step ${k} lr_after`).toBe(ref.lr_after)
        expect(trainer.learningRate).toBe(ref.lr_after)
        expect(stats.completedSteps).toBe(k + 1)
        expect(Number.isFinite(stats.gradNorm) && stats.gradNorm > 0).toBe(true)
        const after = await snapshot(model)
        afterStep.push(after)
        const deltaL2 = ref.delta_l2 as Record<string, number>
        const deltaSample = ref.delta_sample as Record<string, number[]>
        expect(Object.keys(deltaL2).sort()).toEqual([...model.weights.keys()].sort())
        for (const spec of model.weightSpecs) {
          const a = after.get(spec.name)!
          const b = before.get(spec.name)!
          let s = 0
          for (let i = 0; i < a.length; i++) s += ((a[i] as number) - (b[i] as number)) ** 2
          const want = deltaL2[spec.name]!
          const rel = Math.abs(Math.sqrt(s) - want) / want
          worstL2 = Math.max(worstL2, rel)
          expect(
            rel,
            `step ${k} ${spec.name} delta_l2 (got ${Math.sqrt(s)}, want ${want})`,
          ).toBeLessThanOrEqual(DELTA_L2_REL)
          // delta_sample is the first 16 values in the checkpoint's [out, in] layout: row 0, which
          // for a transposed ([in, out]) variable is column 0, element j at j·out.
          const samples = deltaSample[spec.name]!
          const stride = spec.transposed ? (spec.shape[0] as number) : 1
          samples.forEach((w, j) => {
            const idx = j * stride
            const got = (a[idx] as number) - (b[idx] as number)
            const err = Math.abs(got - w)
            worstSample = Math.max(worstSample, err / (SAMPLE_ABS + SAMPLE_REL * Math.abs(w)))
            expect(
              err,
              `step ${k} ${spec.name} delta_sample[${j}] (got ${got}, want ${w})`,
            ).toBeLessThanOrEqual(SAMPLE_ABS + SAMPLE_REL * Math.abs(w))
          })
        }
        if (k === saveAfter) await trainer.save(stateDir)
      }
      measured.push(
        `${file}: ${steps.length} steps, delta_l2 max rel ${worstL2.toExponential(2)}, delta_sample max err / (1e-9 + 1%·|ref|) ${worstSample.toFixed(3)}`,
      )
    } finally {
      trainer.dispose()
      model.dispose()
    }
  })

  test('save → restore → step is bit-identical to the uninterrupted run', async () => {
    expect(afterStep.length).toBe(steps.length)
    const model = await loadModel(dir)
    const trainer = createTrainer({ model, ...options })
    try {
      const info = await trainer.restore(stateDir)
      expect(info.completedSteps).toBe(saveAfter + 1)
      expect(trainer.completedSteps).toBe(saveAfter + 1)
      const restored = await snapshot(model)
      for (const [name, w] of afterStep[saveAfter]!)
        expect(
          Buffer.compare(Buffer.from(restored.get(name)!.buffer), Buffer.from(w.buffer)),
          name,
        ).toBe(0)
      for (let k = saveAfter + 1; k < steps.length; k++) {
        const stats = await trainer.step(batch)
        expect(stats.learningRateAfter).toBe(steps[k]!.lr_after)
      }
      const final = await snapshot(model)
      for (const [name, w] of afterStep.at(-1)!) {
        const got = final.get(name)!
        expect(
          Buffer.compare(Buffer.from(got.buffer), Buffer.from(w.buffer)),
          `${name} differs from the uninterrupted run`,
        ).toBe(0)
      }
    } finally {
      trainer.dispose()
      model.dispose()
    }
  })

  test('restore with reference: false leaves the KL reference as it is, and restores the rest', async () => {
    const model = await loadModel(dir)
    const reference = await loadModel(dir, { trainable: false })
    const trainer = createTrainer({ model, referenceModel: reference, ...options })
    try {
      const v = reference.weights.get('model.norm.weight')!
      tf.tidy(() => v.assign(tf.add(v, 0.25)))
      const mine = await snapshot(reference)
      const info = await trainer.restore(stateDir, { reference: false })
      expect(info.completedSteps).toBe(saveAfter + 1)
      const restored = await snapshot(model)
      for (const [name, w] of afterStep[saveAfter]!)
        expect(Buffer.compare(Buffer.from(restored.get(name)!.buffer), Buffer.from(w.buffer))).toBe(
          0,
        )
      expect(await snapshot(reference)).toEqual(mine)
      // The default restores the saved reference over it.
      await trainer.restore(stateDir)
      expect(await snapshot(reference)).not.toEqual(mine)
      // One step moves policy, moments and schedule; restoring without the reference brings them
      // all back: the remaining steps then end where the uninterrupted run did.
      await trainer.step(batch)
      await trainer.restore(stateDir, { reference: false })
      for (let k = saveAfter + 1; k < steps.length; k++) await trainer.step(batch)
      const final = await snapshot(model)
      for (const [name, w] of afterStep.at(-1)!)
        expect(Buffer.compare(Buffer.from(final.get(name)!.buffer), Buffer.from(w.buffer))).toBe(0)
    } finally {
      trainer.dispose()
      reference.dispose()
      model.dispose()
    }
  })

  test('restore rejects a state that does not match the trainer', async () => {
    const model = await loadModel(dir)
    try {
      // A trainer without a KL reference cannot take a state that has one.
      const noKl = createTrainer({ model, ...options, klBeta: 0 })
      await expectCode(noKl.restore(stateDir), 'GRPO_STATE_INVALID')
      noKl.dispose()
      const t = createTrainer({ model, ...options })
      await expectCode(t.restore(join(stateDir, 'no-such-dir')), 'GRPO_STATE_INVALID')
      t.dispose()
    } finally {
      model.dispose()
    }
  })

  test('3 consecutive steps leave tf.memory().numTensors where it started', async () => {
    // A small batch keeps this affordable on two cores: two trained rollouts of a mixed group cut
    // to 8 completion tokens, a rollout with mismatched log-probs (skipped) and, when the file has
    // one, a zero-variance group (skipped without a forward pass).
    const mixed = batch.find((gr) => new Set(gr.rollouts.map((r) => r.reward)).size > 1)!
    const cut = (r: GrpoRollout): GrpoRollout => ({
      ...r,
      tokens: r.tokens.slice(0, r.promptLength + 8),
      tokenLogprobs: r.tokenLogprobs.slice(0, 8),
    })
    const lo = cut(
      mixed.rollouts.find((r) => r.reward === Math.min(...mixed.rollouts.map((x) => x.reward)))!,
    )
    const hi = cut(
      mixed.rollouts.find((r) => r.reward === Math.max(...mixed.rollouts.map((x) => x.reward)))!,
    )
    const bad = { ...hi, tokenLogprobs: hi.tokenLogprobs.slice(1) }
    const flat = batch.filter((gr) => new Set(gr.rollouts.map((r) => r.reward)).size === 1)
    const small: GrpoBatch = [{ rollouts: [lo, hi, bad] }, ...flat]
    const model = await loadModel(dir)
    const trainer = createTrainer({ model, ...options })
    try {
      const before = tf.memory().numTensors
      for (let i = 0; i < 3; i++) {
        const s = await trainer.step(small)
        expect(s.rolloutsUsed).toBe(2)
        expect(s.skippedRollouts).toBe(1)
        expect(s.skippedGroups).toBe(flat.length)
        expect(s.rolloutsTotal).toBe(3 + flat.reduce((n, gr) => n + gr.rollouts.length, 0))
      }
      expect(tf.memory().numTensors).toBe(before)
    } finally {
      trainer.dispose()
      model.dispose()
    }
  })

  test('one padded pass over several rollouts (rolloutsPerPass) gives the per-rollout step', async () => {
    // Two trained rollouts of different lengths (the shorter one padded) around a skipped one,
    // then a zero-variance group: per-rollout terms, gradient norm and updated weights of one
    // step with rolloutsPerPass 3 against the default one pass per rollout.
    const mixed = batch.find((gr) => new Set(gr.rollouts.map((r) => r.reward)).size > 1)!
    const cut = (r: GrpoRollout, n: number): GrpoRollout => ({
      ...r,
      tokens: r.tokens.slice(0, r.promptLength + n),
      tokenLogprobs: r.tokenLogprobs.slice(0, n),
    })
    const lo = mixed.rollouts.find(
      (r) => r.reward === Math.min(...mixed.rollouts.map((x) => x.reward)),
    )!
    const hi = mixed.rollouts.find(
      (r) => r.reward === Math.max(...mixed.rollouts.map((x) => x.reward)),
    )!
    const bad = { ...cut(hi, 6), tokenLogprobs: hi.tokenLogprobs.slice(0, 5) }
    const flat = batch.filter((gr) => new Set(gr.rollouts.map((r) => r.reward)).size === 1)
    const small: GrpoBatch = [{ rollouts: [cut(lo, 9), bad, cut(hi, 5)] }, ...flat]
    const model = await loadModel(dir)
    const start = new Map([...model.weights].map(([n, v]) => [n, tf.clone(v)]))
    const run = async (rolloutsPerPass: number) => {
      for (const [n, v] of model.weights) v.assign(start.get(n)!)
      const trainer = createTrainer({ model, ...options, rolloutsPerPass })
      try {
        const s = await trainer.step(small)
        const w = new Map<string, Float32Array>()
        for (const [n, v] of model.weights) w.set(n, (await v.data()) as Float32Array)
        return { s, w }
      } finally {
        trainer.dispose()
      }
    }
    const [one, many] = await (async () => {
      try {
        return [await run(1), await run(3)]
      } finally {
        tf.dispose([...start.values()])
        model.dispose()
      }
    })()
    expect(many.s.rolloutsUsed).toBe(2)
    expect(many.s.rollouts.map((t) => [t.group, t.index, t.used, t.tokens])).toEqual(
      one.s.rollouts.map((t) => [t.group, t.index, t.used, t.tokens]),
    )
    many.s.rollouts.forEach((t, i) => {
      const r = one.s.rollouts[i]!
      if (!t.used) return
      expect(Math.abs(t.ppoLoss! - r.ppoLoss!)).toBeLessThan(1e-6)
      expect(Math.abs(t.kl! - r.kl!)).toBeLessThan(1e-6)
    })
    expect(Math.abs(many.s.gradNorm - one.s.gradNorm) / one.s.gradNorm).toBeLessThan(1e-5)
    for (const [n, w] of one.w) {
      const m = many.w.get(n)!
      let worst = 0
      for (let i = 0; i < w.length; i++) worst = Math.max(worst, Math.abs(m[i]! - w[i]!))
      expect(worst, n).toBeLessThan(1e-6)
    }
  })

  test('layer checkpointing (checkpointLayers) gives the same loss and gradients', async () => {
    // One group with reward variance, completions cut to 8 tokens; the gradients the step hands
    // its optimizer, with and without recomputing each layer and the lm_head log-softmax in the
    // backward pass.
    const group = batch.find((gr) => new Set(gr.rollouts.map((r) => r.reward)).size > 1)!
    const small: GrpoBatch = [
      {
        rollouts: group.rollouts.map((r) => ({
          ...r,
          tokens: r.tokens.slice(0, r.promptLength + 8),
          tokenLogprobs: r.tokenLogprobs.slice(0, 8),
        })),
      },
    ]
    const model = await loadModel(dir)
    const reference = await loadModel(dir, { trainable: false })
    try {
      const before = tf.memory().numTensors
      const plain = await stepGrads(model, reference, small, options, { rolloutsPerPass: 4 })
      const ckpt = await stepGrads(model, reference, small, options, {
        rolloutsPerPass: 4,
        checkpointLayers: true,
      })
      // One rollout per pass: each rollout alone through the padded-batch path.
      const single = await stepGrads(model, reference, small, options, {
        rolloutsPerPass: 1,
        checkpointLayers: true,
      })
      expect(tf.memory().numTensors).toBe(before)
      expect(
        Math.abs(single.step.gradNorm - plain.step.gradNorm) / plain.step.gradNorm,
      ).toBeLessThan(1e-5)
      expect(ckpt.step.rolloutsUsed).toBeGreaterThan(1)
      expect(Math.abs(ckpt.step.loss - plain.step.loss)).toBeLessThan(1e-7)
      expect(Math.abs(ckpt.step.gradNorm - plain.step.gradNorm) / plain.step.gradNorm).toBeLessThan(
        1e-6,
      )
      expect([...ckpt.grads.keys()].sort()).toEqual([...plain.grads.keys()].sort())
      for (const [n, g] of plain.grads) {
        let worst = 0
        for (let i = 0; i < g.length; i++)
          worst = Math.max(worst, Math.abs(ckpt.grads.get(n)![i]! - g[i]!))
        expect(worst, n).toBeLessThan(1e-7)
      }
    } finally {
      model.dispose()
      reference.dispose()
    }
  })

  test('creating and disposing a trainer leaves no tensors behind', async () => {
    const model = await loadModel(dir)
    const before = tf.memory().numTensors
    const t = createTrainer({ model, ...options })
    expect(tf.memory().numTensors).toBeGreaterThan(before)
    t.dispose()
    t.dispose()
    expect(tf.memory().numTensors).toBe(before)
    model.dispose()
  })

  test('loss variants (clip-higher, dual clip, token normalisation, KL) agree with a float64 recomputation', async () => {
    const model = await loadModel(dir)
    const moved = await loadModel(dir)
    const trainer = createTrainer({ model: moved, ...options })
    try {
      // A policy one step away from the reference, so ratios and KL are non-trivial.
      const mixed = batch.find((gr) => new Set(gr.rollouts.map((r) => r.reward)).size > 1)!
      await trainer.step([mixed])
      const advantages = (() => {
        const rs = mixed.rollouts.map((r) => r.reward)
        const mean = rs.reduce((a, b) => a + b, 0) / rs.length
        const std = Math.sqrt(rs.reduce((a, r) => a + (r - mean) ** 2, 0) / rs.length)
        return rs.map((r) => (r - mean) / std)
      })()
      const newLps = await Promise.all(
        mixed.rollouts.map((r) => jsCompletionLogprobs(moved, r.tokens, r.promptLength)),
      )
      const refLps = await Promise.all(
        mixed.rollouts.map((r) => jsCompletionLogprobs(model, r.tokens, r.promptLength)),
      )
      const variants: { name: string; o: GrpoOptions }[] = [
        { name: 'symmetric', o: {} },
        { name: 'clip-higher', o: { clipEpsilonLow: 0.2, clipEpsilonHigh: 0.28 } },
        { name: 'dual clip', o: { clipEpsilon: 0.1, dualClip: 1.05 } },
        { name: 'token-level', o: { normalization: 'token', klBeta: 0.3 } },
        { name: 'KL off', o: { klBeta: 0 } },
      ]
      for (const v of variants) {
        const o = resolveGrpoOptions({ ...options, ...v.o })
        const got = await grpoLoss(moved, [mixed], {
          ...o,
          referenceModel: o.klBeta > 0 ? model : null,
        })
        let loss = 0
        let ppoAll = 0
        let klAll = 0
        let tokens = 0
        let clipped = 0
        let dualHits = 0
        mixed.rollouts.forEach((r, i) => {
          const A = advantages[i]!
          let ppoSum = 0
          let klSum = 0
          r.tokenLogprobs.forEach((old, t) => {
            const nw = newLps[i]![t]!
            const ratio = Math.exp(nw - Math.fround(old))
            const s1 = ratio * A
            const s2 = Math.min(Math.max(ratio, 1 - o.clipEpsilonLow), 1 + o.clipEpsilonHigh) * A
            let obj = Math.min(s1, s2)
            let isClipped = s2 < s1
            if (o.dualClip !== null && A < 0) {
              if (obj < o.dualClip * A) {
                isClipped = true
                dualHits++
              }
              obj = Math.max(obj, o.dualClip * A)
            }
            if (isClipped) clipped++
            ppoSum -= obj
            const d = refLps[i]![t]! - nw
            if (o.klBeta > 0) klSum += Math.exp(d) - 1 - d
          })
          const n = r.tokenLogprobs.length
          tokens += n
          const term = got.rollouts[i]!
          expect(
            Math.abs((term.ppoLoss as number) - ppoSum / n),
            `${v.name} rollout ${i} ppo`,
          ).toBeLessThan(1e-5)
          expect(
            Math.abs((term.kl as number) - klSum / n),
            `${v.name} rollout ${i} kl`,
          ).toBeLessThan(1e-5)
          if (o.normalization === 'rollout') {
            loss += (ppoSum / n + o.klBeta * (klSum / n)) / mixed.rollouts.length
            ppoAll += ppoSum / n
            klAll += klSum / n
          } else {
            loss += ppoSum + o.klBeta * klSum
            ppoAll += ppoSum
            klAll += klSum
          }
        })
        const denom = o.normalization === 'rollout' ? mixed.rollouts.length : tokens
        if (o.normalization === 'token') loss /= tokens
        expect(Math.abs(got.loss - loss), `${v.name} loss`).toBeLessThan(1e-5)
        expect(Math.abs(got.ppoLoss - ppoAll / denom), `${v.name} ppoLoss`).toBeLessThan(1e-5)
        expect(Math.abs(got.kl - klAll / denom), `${v.name} kl`).toBeLessThan(1e-5)
        // Clip decisions near the boundary may flip between float32 and float64; allow one token.
        expect(
          Math.abs(got.clippedFraction * tokens - clipped),
          `${v.name} clipped tokens`,
        ).toBeLessThanOrEqual(1)
        if (v.name === 'KL off') expect(got.kl).toBe(0)
        if (v.name === 'dual clip')
          expect(dualHits, 'the dual-clip floor is exercised').toBeGreaterThan(0)
      }
      const kl = await trainer.loss([mixed])
      expect(kl.kl).toBeGreaterThan(0)
    } finally {
      trainer.dispose()
      moved.dispose()
      model.dispose()
    }
  })

  test('a batch where nothing trains changes nothing; klBeta 0 needs no reference model', async () => {
    const model = await loadModel(dir)
    try {
      const before = await snapshot(model)
      const r0 = batch[0]!.rollouts[0]!
      const nothing: GrpoBatch = [
        { rollouts: [r0, { ...r0, reward: r0.reward }] }, // zero variance
        {
          rollouts: [
            { ...r0, reward: 0, tokenLogprobs: [] },
            { ...r0, reward: 1, tokenLogprobs: r0.tokenLogprobs.slice(2) },
          ],
        },
      ]
      const trainer = createTrainer({ model, ...options })
      const s = await trainer.step(nothing)
      expect(s.stepped).toBe(false)
      expect(s.rolloutsUsed).toBe(0)
      expect(s.skippedGroups).toBe(1)
      expect(s.skippedRollouts).toBe(2)
      expect(s.rollouts.map((t) => t.skipReason)).toEqual([
        'zero_variance_group',
        'zero_variance_group',
        'missing_logprobs',
        'length_mismatch',
      ])
      expect(trainer.completedSteps).toBe(0)
      expect((await trainer.step([])).stepped).toBe(false)
      trainer.dispose()
      const after = await snapshot(model)
      for (const [name, w] of before)
        expect(
          Buffer.compare(Buffer.from(after.get(name)!.buffer), Buffer.from(w.buffer)),
          name,
        ).toBe(0)
      const noKl = createTrainer({ model, ...options, klBeta: 0 })
      expect(noKl.referenceModel).toBe(null)
      noKl.dispose()
      await expectCode(grpoLoss(model, batch, { ...options, klBeta: 0.04 }), 'INVALID_ARGUMENT')
    } finally {
      model.dispose()
    }
  })

  test('malformed batches and options throw INVALID_ARGUMENT before anything changes', async () => {
    const model = await loadModel(dir)
    const trainer = createTrainer({ model, ...options })
    try {
      const r0 = batch[0]!.rollouts[0]!
      const V = model.config.vocabSize
      await expectCode(
        trainer.step([
          {
            rollouts: [
              r0,
              { ...r0, reward: 1 - r0.reward, tokens: [...r0.tokens.slice(0, -1), V] },
            ],
          },
        ]),
        'INVALID_ARGUMENT',
      )
      await expectCode(
        trainer.step([{ rollouts: [r0, { ...r0, reward: Number.NaN }] }]),
        'INVALID_ARGUMENT',
      )
      await expectCode(
        trainer.step([
          {
            rollouts: [
              r0,
              {
                ...r0,
                reward: 1 - r0.reward,
                tokenLogprobs: [Number.NEGATIVE_INFINITY, ...r0.tokenLogprobs.slice(1)],
              },
            ],
          },
        ]),
        'INVALID_ARGUMENT',
      )
      await expectCode(
        trainer.step([{ rollouts: [r0, { ...r0, reward: 1 - r0.reward, promptLength: 1.5 }] }]),
        'INVALID_ARGUMENT',
      )
      await expectCode(trainer.step('nope' as never), 'INVALID_ARGUMENT')
      expect(trainer.completedSteps).toBe(0)
      expect(() =>
        parseGrpoBatch([
          { rollouts: [{ tokens: [1], reward: 'x', prompt_length: 1, token_logprobs: [] }] },
        ]),
      ).toThrow()
      for (const bad of [
        { learningRate: -1 },
        { clipEpsilon: 1 },
        { dualClip: 1 },
        { adamBeta1: 1 },
        { warmupSteps: 1.5 },
        { normalization: 'sum' },
      ] as GrpoOptions[]) {
        await expectCode(() => resolveGrpoOptions(bad), 'INVALID_ARGUMENT')
      }
      await expectCode(() => createTrainer({ model, referenceModel: model }), 'INVALID_ARGUMENT')
    } finally {
      trainer.dispose()
      model.dispose()
    }
  })
})

describe('schedule and optimizer primitives', () => {
  test('learningRateAt follows the reference LambdaLR (warm-up from 0.1 × base, then cosine to 0)', () => {
    const o = resolveGrpoOptions({})
    expect(learningRateAt(0, o)).toBe(o.learningRate * (1 / 10))
    expect(learningRateAt(1, o)).toBe(o.learningRate * (2 / 10))
    expect(learningRateAt(9, o)).toBe(o.learningRate)
    expect(learningRateAt(10, o)).toBe(o.learningRate)
    expect(learningRateAt(10 + 9990 / 2, o)).toBeCloseTo(o.learningRate / 2, 18)
    expect(learningRateAt(10_000, o)).toBe(0)
    expect(learningRateAt(20_000, o)).toBe(0)
    expect(() => learningRateAt(-1, o)).toThrow()
  })

  test('AdamW matches torch step by step in float32, including decoupled decay rounding', async () => {
    await useWasm()
    const p0 = [1, -0.5, 0.02, 3e-3, 1, 0.25]
    const grads = [
      [0.3, -1e-9, 2e-3, -0.7, 0, 5],
      [-0.1, 2e-9, 1e-3, 0.7, 1e-12, -5],
      [0.2, -3e-9, -4e-3, 0.1, 0, 5],
    ]
    const w = tf.variable(tf.tensor1d(p0))
    const before = tf.memory().numTensors
    const opt = createAdamW(new Map([['w', w]]), { weightDecay: 0.01 })
    // Float32 re-implementation of torch's _single_tensor_adam (decoupled) with float64 scalars.
    const f = Math.fround
    let p = p0.map(f)
    let m = p0.map(() => 0)
    let v = p0.map(() => 0)
    const lrs = [5e-7, 0.05, 1e-3]
    for (let t = 1; t <= grads.length; t++) {
      const lr = lrs[t - 1]!
      const g = grads[t - 1]!.map(f)
      const gt = tf.tensor1d(g)
      opt.apply(new Map([['w', gt]]), lr)
      gt.dispose()
      const bc1 = 1 - 0.9 ** t
      const bc2 = 1 - 0.999 ** t
      p = p.map((x) => f(x * f(1 - lr * 0.01)))
      m = m.map((x, i) => f(x + f(f(1 - 0.9) * f(g[i]! - x))))
      v = v.map((x, i) => f(f(x * f(0.999)) + f(f(1 - 0.999) * f(g[i]! * g[i]!))))
      const denom = v.map((x) => f(f(f(Math.sqrt(x)) / f(bc2 ** 0.5)) + f(1e-8)))
      p = p.map((x, i) => f(x + f(f(-lr / bc1) * f(m[i]! / denom[i]!))))
      expect(Array.from((await w.data()) as Float32Array), `step ${t}`).toEqual(p)
      expect(opt.stepOf('w')).toBe(t)
    }
    // lr·wd = 5e-9 < 2⁻²⁵: the decay factor rounds to 1 in float32, as in torch.
    expect(f(1 - 5e-7 * 0.01)).toBe(1)
    const state = await opt.readState()
    opt.writeState(state)
    opt.dispose()
    expect(tf.memory().numTensors).toBe(before)
    w.dispose()
  })

  test('grpoStep refuses an optimizer over another model and a missing KL reference', async () => {
    const files = grpoFiles
    if (files.length === 0) return
    const dir = modelDir(files[0]!.doc)!
    const a = await loadModel(dir)
    const b = await loadModel(dir, { trainable: false })
    const opt = createAdamW(a.weights)
    try {
      const batch = parseGrpoBatch(files[0]!.doc.grpo.batch)
      await expectCode(
        grpoStep(b, batch, { optimizer: opt, referenceModel: a, options: {}, completedSteps: 0 }),
        'INVALID_ARGUMENT',
      )
      await expectCode(
        grpoStep(a, batch, {
          optimizer: opt,
          referenceModel: null,
          options: {},
          completedSteps: 0,
        }),
        'INVALID_ARGUMENT',
      )
      await expectCode(() => createTrainer({ model: b }), 'INVALID_ARGUMENT')
    } finally {
      opt.dispose()
      a.dispose()
      b.dispose()
    }
  })
})
