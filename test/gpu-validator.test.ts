/**
 * The validator's verification on the webgpu backend (startValidatorCompute, as createValidator
 * starts it): the model worker opens its own Dawn device and evaluates many rollouts in one
 * batched call (packed forwards) with the verdicts of every reference vector (honest fp32 proofs,
 * the same rollouts proven in bf16 on a GPU, every attack): f32 under e1, f16 (weights loaded by
 * loadGpuModel) under e3 beside the CPU path; the look-ahead batch verifier over the worker gives
 * the per-rollout verdicts; the in-process f16 evaluator follows the verify model's weights. CI
 * runs it on software Vulkan.
 */
import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { challengeIndices } from '../src/grail/challenge.js'
import { verifySketch } from '../src/grail/verifySketch.js'
import { e1, e3, type ProtocolProfile } from '../src/protocol/profiles.js'
import { gpuEvaluateRollout, prepareGpuModel } from '../src/gpu/index.js'
import { createValidatorEvaluator } from '../src/validator/createValidatorEvaluator.js'
import {
  disposeValidatorModels,
  loadValidatorModels,
} from '../src/validator/loadValidatorModels.js'
import type { ValidatorModels } from '../src/validator/validatorState.js'
import { startValidatorCompute } from '../src/validator/startValidatorCompute.js'
import type {
  RolloutVerdict,
  RolloutVerifierParameters,
} from '../src/window/admission/admissionTypes.js'
import { createHotkey } from '../src/crypto/sr25519.js'
import { proveRollout } from '../src/rollout/proveRollout.js'
import { useBackend } from '../src/model/backend.js'
import { loadModel } from '../src/model/loadModel.js'
import { evaluateRollout } from '../src/rollout/evaluateRollout.js'
import { filesWith, modelDir } from './_vectors.js'
import { maxAbs, webGpuTests } from './_webgpu.js'

const ready = await webGpuTests()
const file = filesWith('proofs').find(({ doc }) => modelDir(doc))
const doc = (file?.doc ?? {}) as Record<string, any>
const dir = file ? modelDir(doc)! : ''
let models: ValidatorModels
beforeAll(async () => {
  if (ready && file) models = await loadValidatorModels({ modelDir: dir, profile: e3 })
})
afterAll(() => {
  if (models) disposeValidatorModels(models)
})

type Case = { name: string; tokens: number[]; commitments: number[]; expected: boolean }
/** The eight short proofs (fp32 and bf16-GPU commitments) and every attack, with reference verdicts. */
function cases(): Case[] {
  const proofs = (doc.proofs as Record<string, any>[]).filter((p) => p.tokens.length < 100)
  return [
    ...proofs.flatMap((p, i) => [
      {
        name: `proof ${i}`,
        tokens: p.tokens,
        commitments: p.commitments,
        expected: p.verify_self.all_passed,
      },
      {
        name: `proof ${i} bf16`,
        tokens: p.tokens,
        commitments: p.commitments_bf16_gpu,
        expected: p.verify_bf16_against_fp32.all_passed,
      },
    ]),
    ...(doc.attacks as Record<string, any>[]).map((a) => ({
      name: `attack ${a.name}`,
      tokens: a.tokens,
      commitments: a.commitments,
      expected: a.all_passed,
    })),
  ]
}

/** The hidden rows of an evaluation (both evaluators return them as `{ data, hiddenSize }`). */
const rows = (e: { hidden: unknown }) => (e.hidden as { data: Float32Array }).data

/** Sketch verdicts of `all` from evaluations of `seqs` (the distinct token sequences). */
function verdictsOf(
  all: Case[],
  seqs: number[][],
  evs: readonly { hidden: unknown }[],
  profile: ProtocolProfile,
): Record<string, boolean> {
  const key = (t: number[]) => t.join(',')
  const at = new Map(seqs.map((t, i) => [key(t), i]))
  return Object.fromEntries(
    all.map((c) => [
      c.name,
      verifySketch({
        tokens: c.tokens,
        commitments: c.commitments,
        randomness: doc.randomness,
        hidden: evs[at.get(key(c.tokens))!]!.hidden as { data: Float32Array; hiddenSize: number },
        hiddenRows: 'challenges',
        profile,
      }).valid,
    ]),
  )
}

/** The CPU path's verdicts (TF.js ops on the cpu backend, float32), one forward per sequence. */
async function cpuVerdicts(all: Case[], seqs: number[][], profile: ProtocolProfile) {
  await useBackend('cpu')
  const model = await loadModel(dir, { trainable: false })
  try {
    const evs = []
    for (const t of seqs)
      evs.push(
        await evaluateRollout(model, t, {
          hiddenRows: challengeIndices({ tokens: t, randomness: doc.randomness, profile }),
          temperature: profile.sampling.temperature,
        }),
      )
    return verdictsOf(all, seqs, evs, profile)
  } finally {
    model.dispose()
    await tf.setBackend('webgpu')
  }
}

