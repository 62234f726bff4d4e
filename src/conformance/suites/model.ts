import { join } from 'node:path'
import { challengeIndices } from '../../grail/challenge.js'
import { computeSketch } from '../../grail/computeSketch.js'
import { sketchDistance, sketchTolerance } from '../../grail/tolerance.js'
import { verifySketch } from '../../grail/verifySketch.js'
import { e1 } from '../../protocol/profiles.js'
import { checkDistribution, checkLogprobs, checkTermination } from '../../rollout/checks.js'
import { Recorder, cases, vnum } from '../recorder.js'
import type { Suite, SuiteContext } from '../types.js'
import { profileForVectors } from './crypto.js'

// The model runtime (and TensorFlow.js) is imported lazily so that protocol-only conformance runs
// never load it. The suites use whatever TensorFlow.js backend the caller selected.
type ModelApi = typeof import('../../model/index.js')
let api: Promise<ModelApi> | null = null
const modelApi = (): Promise<ModelApi> => (api ??= import('../../model/index.js'))

async function withModel<T>(
  doc: Record<string, unknown>,
  ctx: SuiteContext,
  rec: Recorder,
  fn: (m: Awaited<ReturnType<ModelApi['loadModel']>>, a: ModelApi) => Promise<T>,
): Promise<T | null> {
  const dir = typeof doc.model_dir === 'string' ? join(ctx.dir, doc.model_dir) : null
  if (!dir) {
    rec.skip('no model_dir in the vector file')
    return null
  }
  const a = await modelApi()
  const model = await a.loadModel(dir)
  try {
    return await fn(model, a)
  } finally {
    model.dispose()
  }
}

function relL2(got: ArrayLike<number>, ref: readonly unknown[]): number {
  let num = 0
  let den = 0
  for (let i = 0; i < ref.length; i++) {
    const r = vnum(ref[i])
    num += (got[i]! - r) ** 2
    den += r ** 2
  }
  return Math.sqrt(num / Math.max(den, 1e-30))
}

/**
 * Model suites: the SDK's own decoder forward against the reference (`forward[]`: hidden rows within
 * 1e-4 relative L2, last-position logits within 1e-3), against the reference proofs (`proofs[]`:
 * completion log-probs within 1e-4, sketches equal at ≥ 99% of positions and all within tolerance,
 * every verdict and behavioural check equal, sketch_diff_max within 10% + 300) and against every
 * attack (`attacks[]`, including those that change tokens).
 */
