// The parsers fuzzed by bench/fuzz.ts (100,000 inputs each) and test/fuzz.test.ts (a few thousand):
// every wire parser a validator or miner runs on network input, and every file parser it runs on
// downloaded or stored bytes. A target passes an input when it returns or throws a ReliquaryError.
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import * as fc from 'fast-check'
import { signEnvelope, verifyEnvelope } from '../../src/crypto/envelope.js'
import { createHotkey, signHex } from '../../src/crypto/sr25519.js'
import type { DrandChainInfo } from '../../src/drand/beacon.js'
import { verifyBeacon } from '../../src/drand/verifyBeacon.js'
import { signCustodyManifest } from '../../src/manifest/signCustodyManifest.js'
import { verifyCustodyManifest } from '../../src/manifest/verifyCustodyManifest.js'
import { manifestMessage } from '../../src/manifest/checkpointManifest.js'
import { verifyManifest } from '../../src/manifest/verifyManifest.js'
import { readSafetensors } from '../../src/model/readSafetensors.js'
import { serializeSafetensors } from '../../src/model/writeSafetensors.js'
import { e1, e3 } from '../../src/protocol/profiles.js'
import {
  parseCheckpoint,
  parseCommit,
  parseHealth,
  parseState,
  parseSubmitRequest,
  parseSubmitResponse,
  parseVerdicts,
} from '../../src/protocol/schemas.js'
import { decodeWindowArchive } from '../../src/window/index.js'
import { damagedBytes, hostileJson, mutated, nastyValue, toJsonText } from './mutate.js'

/** One fuzzed parser. */
export type FuzzTarget = {
  name: string
  kind: 'wire' | 'file'
  arbitrary: fc.Arbitrary<unknown>
  /** Runs the parser on one input; throwing anything but a ReliquaryError is a finding. */
  run(input: unknown): unknown
}

const hex = (n: number, c = 'a') => c.repeat(n)

function commitSeed(n = 40, promptLength = 8): Record<string, unknown> {
  return {
    tokens: Array.from({ length: n }, (_, i) => (i * 37) % 151_000),
    commitments: Array.from({ length: n }, (_, i) => ({ sketch: (i * 7919) % 2_147_483_647 })),
    proof_version: e3.proofVersion,
    model: { name: 'Qwen/Qwen3-4B', layer_index: -1 },
    signature: hex(128, '1'),
    beacon: { randomness: hex(64, 'b') },
    rollout: {
      prompt_length: promptLength,
      completion_length: n - promptLength,
      success: true,
      total_reward: 1,
      advantage: 0.5,
      token_logprobs: Array.from({ length: n - promptLength }, (_, i) => -0.01 * i),
    },
  }
}

function submitSeed(ordering: 'e3' | 'e1'): Record<string, unknown> {
  // The request schema leaves `commit` to the worker (a bounded record here), so a compact
  // commit-shaped object keeps each input cheap; the commit schema has its own target.
  const commit = {
    tokens: [1, 2, 3, 4, 5, 6],
    proof_version: e3.proofVersion,
    beacon: { randomness: hex(64, 'b') },
    rollout: { prompt_length: 2, completion_length: 4 },
  }
  const base: Record<string, unknown> = {
    miner_hotkey: '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY',
    prompt_idx: 17,
    window_start: 500,
    merkle_root: hex(64, 'c'),
    rollouts: Array.from({ length: 8 }, (_, i) => ({
      tokens: [1, 2, 3, 4, 5, 6],
      reward: i % 2,
      commit,
    })),
    checkpoint_hash: 'abc123',
  }
  return ordering === 'e1'
    ? { ...base, signed_round: 5_000_000 }
    : { ...base, drand_round: 5_000_000, nonce: 'n-1', envelope_signature: hex(128, '2') }
}

const stateSeed = {
  state: 'open',
  window_n: 12,
  anchor_block: 0,
  cooldown_prompts: [1, 2, 3],
  valid_submissions: 4,
  checkpoint_n: 2,
  checkpoint_repo_id: 'org/model',
  checkpoint_revision: 'r'.repeat(40),
  randomness: hex(64, 'd'),
}
const verdictsSeed = {
  verdicts: [
    { merkle_root: hex(64), window_n: 3, accepted: false, reason: 'grail_fail', ts: 1.5 },
    { merkle_root: hex(64, 'b'), window_n: 4, accepted: true, reason: 'submitted', ts: 2 },
  ],
}

