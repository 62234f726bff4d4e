import { sha256 } from '@noble/hashes/sha2'
import { fromHex, toHex, utf8 } from '../../_utils/bytes.js'
import { pyJsonDumps } from '../../_utils/pyJson.js'
import { commitBindingDigest } from '../../crypto/commitBinding.js'
import { deriveEnvSeed } from '../../crypto/envSeed.js'
import { drandRoundForWindowE1 } from '../../drand/round.js'
import { windowRandomnessE1 } from '../../drand/windowRandomness.js'
import { logMagnitudeBucket } from '../../grail/bucket.js'
import { challengeIndices, hashTokens } from '../../grail/challenge.js'
import { coefficientsFromPrf, deriveSketchCoefficients } from '../../grail/coefficients.js'
import { computeSketch } from '../../grail/computeSketch.js'
import { prf } from '../../grail/prf.js'
import { sketchTolerance } from '../../grail/tolerance.js'
import { defineProfile, e1, e3, type ProtocolProfile } from '../../protocol/profiles.js'
import { Recorder, cases, sameArray, section, vnum } from '../recorder.js'
import type { Suite } from '../types.js'

/** The profile whose tolerance base matches a vector file's declared constants. @internal */
export function profileForVectors(
  doc: Record<string, unknown>,
  fallback: ProtocolProfile,
): ProtocolProfile {
  const c = (doc.meta as { constants?: Record<string, unknown> } | undefined)?.constants ?? {}
  const base = c.PROOF_SKETCH_TOLERANCE_BASE
  const growth = c.PROOF_SKETCH_TOLERANCE_GROWTH
  if (typeof base !== 'number') return fallback
  for (const p of [e3, e1])
    if (
      p.grail.toleranceBase === base &&
      (growth === undefined || p.grail.toleranceGrowth === growth)
    )
      return p
  return defineProfile(fallback, {
    id: `vectors-base-${base}`,
    grail: {
      toleranceBase: base,
      ...(typeof growth === 'number' ? { toleranceGrowth: growth } : {}),
    },
  })
}