export const modelSuites: Suite[] = [
  {
    id: 'model.forward',
    applies: (doc) => Array.isArray(doc.forward) && typeof doc.model_dir === 'string',
    run: async (doc, ctx) => {
      const rec = new Recorder('hidden_rel_l2')
      const logitsWorst = { v: 0 }
      await withModel(doc, ctx, rec, async (model, a) => {
        const tf = await import('@tensorflow/tfjs-core')
        for (const [i, c] of cases(doc, 'forward').entries()) {
          const rows = c.hidden_rows as number[]
          const ev = await a.evaluateRollout(model, c.tokens, { hiddenRows: rows, temperature: 1 })
          const d = model.config.hiddenSize
          let worst = 0
          rows.forEach((_, j) => {
            worst = Math.max(
              worst,
              relL2(ev.hidden.data.subarray(j * d, (j + 1) * d), c.last_hidden[j]),
            )
          })
          rec.metric(worst)
          const { hidden, logits } = model.forward(c.tokens)
          const T = c.tokens.length
          const lastRow = tf.slice(logits, [T - 1, 0], [1, model.config.vocabSize])
          hidden.dispose()
          logits.dispose()
          const last = (await lastRow.data()) as Float32Array
          lastRow.dispose()
          let lw = 0
          ;(c.logits_last as unknown[]).forEach((x, v) => {
            lw = Math.max(lw, Math.abs(last[v]! - vnum(x)))
          })
          logitsWorst.v = Math.max(logitsWorst.v, lw)
          rec.check(
            worst <= 1e-4 && lw <= 1e-3,
            () =>
              `forward[${i}] (T=${T}): hidden rel L2 ${worst.toExponential(2)}, logits max abs ${lw.toExponential(2)}`,
          )
        }
      })
      rec.notes.push(`last-position logits max abs diff ${logitsWorst.v.toExponential(2)}`)
      return rec.result()
    },
  },
  {
    id: 'model.proofs',
    applies: (doc) => Array.isArray(doc.proofs) && typeof doc.model_dir === 'string',
    run: async (doc, ctx) => {
      const rec = new Recorder('sketch_diff_max_gap')
      const profile = profileForVectors(doc, e1)
      const randomness = doc.randomness as string
      let equal = 0
      let total = 0
      await withModel(doc, ctx, rec, async (model, a) => {
        for (const [i, p] of cases(doc, 'proofs').entries()) {
          const T = p.tokens.length as number
          const P = p.prompt_length as number
          const ev = await a.evaluateRollout(model, p.tokens, {
            hiddenRows: Array.from({ length: T }, (_, j) => j),
            temperature: profile.sampling.temperature,
          })
          const sk = computeSketch(ev.hidden, p.randomness, { profile })
          let within = true
          sk.forEach((s, j) => {
            if (s === p.commitments[j]) equal++
            if (
              sketchDistance(s, p.commitments[j], profile.grail.primeQ) >
              sketchTolerance(j, { profile })
            )
              within = false
          })
          total += T
          rec.check(within, () => `proofs[${i}]: a sketch of the SDK forward is outside tolerance`)
          const lpWorst = Math.max(
            ...Array.from(ev.scores.logprobs.subarray(P), (x, j) =>
              Math.abs(x - p.token_logprobs[j]),
            ),
          )
          rec.check(lpWorst <= 1e-4, () => `proofs[${i}]: token_logprobs max abs diff ${lpWorst}`)
          for (const [what, commitments, ref] of [
            ['fp32', p.commitments, p.verify_self],
            ['bf16', p.commitments_bf16_gpu, p.verify_bf16_against_fp32],
          ] as const) {
            if (!ref || !commitments) continue
            const v = verifySketch({
              tokens: p.tokens,
              commitments,
              randomness,
              hidden: ev.hidden,
              profile,
            })
            const gap = Math.abs(v.sketchDiffMax - ref.sketch_diff_max)
            rec.metric(gap)
            rec.check(
              v.valid === ref.all_passed &&
                v.checked === ref.checked &&
                gap <= 0.1 * ref.sketch_diff_max + 300,
              () =>
                `proofs[${i}] ${what}: valid=${v.valid} diffMax=${v.sketchDiffMax} vs reference ${ref.all_passed} ${ref.sketch_diff_max}`,
            )
          }
          const shape = { tokens: p.tokens, promptLength: P, completionLength: T - P }
          rec.check(
            checkTermination(shape, ev.scores, model.config.eosTokenIds, { profile }).ok ===
              p.termination_ok,
            () => `proofs[${i}]: termination differs`,
          )
          const lp = checkLogprobs(
            { ...shape, tokenLogprobs: p.token_logprobs },
            ev.scores,
            randomness,
            { profile },
          )
          rec.check(
            lp.ok === p.logprob_check.ok,
            () =>
              `proofs[${i}]: logprob check ${lp.ok} (median ${lp.medianDev}) vs ${p.logprob_check.ok}`,
          )
          const dist = checkDistribution(shape, ev.scores, { profile })
          rec.check(
            dist.ok === p.distribution.ok,
            () => `proofs[${i}]: distribution ${dist.ok} vs ${p.distribution.ok}`,
          )
        }
      })
      rec.check(
        total === 0 || equal / total >= 0.99,
        () => `sketches equal at ${equal}/${total} positions (< 99%)`,
      )
      rec.notes.push(
        `sketches equal to the reference fp32 commitments at ${equal}/${total} positions`,
      )
      return rec.result()
    },
  },
  {
    id: 'model.attacks',
    applies: (doc) => Array.isArray(doc.attacks) && typeof doc.model_dir === 'string',
    run: async (doc, ctx) => {
      const rec = new Recorder('sketch_diff_max_gap')
      const profile = profileForVectors(doc, e1)
      const randomness = doc.randomness as string
      await withModel(doc, ctx, rec, async (model, a) => {
        for (const at of cases(doc, 'attacks')) {
          const rows = challengeIndices({ tokens: at.tokens, randomness, profile })
          const ev = await a.evaluateRollout(model, at.tokens, {
            hiddenRows: rows,
            temperature: profile.sampling.temperature,
          })
          const v = verifySketch({
            tokens: at.tokens,
            commitments: at.commitments,
            randomness,
            hidden: ev.hidden,
            hiddenRows: 'challenges',
            profile,
          })
          const gap = Math.abs(v.sketchDiffMax - at.sketch_diff_max)
          rec.metric(gap)
          rec.check(
            !v.valid &&
              v.valid === at.all_passed &&
              v.checked === at.checked &&
              gap <= 0.1 * at.sketch_diff_max + 300,
            () =>
              `attack ${at.name}: valid=${v.valid} diffMax=${v.sketchDiffMax} vs reference ${at.all_passed} ${at.sketch_diff_max}`,
          )
        }
      })
      return rec.result()
    },
  },
]