function wireTargets(): FuzzTarget[] {
  const t = (name: string, seeds: unknown[], run: (x: unknown) => unknown): FuzzTarget => ({
    name,
    kind: 'wire',
    arbitrary: hostileJson(seeds),
    run,
  })
  return [
    t('POST /submit request (e3)', [submitSeed('e3')], (x) =>
      parseSubmitRequest(x, { profile: e3 }),
    ),
    t('POST /submit request (e1)', [submitSeed('e1')], (x) =>
      parseSubmitRequest(x, { profile: e1 }),
    ),
    t('commit (e3)', [commitSeed(32, 8), commitSeed(33, 30)], (x) =>
      parseCommit(x, { profile: e3 }),
    ),
    t('POST /submit response', [{ accepted: true, reason: 'submitted' }], parseSubmitResponse),
    t('GET /state', [stateSeed], parseState),
    t('GET /verdicts', [verdictsSeed], parseVerdicts),
    t('GET /health', [{ status: 'ok', active_window: 3 }], parseHealth),
    t(
      'GET /checkpoint',
      [{ checkpoint_n: 1, repo_id: 'a/b', revision: 'r', signature: `ed25519:${hex(128)}` }],
      parseCheckpoint,
    ),
  ]
}

/** Targets that need keys or fixtures (built once, asynchronously). */
async function signedTargets(): Promise<FuzzTarget[]> {
  const alice = await createHotkey('//Alice')
  const fields = {
    minerHotkey: alice.address,
    windowStart: 500,
    promptIdx: 17,
    merkleRoot: hex(64, 'c'),
    checkpointHash: 'abc123',
    drandRound: 5_000_000,
    randomness: hex(64, 'b'),
    nonce: 'n-1',
  }
  const envelope = { fields, signature: signEnvelope(alice, fields) }
  const manifest = {
    checkpoint_n: 3,
    repo_id: 'org/model',
    revision: 'f'.repeat(40),
    signature: `ed25519:${signHex(alice, manifestMessage(3, 'f'.repeat(40)))}`,
  }
  const custody = signCustodyManifest(alice, {
    baseModel: { id: 'Qwen/Qwen3-0.6B', revision: 'c1899de289a04d12100db370d81485cdf75e47ca' },
    profileId: 'e3',
    parent: null,
    checkpointN: 1,
    windows: [
      { windowN: 10, batchDigest: hex(64, '1') },
      { windowN: 11, batchDigest: hex(64, '2') },
    ],
    files: [
      { path: 'config.json', size: 10, sha256: hex(64, '3') },
      { path: 'model.safetensors', size: 99, sha256: hex(64, '4') },
    ],
  })
  return [
    {
      name: 'submit envelope signature',
      kind: 'wire',
      arbitrary: fc.oneof(mutated(envelope), nastyValue()),
      async run(x) {
        const e = (x ?? {}) as { fields?: unknown; signature?: unknown }
        const ok = await verifyEnvelope(e.fields as typeof fields, e.signature as string)
        if (typeof ok !== 'boolean') throw new Error(`verifyEnvelope returned ${typeof ok}`)
        return ok
      },
    },
    {
      name: 'checkpoint manifest (verifyManifest)',
      kind: 'file',
      arbitrary: hostileJson([manifest]),
      run: (x) => verifyManifest(x, alice.address, { expectedRepoId: 'org/model' }),
    },
    {
      name: 'custody manifest (verifyCustodyManifest)',
      kind: 'file',
      arbitrary: hostileJson([custody]),
      run: (x) => verifyCustodyManifest(x, { trustedSigners: [alice.address] }),
    },
  ]
}

function safetensorsTarget(): FuzzTarget {
  const tensors = {
    'a.weight': { shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
    'b.bias': { shape: [3], data: new Float32Array([0.5, -1, 2]) },
    scalar: { shape: [], data: new Float32Array([7]) },
  }
  const valid = [
    serializeSafetensors(tensors, { dtype: 'F32' }),
    serializeSafetensors(tensors, { dtype: 'BF16' }),
  ]
  const headerOf = (b: Uint8Array) => {
    const n = Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true))
    return {
      json: JSON.parse(Buffer.from(b.subarray(8, 8 + n)).toString()),
      data: b.subarray(8 + n),
    }
  }
  // Re-encode a mutated header over the original data, with a true or a lying length field.
  const rebuilt = fc
    .tuple(fc.constantFrom(...valid), fc.nat(2), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }))
    .chain(([file, lie, claimed]) =>
      mutated(headerOf(file).json).map((h) => {
        const { data } = headerOf(file)
        const json = Buffer.from(toJsonText(h))
        const out = new Uint8Array(8 + json.length + data.length - (lie === 1 ? 1 : 0))
        const len = lie === 2 ? claimed : BigInt(json.length)
        new DataView(out.buffer).setBigUint64(0, len, true)
        out.set(json, 8)
        out.set(data.subarray(0, out.length - 8 - json.length), 8 + json.length)
        return out
      }),
    )
  return {
    name: 'safetensors header + tensors',
    kind: 'file',
    arbitrary: fc.oneof(
      { weight: 4, arbitrary: rebuilt },
      { weight: 3, arbitrary: fc.constantFrom(...valid).chain(damagedBytes) },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }) },
    ),
    run(x) {
      const st = readSafetensors(x as Uint8Array)
      for (const n of st.names) st.readFloat32(n)
      return st
    },
  }
}