/** Suites over the crypto vector files (crypto-*.json, crypto-edge-*.json). */
export const cryptoSuites: Suite[] = [
  section('crypto.prf', 'prf', (rows, rec) =>
    rows.forEach((c, i) => {
      rec.guard(
        `prf[${i}]`,
        () =>
          toHex(
            prf(
              fromHex(c.label),
              (c.parts as string[]).map((p) => fromHex(p)),
              c.out_bytes,
            ),
          ) === c.out,
      )
    }),
  ),
  section('crypto.r_vec', 'r_vec', (rows, rec) =>
    rows.forEach((c, i) => {
      rec.guard(`r_vec[${i}] randomness=${c.randomness}`, () => {
        const topk = c.topk ?? e3.grail.topk
        const profile =
          topk === e3.grail.topk
            ? e3
            : defineProfile(e3, { id: `vectors-topk-${topk}`, grail: { topk } })
        return sameArray(deriveSketchCoefficients(c.randomness, { profile }), c.r_vec)
      })
    }),
  ),
  section('crypto.r_vec_int16_min', 'r_vec_int16_min', (rows, rec) =>
    rows.forEach((c, i) => {
      rec.guard(`r_vec_int16_min[${i}] (from PRF bytes)`, () =>
        sameArray(
          coefficientsFromPrf(fromHex(c.prf), c.r_vec.length, e3.grail.coeffRange),
          c.r_vec,
        ),
      )
      rec.guard(`r_vec_int16_min[${i}] (from randomness)`, () =>
        sameArray(deriveSketchCoefficients(c.randomness), c.r_vec),
      )
    }),
  ),
  section('crypto.indices', 'indices', (rows, rec) =>
    rows.forEach((c, i) => {
      rec.guard(`indices[${i}] L=${c.seq_len} k=${c.k}`, () =>
        sameArray(
          challengeIndices({
            tokens: c.tokens,
            randomness: c.randomness,
            seqLen: c.seq_len,
            k: c.k,
          }),
          c.indices,
        ),
      )
    }),
  ),
  section('crypto.indices_in_range', 'indices_in_range', (rows, rec) =>
    rows.forEach((c, i) => {
      rec.guard(`indices_in_range[${i}] [${c.start},${c.end}) k=${c.k}`, () =>
        sameArray(
          challengeIndices({
            tokens: c.tokens,
            randomness: c.randomness,
            start: c.start,
            end: c.end,
            k: c.k,
          }),
          c.indices,
        ),
      )
    }),
  ),
  section('crypto.buckets', 'buckets', (rows, rec) =>
    rows.forEach((c, i) => {
      const v = Math.fround(vnum(c.value_f32))
      rec.guard(`buckets[${i}] v=${c.value_f32} scalar`, () => logMagnitudeBucket(v) === c.scalar)
      rec.guard(
        `buckets[${i}] v=${c.value_f32} vectorized`,
        () => logMagnitudeBucket(v) === c.vectorized,
      )
    }),
  ),
  {
    id: 'crypto.tolerance',
    applies: (doc) => Array.isArray(doc.tolerance),
    run: (doc) => {
      const rec = new Recorder()
      const profile = profileForVectors(doc, e1)
      rec.notes.push(`profile ${profile.id} (tolerance base ${profile.grail.toleranceBase})`)
      cases(doc, 'tolerance').forEach((c, i) => {
        rec.guard(
          `tolerance[${i}] p=${c.position}`,
          () => sketchTolerance(c.position, { profile }) === c.tolerance,
        )
      })
      return rec.result()
    },
  },
  section('crypto.hash_tokens', 'hash_tokens', (rows, rec) =>
    rows.forEach((c, i) => {
      rec.guard(`hash_tokens[${i}]`, () => toHex(hashTokens(c.tokens)) === c.sha256)
    }),
  ),
  section('crypto.commit_binding', 'commit_binding', (rows, rec) =>
    rows.forEach((c, i) => {
      rec.guard(
        `commit_binding[${i}] commitments hash`,
        () =>
          toHex(sha256(utf8(pyJsonDumps(c.commitments, { sortKeys: true })))) ===
          c.commitments_sha256,
      )
      rec.guard(
        `commit_binding[${i}] binding`,
        () =>
          toHex(
            commitBindingDigest({
              tokens: c.tokens,
              randomness: c.randomness,
              modelName: c.model_name,
              layerIndex: c.layer_index,
              commitments: c.commitments,
            }),
          ) === c.binding,
      )
    }),
  ),
  section('crypto.window_randomness', 'window_randomness', (rows, rec) =>
    rows.forEach((c, i) => {
      if ('with_round' in c)
        rec.guard(
          `window_randomness[${i}] with round`,
          () =>
            windowRandomnessE1(c.block_hash, {
              randomness: c.drand_randomness,
              round: c.drand_round,
            }) === c.with_round,
        )
      if ('without_round' in c)
        rec.guard(
          `window_randomness[${i}] without round`,
          () =>
            windowRandomnessE1(c.block_hash, { randomness: c.drand_randomness }) ===
            c.without_round,
        )
      if ('no_drand' in c)
        rec.guard(
          `window_randomness[${i}] no drand`,
          () => windowRandomnessE1(c.block_hash) === c.no_drand,
        )
    }),
  ),
  section('crypto.drand_round', 'drand_round', (rows, rec) =>
    rows.forEach((c, i) => {
      rec.guard(
        `drand_round[${i}]`,
        () => drandRoundForWindowE1(c.window_start_block, c.genesis_time, c.period) === c.round,
      )
    }),
  ),
  section('crypto.env_seed', 'env_seed', (rows, rec) =>
    rows.forEach((c, i) => {
      rec.guard(`env_seed[${i}]`, () => deriveEnvSeed(c.wallet, c.window_hash, c.index) === c.seed)
    }),
  ),
  section('crypto.sketch_rows', 'sketch_rows', (rows, rec) =>
    rows.forEach((c, i) => {
      const hidden = (c.hidden as unknown[][]).map((r) => Float32Array.from(r.map(vnum)))
      let got: number[] | null = null
      try {
        got = computeSketch(hidden, c.randomness)
      } catch (e) {
        rec.check(false, () => `sketch_rows[${i}]: threw ${(e as Error).message.split('\n')[0]}`)
        return
      }
      for (const path of ['batch', 'scalar'] as const) {
        if (Array.isArray(c[path]))
          rec.check(
            sameArray(got, c[path]),
            () =>
              `sketch_rows[${i}] d=${hidden[0]?.length} ${path}: got ${got!.join(',')} want ${c[path].join(',')}`,
          )
      }
    }),
  ),
]
