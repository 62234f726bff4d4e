// Validator side, offline: judge GRAIL proofs made by the Python reference miner with the SDK's
// verifySketch, and compare with the reference's own verdicts (judged at the E1 tolerance base,
// 1000). The proofs ship with the package as `reliquary/vectors/qwen3-proofs.json`.
// Run: npx tsx examples/verify-reference-proof.ts
import { createRequire } from 'node:module'
import { e1, verifySketch } from 'reliquary'

/** The fields of one shipped proof that this example reads. */
type ReferenceProof = {
  index: number
  tokens: number[]
  commitments_bf16_gpu: number[]
  hidden_at_challenges: number[][]
  verify_bf16_against_fp32: {
    all_passed: boolean
    passed: number
    checked: number
    sketch_diff_max: number
  }
}
const vectors: { randomness: string; proofs: ReferenceProof[] } = createRequire(import.meta.url)(
  'reliquary/vectors/qwen3-proofs.json',
)
let disagreements = 0
for (const proof of vectors.proofs) {
  const verdict = verifySketch({
    tokens: proof.tokens,
    commitments: proof.commitments_bf16_gpu, // proven on a bf16 GPU, judged against fp32 hidden states
    randomness: vectors.randomness, // always the validator's own window randomness
    hidden: proof.hidden_at_challenges,
    hiddenRows: 'challenges',
    profile: e1,
  })
  const reference = proof.verify_bf16_against_fp32
  if (verdict.valid !== reference.all_passed || verdict.sketchDiffMax !== reference.sketch_diff_max)
    disagreements++
  console.log(
    `proof ${proof.index}: valid=${verdict.valid} passed=${verdict.passed}/${verdict.checked} sketchDiffMax=${verdict.sketchDiffMax}`,
    `(reference: ${reference.all_passed} ${reference.passed}/${reference.checked} ${reference.sketch_diff_max})`,
  )
}
if (disagreements > 0) {
  console.error(`${disagreements} verdicts differ from the reference`)
  process.exitCode = 1
}
