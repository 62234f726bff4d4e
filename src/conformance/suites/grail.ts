import { challengeIndices } from '../../grail/challenge.js'
import { deriveSketchCoefficients } from '../../grail/coefficients.js'
import { computeSketch } from '../../grail/computeSketch.js'
import { verifySketch, type VerifySketchReturnType } from '../../grail/verifySketch.js'
import { e1 } from '../../protocol/profiles.js'
import { Recorder, cases, sameArray } from '../recorder.js'
import type { Suite } from '../types.js'
import { profileForVectors } from './crypto.js'

type RefVerdict = { all_passed: boolean; passed: number; checked: number; sketch_diff_max: number }

function sameVerdict(v: VerifySketchReturnType, ref: RefVerdict): string | true {
  if (
    v.valid === ref.all_passed &&
    v.passed === ref.passed &&
    v.checked === ref.checked &&
    v.sketchDiffMax === ref.sketch_diff_max
  )
    return true
  return `got valid=${v.valid} passed=${v.passed}/${v.checked} diffMax=${v.sketchDiffMax}, reference all_passed=${ref.all_passed} passed=${ref.passed}/${ref.checked} diffMax=${ref.sketch_diff_max}`
}

/**
 * GRAIL suite over a model vector file (qwen3-*.json `proofs`/`attacks`): sketches from the
 * reference hidden states at the challenged positions, and `verifySketch` verdicts on the
 * reference fp32 commitments, the bf16 GPU commitments and every attack whose tokens match a
 * proof (so the reference hidden states apply). Attacks on other tokens need a forward pass and
 * belong to the model suite.
 */
export const grailSuites: Suite[] = [
  {
    id: 'grail.proofs',
    applies: (doc) => Array.isArray(doc.proofs) && (doc.proofs as unknown[]).length > 0,
    run: (doc) => {
      const rec = new Recorder('sketch_diff_max_vs_reference')
      const profile = profileForVectors(doc, e1)
      rec.notes.push(
        `judged with profile ${profile.id} (tolerance base ${profile.grail.toleranceBase})`,
      )
      const proofs = cases(doc, 'proofs')
      proofs.forEach((p, i) => {
        const randomness: string = (doc.randomness as string | undefined) ?? p.randomness
        const tag = `proofs[${i}]`
        rec.guard(
          `${tag} r_vec`,
          () =>
            !Array.isArray(p.r_vec) || sameArray(deriveSketchCoefficients(p.randomness), p.r_vec),
        )
        rec.guard(`${tag} challenge indices`, () =>
          sameArray(
            challengeIndices({ tokens: p.tokens, randomness: p.randomness, profile }),
            p.challenge_indices,
          ),
        )
        rec.guard(`${tag} sketches at challenges`, () => {
          const got = computeSketch(p.hidden_at_challenges as number[][], p.randomness, { profile })
          const want = (p.challenge_indices as number[]).map((j) => p.commitments[j])
          return (
            sameArray(got, want) ||
            `got ${got.slice(0, 4).join(',')}… want ${want.slice(0, 4).join(',')}…`
          )
        })
        const judge = (commitments: number[], ref: RefVerdict | undefined, what: string) => {
          if (!ref) return
          rec.guard(`${tag} ${what}`, () =>
            sameVerdict(
              verifySketch({
                tokens: p.tokens,
                commitments,
                randomness,
                hidden: p.hidden_at_challenges,
                hiddenRows: 'challenges',
                profile,
              }),
              ref,
            ),
          )
        }
        judge(p.commitments, p.verify_self, 'verify fp32 commitments')
        if (Array.isArray(p.commitments_bf16_gpu))
          judge(p.commitments_bf16_gpu, p.verify_bf16_against_fp32, 'verify bf16 commitments')
      })
      cases(doc, 'attacks').forEach((a, i) => {
        const proof = proofs.find((p) => sameArray(p.tokens, a.tokens))
        if (!proof) {
          rec.skip(
            `attack "${a.name}" changes tokens: needs the validator's forward pass (model suite)`,
          )
          return
        }
        const randomness: string = (doc.randomness as string | undefined) ?? proof.randomness
        rec.guard(`attacks[${i}] ${a.name}`, () => {
          const v = verifySketch({
            tokens: a.tokens,
            commitments: a.commitments,
            randomness,
            hidden: proof.hidden_at_challenges,
            hiddenRows: 'challenges',
            profile,
          })
          if (v.valid) return 'forgery accepted'
          return sameVerdict(v, a as RefVerdict)
        })
      })
      return rec.result()
    },
  },
]
