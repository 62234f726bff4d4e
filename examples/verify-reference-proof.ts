// Validator side, offline: judge the Python reference miner's GRAIL proofs from the bundled
// vectors with the SDK's verifySketch (the vectors were judged at the E1 tolerance base, 1000).
// Run: npx tsx examples/verify-reference-proof.ts
import { readFileSync } from 'node:fs'
import { e1, verifySketch } from 'reliquary'

/** The fields of one proof of the vector file that this example reads. */
type ReferenceProof = {
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

const vectors = JSON.parse(
  readFileSync(new URL('../test/fixtures/reference/qwen3-s0.json', import.meta.url), 'utf8'),
) as { randomness: string; proofs: ReferenceProof[] }
let disagreements = 0
for (const [i, proof] of vectors.proofs.entries()) {
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
    `proof ${i}: valid=${verdict.valid} passed=${verdict.passed}/${verdict.checked} sketchDiffMax=${verdict.sketchDiffMax}`,
    `(reference: ${reference.all_passed} ${reference.passed}/${reference.checked} ${reference.sketch_diff_max})`,
  )
}
if (disagreements > 0) {
  console.error(`${disagreements} verdicts differ from the reference`)
  process.exitCode = 1
}