describe.skipIf(!ready || !file)('validator verification on the webgpu backend', () => {
  test.each([
    ['f32', e1],
    ['f16', e3],
  ] as const)(
    'model worker at %s: one batched call, every reference verdict',
    async (precision, profile: ProtocolProfile) => {
      // The validator's compute as createValidator starts it: the model worker on webgpu.
      const parts = await startValidatorCompute({
        compute: 'worker',
        precision,
        models,
        modelDir: dir,
        grpo: { profile: e3 },
        profile,
      })
      const worker = parts.modelWorker!
      try {
        const all = cases()
        // Unique sequences: the fp32 and bf16 commitments of a proof share one evaluation.
        const seqs = [...new Map(all.map((c) => [c.tokens.join(','), c.tokens])).values()]
        const rowsOf = seqs.map((t) =>
          challengeIndices({ tokens: t, randomness: doc.randomness, profile }),
        )
        const evs = await worker.evaluator.evaluateBatch!(
          seqs.map((t, i) => ({ tokens: t, hiddenRows: rowsOf[i]! })),
          { temperature: profile.sampling.temperature },
        )
        expect(evs).toHaveLength(seqs.length)
        const got = verdictsOf(all, seqs, evs, profile)
        // Under e1 the reference's own verdicts; under e3 (whose sketch rules differ from the era the
        // vectors were judged under) the CPU path's on the same vectors.
        const expected =
          profile === e1
            ? Object.fromEntries(all.map((c) => [c.name, c.expected]))
            : await cpuVerdicts(all, seqs, profile)
        expect(got).toEqual(expected)
        // The admission's batch verifier: a submission judged with the next one queued, whose
        // verdicts are kept for its turn; each verdict as the worker's per-rollout verifier's.
        const alice = await createHotkey('//Alice')
        const two = (doc.proofs as Record<string, any>[]).slice(0, 2)
        const full = await worker.evaluator.evaluateBatch!(
          two.map((p) => ({
            tokens: p.tokens,
            hiddenRows: p.tokens.map((_: number, j: number) => j),
          })),
          { temperature: profile.sampling.temperature },
        )
        const params: RolloutVerifierParameters[] = []
        for (const [i, p] of two.entries()) {
          const commit = await proveRollout({
            tokens: p.tokens,
            promptLength: p.prompt_length,
            hidden: full[i]!.hidden,
            tokenLogprobs: Array.from(full[i]!.scores.logprobs.subarray(p.prompt_length)),
            randomness: doc.randomness,
            modelName: 'qwen3-tiny',
            hotkey: alice,
            profile,
          })
          const promptTokens = p.tokens.slice(0, p.prompt_length)
          params.push({
            commit,
            minerHotkey: alice.address,
            randomness: doc.randomness,
            promptTokens,
            profile,
          })
        }
        const batched = [
          ...(await parts.verifyRollouts!([params[0]!], () => [[params[1]!]])),
          ...(await parts.verifyRollouts!([params[1]!])),
        ]
        const strip = (v: RolloutVerdict) => [v.ok, v.reason, v.detail, v.grail?.sketchDiffMax]
        for (const [i, v] of batched.entries())
          expect(strip(v)).toEqual(strip(await parts.verifyRollout(params[i]!)))
        expect(batched.map((v) => v.reason === 'grail_fail')).toEqual([false, false])
      } finally {
        await parts.close()
      }
    },
  )

  test('in-process f16 evaluator: loaded from the checkpoint, then follows the verify model', async () => {
    const p = (doc.proofs as Record<string, any>[])[0]!
    const o = { hiddenRows: p.challenge_indices as number[], temperature: 0.9 }
    const ev = await createValidatorEvaluator(models.verifyModel, {
      precision: 'f16',
      modelDir: dir,
    })
    const w = [...models.verifyModel.weights.values()].find((v) => v.shape.length === 2)!
    const saved = tf.clone(w)
    try {
      const before = await ev.evaluate(p.tokens, o)
      tf.tidy(() => w.assign(tf.mul(saved, 1.5)))
      const after = await ev.evaluate(p.tokens, o)
      const fresh = await prepareGpuModel(models.verifyModel, { precision: 'f16' })
      const expected = await gpuEvaluateRollout(fresh, p.tokens, o).finally(() => fresh.dispose())
      expect(maxAbs(rows(after), rows(before))).toBeGreaterThan(1e-3)
      expect(maxAbs(rows(after), expected.hidden.data)).toBe(0)
      tf.tidy(() => w.assign(saved))
      const back = await ev.evaluate(p.tokens, o)
      expect(maxAbs(rows(back), rows(before))).toBe(0)
    } finally {
      tf.tidy(() => w.assign(saved))
      saved.dispose()
      ev.dispose()
    }
  })
})
