import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Recorder } from '../recorder.js'
import type { Suite } from '../types.js'

/** Per-rollout `ppo_loss` / `kl` before the step: absolute tolerance. */
const PER_ROLLOUT_ABS = 1e-5
/** Per-parameter update L2 norm: relative tolerance. */
const DELTA_L2_REL = 0.01
/** First 16 update values: absolute + relative tolerance. */
const SAMPLE_ABS = 1e-9
const SAMPLE_REL = 0.01

const isObj = (x: unknown): x is Record<string, any> =>
  typeof x === 'object' && x !== null && !Array.isArray(x)

/** `grpo.hyper` of a vector file as GRPO options (profile defaults for anything absent). */
function optionsFromHyper(h: Record<string, any>): Record<string, number> {
  const o: Record<string, number> = {}
  const put = (key: string, v: unknown): void => {
    if (typeof v === 'number') o[key] = v
  }
  put('learningRate', h.lr)
  put('clipEpsilon', h.clip)
  put('klBeta', h.kl_beta)
  put('gradClipNorm', h.grad_clip)
  put('warmupSteps', h.warmup)
  put('cosineMaxSteps', h.cosine_max)
  const a = isObj(h.adamw) ? h.adamw : {}
  if (Array.isArray(a.betas)) {
    put('adamBeta1', a.betas[0])
    put('adamBeta2', a.betas[1])
  }
  put('adamEpsilon', a.eps)
  put('weightDecay', a.weight_decay)
  return o
}

/**
 * GRPO suite over a model vector file's `grpo` section (qwen3-*.json): loads the model named by
 * `model_dir`, checks every rollout's `ppo_loss`/`kl` before the step (1e-5), then runs the
 * reference's consecutive steps with one trainer and checks each step's `lr_after` (exact), every
 * parameter's update L2 norm (1 % relative) and the first 16 update values in the checkpoint's
 * `[out, in]` layout (1e-9 + 1 %). The metric is the worst error as a fraction of its tolerance
 * (≤ 1 passes).
 *
 * Runs on the current TensorFlow.js backend (the CLI picks one; the suite never does). TensorFlow.js
 * and the GRPO code are imported only when the suite runs, so registering it keeps the
 * conformance entry point free of TensorFlow.js at import time. Cost: a few forward/backward
 * passes of the tiny model per step (tens of seconds on wasm, a few minutes on the cpu backend).
 */
