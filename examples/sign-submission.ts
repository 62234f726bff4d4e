// Miner side, offline: turn hidden states into commitments, sign each commit and the E3
// envelope, and check the body against the strict wire schema a validator applies.
// Run: npx tsx examples/sign-submission.ts
import {
  computeSketch,
  createHotkey,
  e3,
  parseSubmitRequest,
  rolloutsMerkleRoot,
  signCommit,
  signEnvelope,
  verifyEnvelope,
} from 'reliquary'

const hotkey = await createHotkey('//Alice') // use your own hotkey secret
const randomness = 'ab'.repeat(32) // /state.randomness of the open window, copied verbatim
const promptLength = 8
const rollouts = Array.from({ length: e3.group.rolloutsPerGroup }, (_, r) => {
  const tokens = Array.from({ length: 48 }, (_, i) => 1000 + ((i * 7 + r) % 50))
  // Stand-in hidden states: a real miner uses its model's last-layer hidden states ([T, d]).
  const data = new Float32Array(tokens.length * 64).map(
    (_, i) => Math.sin(i * 0.1 + r) * Math.exp((i % 9) / 2),
  )
  const commitments = computeSketch({ data, hiddenSize: 64 }, randomness).map((sketch) => ({
    sketch,
  }))
  const unsigned = {
    tokens,
    commitments,
    proof_version: e3.proofVersion,
    model: { name: 'my/model', layer_index: -1 },
    beacon: { randomness },
  }
  const commit = {
    ...unsigned,
    signature: signCommit(hotkey, unsigned),
    rollout: {
      prompt_length: promptLength,
      completion_length: tokens.length - promptLength,
      success: true,
      total_reward: 0.0,
      advantage: 0.0,
      token_logprobs: new Array(tokens.length - promptLength).fill(-0.5),
    },
  }
  return { tokens, reward: r % 2, commit }
})
const envelope = {
  minerHotkey: hotkey.address,
  windowStart: 42,
  promptIdx: 7,
  merkleRoot: rolloutsMerkleRoot(rollouts),
  checkpointHash: '',
  drandRound: 5_000_000,
  randomness,
  nonce: '00112233445566778899aabbccddeeff',
}
const body = {
  miner_hotkey: envelope.minerHotkey,
  prompt_idx: envelope.promptIdx,
  window_start: envelope.windowStart,
  merkle_root: envelope.merkleRoot,
  rollouts,
  checkpoint_hash: envelope.checkpointHash,
  drand_round: envelope.drandRound,
  nonce: envelope.nonce,
  envelope_signature: signEnvelope(hotkey, envelope),
}
const parsed = parseSubmitRequest(JSON.stringify(body))
console.log(
  `schema ok: ${parsed.rollouts.length} rollouts, merkle ${parsed.merkle_root.slice(0, 16)}…`,
)
console.log(`envelope verifies: ${await verifyEnvelope(envelope, parsed.envelope_signature)}`)
