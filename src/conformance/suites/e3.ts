import { envelopeDigest } from '../../crypto/envelope.js'
import { rolloutsMerkleRoot } from '../../crypto/merkle.js'
import { toHex } from '../../_utils/bytes.js'
import { drandRoundAt } from '../../drand/round.js'
import { windowRandomnessE3 } from '../../drand/windowRandomness.js'
import { section } from '../recorder.js'
import type { Suite } from '../types.js'

/** Suites over the E3 vector files (e3-*.json): envelope, window randomness, drand rounds, merkle. */
export const e3Suites: Suite[] = [
  section('e3.envelope', 'envelope', (rows, rec) =>
    rows.forEach((c, i) => {
      rec.guard(
        `envelope[${i}]`,
        () =>
          toHex(
            envelopeDigest({
              minerHotkey: c.miner_hotkey,
              windowStart: c.window_start,
              promptIdx: c.prompt_idx,
              merkleRoot: c.merkle_root,
              checkpointHash: c.checkpoint_hash,
              drandRound: c.drand_round,
              randomness: c.randomness,
              nonce: c.nonce,
            }),
          ) === c.digest,
      )
    }),
  ),
  section('e3.window_randomness', 'window_randomness_e3', (rows, rec) =>
    rows.forEach((c, i) => {
      rec.guard(
        `window_randomness_e3[${i}]`,
        () => windowRandomnessE3(c.drand_randomness, c.drand_round) === c.randomness,
      )
    }),
  ),
  section('e3.drand_round_at', 'drand_round_at', (rows, rec) =>
    rows.forEach((c, i) => {
      rec.guard(
        `drand_round_at[${i}] now=${c.now}`,
        () => drandRoundAt(c.now, { genesisTime: c.genesis, periodSeconds: c.period }) === c.round,
      )
    }),
  ),
  section('e3.merkle', 'merkle', (rows, rec) =>
    rows.forEach((c, i) => {
      rec.guard(`merkle[${i}]`, () => rolloutsMerkleRoot(c.rollouts) === c.root)
    }),
  ),
]