export const grpoSuites: Suite[] = [
  {
    id: 'grpo.step',
    applies: (doc) => isObj(doc.grpo) && Array.isArray(doc.grpo.batch),
    run: async (doc, ctx) => {
      const rec = new Recorder('max_error_over_tolerance')
      const g = doc.grpo as Record<string, any>
      const modelDir = doc.model_dir
      if (typeof modelDir !== 'string') {
        rec.skip('no model_dir: the GRPO step needs the model checkpoint')
        return rec.result()
      }
      const dir = join(ctx.dir, modelDir)
      if (!existsSync(join(dir, 'config.json'))) {
        rec.skip(`model directory ${modelDir} is not in the vector set`)
        return rec.result()
      }
      const tf = await import('@tensorflow/tfjs-core')
      const { loadModel } = await import('../../model/loadModel.js')
      const { createTrainer, grpoLoss, parseGrpoBatch } = await import('../../grpo/index.js')
      const options = optionsFromHyper(isObj(g.hyper) ? g.hyper : {})
      const batch = parseGrpoBatch(g.batch)
      rec.notes.push(
        `backend ${tf.getBackend()}; options from grpo.hyper (profile defaults otherwise)`,
      )

      const model = await loadModel(dir)
      try {
        // Before the step: the reference model is the policy itself (KL = 0 at the first step).
        const before = await grpoLoss(model, batch, { ...options, referenceModel: model })
        const refRollouts = Array.isArray(g.per_rollout_before_step)
          ? (g.per_rollout_before_step as (Record<string, number> | null)[])
          : []
        rec.guard(
          'per_rollout_before_step count',
          () =>
            before.rollouts.length === refRollouts.length ||
            `${before.rollouts.length} rollouts, reference ${refRollouts.length}`,
        )
        refRollouts.forEach((want, i) => {
          rec.guard(`per_rollout_before_step[${i}]`, () => {
            const t = before.rollouts[i]
            if (!t) return 'missing'
            if (want === null) return !t.used || `used, but the reference skips it`
            if (!t.used) return `skipped (${t.skipReason}), but the reference trains it`
            if (typeof want.advantage === 'number' && t.advantage !== want.advantage)
              return `advantage ${t.advantage}, reference ${want.advantage}`
            const dp = Math.abs((t.ppoLoss as number) - want.ppo_loss!)
            const dk = Math.abs((t.kl as number) - want.kl!)
            rec.metric(Math.max(dp, dk) / PER_ROLLOUT_ABS)
            return (
              (dp <= PER_ROLLOUT_ABS && dk <= PER_ROLLOUT_ABS) ||
              `ppo_loss ${t.ppoLoss} (ref ${want.ppo_loss}), kl ${t.kl} (ref ${want.kl})`
            )
          })
        })

        const steps = Array.isArray(g.steps) ? (g.steps as Record<string, any>[]) : []
        const trainer = createTrainer({ model, ...options })
        try {
          for (let k = 0; k < steps.length; k++) {
            const ref = steps[k]!
            const prev = new Map<string, Float32Array>()
            for (const [name, v] of model.weights)
              prev.set(name, Float32Array.from((await v.data()) as Float32Array))
            const stats = await trainer.step(batch)
            rec.guard(
              `steps[${k}] lr_after`,
              () =>
                stats.learningRateAfter === ref.lr_after ||
                `lr_after ${stats.learningRateAfter}, reference ${ref.lr_after}`,
            )
            const deltaL2 = isObj(ref.delta_l2) ? (ref.delta_l2 as Record<string, number>) : {}
            const deltaSample = isObj(ref.delta_sample)
              ? (ref.delta_sample as Record<string, number[]>)
              : {}
            for (const spec of model.weightSpecs) {
              const v = model.weights.get(spec.name)
              if (!v) continue
              const a = (await v.data()) as Float32Array
              const b = prev.get(spec.name)!
              const want = deltaL2[spec.name]
              if (typeof want === 'number') {
                rec.guard(`steps[${k}] delta_l2 ${spec.name}`, () => {
                  let s = 0
                  for (let i = 0; i < a.length; i++) s += ((a[i] as number) - (b[i] as number)) ** 2
                  const rel = Math.abs(Math.sqrt(s) - want) / want
                  rec.metric(rel / DELTA_L2_REL)
                  return (
                    rel <= DELTA_L2_REL ||
                    `update L2 ${Math.sqrt(s)}, reference ${want} (rel ${rel.toExponential(2)})`
                  )
                })
              }
              const samples = deltaSample[spec.name]
              if (Array.isArray(samples)) {
                rec.guard(`steps[${k}] delta_sample ${spec.name}`, () => {
                  // Row 0 of the checkpoint's [out, in] tensor; a transposed ([in, out]) variable
                  // holds it as column 0, so element j sits at j·out.
                  const stride = spec.transposed ? (spec.shape[0] as number) : 1
                  for (let j = 0; j < samples.length; j++) {
                    const got = (a[j * stride] as number) - (b[j * stride] as number)
                    const tol = SAMPLE_ABS + SAMPLE_REL * Math.abs(samples[j]!)
                    const err = Math.abs(got - samples[j]!)
                    rec.metric(err / tol)
                    if (!(err <= tol)) return `[${j}] update ${got}, reference ${samples[j]}`
                  }
                  return true
                })
              }
            }
          }
        } finally {
          trainer.dispose()
        }
      } finally {
        model.dispose()
      }
      return rec.result()
    },
  },
]