function archiveSeed(): Record<string, unknown> {
  const rollout = (r: number) => ({
    tokens: [1, 2, 3, 4, 5, 6],
    reward: r,
    completion_length: 3,
    eos_terminated: true,
    hash: hex(64, 'e'),
    completion_text: 'x = \\boxed{4}',
  })
  const diag = { sketch_diff_max: 12, lp_dev_max: 0.01, dist_q10_min: 0.2 }
  return {
    window_start: 42,
    validator_hotkey: '5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY',
    randomness: hex(64, 'b'),
    environment: 'openmathinstruct2',
    batch: [
      {
        hotkey: 'h1',
        prompt_idx: 3,
        sigma: 0.5,
        prompt: 'What is 2+2?',
        ground_truth: '4',
        rollouts: [0, 1, 0, 1, 1, 0, 1, 0].map(rollout),
        response_time: 1.25,
        merkle_root: hex(64, 'c'),
        claimed_checkpoint_hash: 'abc',
        ...diag,
      },
    ],
    runners_up: [
      {
        hotkey: 'h2',
        prompt_idx: 3,
        sigma: 0.5,
        response_time: null,
        merkle_root: hex(64),
        ...diag,
      },
    ],
    reject_summary: { grail_fail: 2 },
    rejected: [{ hotkey: 'h3', prompt_idx: 9, reason: 'grail_fail', ...diag }],
    rewards_by_hotkey: { h1: 0.125 },
    late_drops: { h4: { rate_limited: 1 } },
  }
}

function archiveTarget(): FuzzTarget {
  const seed = archiveSeed()
  const enc = (v: unknown) => Buffer.from(toJsonText(v))
  const gz = new Uint8Array(gzipSync(enc(seed)))
  return {
    name: 'window archive (decodeWindowArchive)',
    kind: 'file',
    arbitrary: fc.oneof(
      { weight: 3, arbitrary: mutated(seed).map((v) => new Uint8Array(gzipSync(enc(v)))) },
      { weight: 2, arbitrary: mutated(seed).map((v) => new Uint8Array(enc(v))) },
      { weight: 3, arbitrary: damagedBytes(gz) },
      { weight: 1, arbitrary: damagedBytes(new Uint8Array(enc(seed))) },
    ),
    run: (x) => decodeWindowArchive(x as Uint8Array),
  }
}

function beaconTarget(): FuzzTarget {
  const fixture = JSON.parse(
    readFileSync(
      new URL('../../test/fixtures/reference/drand-beacons.json', import.meta.url),
      'utf8',
    ),
  ) as {
    chains: Record<string, DrandChainInfo>
    beacons: { chain: string; round: number; signature: string; previous_signature?: string }[]
  }
  // Only the fields verifyBeacon reads, so that nearly every edit changes what it checks (an edit
  // to an unread field would only repeat the BLS pairing of the seed, ~10-40 ms each).
  const cases = fixture.beacons
    .filter((b) => fixture.chains[b.chain])
    .slice(0, 6)
    .map((b) => {
      const c = fixture.chains[b.chain]!
      return {
        chain: { public_key: c.public_key, schemeID: c.schemeID, hash: c.hash },
        beacon: {
          round: b.round,
          signature: b.signature,
          ...(b.previous_signature ? { previous_signature: b.previous_signature } : {}),
        },
      }
    })
  return {
    name: 'drand beacon (verifyBeacon)',
    kind: 'file',
    arbitrary: fc.oneof(
      { weight: 6, arbitrary: fc.constantFrom(...cases).chain((c) => mutated(c)) },
      { weight: 1, arbitrary: nastyValue() },
    ),
    run(x) {
      const c = (x ?? {}) as { chain?: unknown; beacon?: unknown }
      return verifyBeacon(c.beacon as never, c.chain as DrandChainInfo)
    },
  }
}

/** Every fuzz target, wire parsers first. */
export async function fuzzTargets(): Promise<FuzzTarget[]> {
  return [
    ...wireTargets(),
    ...(await signedTargets()),
    safetensorsTarget(),
    archiveTarget(),
    beaconTarget(),
  ]
}
