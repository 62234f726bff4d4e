// Shared fixtures of test/admission.test.ts and test/sealing.test.ts: a tiny reward environment, a
// deterministic fake model (hidden rows + scores) for the real verifyRollout, and builders of
// signed E3 /submit bodies.
import { rolloutsMerkleRoot } from '../src/crypto/merkle.js'
import { signEnvelope } from '../src/crypto/envelope.js'
import { createHotkey, type Hotkey } from '../src/crypto/sr25519.js'
import { drandRoundTime } from '../src/drand/round.js'
import { e3, type ProtocolProfile } from '../src/protocol/profiles.js'
import type { Problem, RewardEnvironment } from '../src/reward/environment.js'
import { proveRollout } from '../src/rollout/proveRollout.js'
import type { RolloutEvaluator } from '../src/rollout/verifyRollout.js'
import type { RolloutScores } from '../src/rollout/scores.js'
import { verifyRollout, verifyRollouts } from '../src/rollout/verifyRollout.js'
import { commitSchema } from '../src/protocol/schemas.js'
import { AdmissionPipeline } from '../src/window/admission/admissionPipeline.js'
import type { RolloutVerifier, RolloutsVerifier } from '../src/window/admission/admissionTypes.js'
import { WindowBatcher } from '../src/window/seal/windowBatcher.js'
import { Cooldown } from '../src/window/seal/cooldown.js'
import { HashDedup } from '../src/window/seal/hashDedup.js'

export const WINDOW = 500 // not a bootstrap window: σ ≥ 0.43
export const RANDOMNESS = 'b8ae25a3d8be558258bd42c986a27580c1754c29f418fd135045adcb3721cf0b'
export const ROUND = 5_000_000
/** A time inside drand round ROUND (one second past its start). */
export const T_ROUND = drandRoundTime(ROUND, { profile: e3 }) + 1
export const YES = 1
export const NO = 3
export const EOS = 2
export const VOCAB = 4096
export const HIDDEN = 32
export const ENV_SIZE = 64
export const COMPLETION = 40

/** 4 canonical prompt tokens per prompt index. */
export function promptTokens(idx: number): number[] {
  return [100 + (idx % 3000), 7, 8, 9]
}

/** Reward 1 iff the completion text contains "Y" (token YES). */
export function makeEnvironment(size = ENV_SIZE): RewardEnvironment {
  const problems: Problem[] = Array.from({ length: size }, (_, i) => ({
    prompt: `problem ${i}`,
    groundTruth: 'Y',
    id: `p${i}`,
  }))
  return Object.freeze({
    id: 'toy',
    size,
    getProblem: (i: number) => problems[((i % size) + size) % size]!,
    computeReward: (_p: Problem, text: string) => (text.includes('Y') ? 1 : 0),
  })
}

export const decode = (tokens: readonly number[]): string =>
  tokens.map((t) => (t === YES ? 'Y' : t === EOS ? '$' : '.')).join('')

/** Deterministic hidden row for (token, position). */
export function hiddenRow(token: number, pos: number, scale = 1): Float32Array {
  const row = new Float32Array(HIDDEN)
  for (let j = 0; j < HIDDEN; j++)
    row[j] = scale * Math.sin(token * 0.37 + pos * 1.13 + j * 0.71) * (1 + (j % 5))
  return row
}

/** A fake model: hidden rows from {@link hiddenRow}, constant log-probs/probabilities. */
export function fakeModel(
  o: { logprob?: number; temperedProb?: number; eosProbability?: number } = {},
): RolloutEvaluator {
  const { logprob = -0.1, temperedProb = 0.9, eosProbability = 0.5 } = o
  return {
    vocabSize: VOCAB,
    maxPositions: 4096,
    eosTokenIds: [EOS],
    async evaluate(tokens, { hiddenRows }) {
      const T = tokens.length
      const scores: RolloutScores = {
        logprobs: new Float64Array(T).fill(logprob),
        temperedProbs: new Float64Array(T).fill(temperedProb),
        eosProbability,
      }
      scores.logprobs[0] = Number.NaN
      scores.temperedProbs[0] = Number.NaN
      return { hidden: hiddenRows.map((p) => hiddenRow(tokens[p]!, p)), scores }
    },
  }
}

/** The real verifyRollouts over a fake model given a batch method that counts its calls. */
export function realBatchVerifier(
  model: RolloutEvaluator = fakeModel(),
  calls: number[] = [],
): RolloutsVerifier {
  const batched: RolloutEvaluator = {
    ...model,
    evaluateBatch: async (reqs, o) => {
      calls.push(reqs.length)
      return Promise.all(reqs.map((r) => model.evaluate(r.tokens, { ...r, ...o })))
    },
  }
  return (ps) => verifyRollouts({ rollouts: ps, model: batched, profile: ps[0]?.profile })
}

/** The real verifyRollout over a fake model. */
export function realVerifier(model: RolloutEvaluator = fakeModel()): RolloutVerifier {
  return (p) => verifyRollout({ ...p, model })
}

const commitSchemas = new WeakMap<ProtocolProfile, ReturnType<typeof commitSchema>>()

/** A cheap verifier: the commit schema only (used where the model's work is not under test). */
export const schemaOnlyVerifier: RolloutVerifier = (p) => {
  let schema = commitSchemas.get(p.profile)
  if (!schema) {
    schema = commitSchema(p.profile)
    commitSchemas.set(p.profile, schema)
  }
  return schema.safeParse(p.commit).success
    ? { ok: true, reason: null }
    : { ok: false, reason: 'bad_schema', detail: 'commit schema' }
}

/** A verifier that accepts every rollout. */
export const okVerifier: RolloutVerifier = () => ({ ok: true, reason: null })

/** A verifier answering `reasonFor(i)` for the i-th rollout of each group (by call order), ok when it returns null. */
export function scriptedVerifier(
  reasonFor: (i: number) => import('../src/protocol/profiles.js').RejectReason | null,
): RolloutVerifier {
  let i = 0
  return () => {
    const r = reasonFor(i++ % 8)
    return r === null
      ? { ok: true, reason: null }
      : { ok: false, reason: r, detail: `scripted ${r}` }
  }
}

export type RolloutSpec = {
  /** Completion carries YES (reward 1) or not. */
  correct: boolean
  /** Claimed reward (defaults to the true one). */
  reward?: number
  /** Ends with EOS. @default true */
  eos?: boolean
}

/** Completion tokens: a salt-dependent body, the YES/NO marker, EOS (or not). */
export function completionTokens(salt: number, i: number, spec: RolloutSpec): number[] {
  const body = Array.from(
    { length: COMPLETION - 2 },
    (_, j) => 10 + ((salt * 131 + i * 17 + j * 7) % 3000),
  )
  return [...body, spec.correct ? YES : NO, spec.eos === false ? 11 : EOS]
}

export const HALF: RolloutSpec[] = [true, false, true, false, true, false, true, false].map(
  (correct) => ({ correct }),
)

export type BodyOptions = {
  hotkey: Hotkey
  promptIdx: number
  windowStart?: number
  drandRound?: number
  salt?: number
  rollouts?: RolloutSpec[]
  checkpointHash?: string
  randomness?: string
  nonce?: string
  /** Build real GRAIL commits (proveRollout); otherwise a schema-valid unsigned commit. */
  prove?: boolean
  /** Leave `envelope_signature` empty (worker-stage tests; any `hotkey.address` works). */
  unsigned?: boolean
  /** Overrides per rollout index applied to the proving inputs. */
  proveWith?: (i: number) => Partial<{
    randomness: string
    prompt: number[]
    hiddenShift: number
    logprob: number
    token: number
  }>
}

/** Builds a signed E3 /submit body (a plain object). */
export async function buildBody(o: BodyOptions): Promise<Record<string, any>> {
  const {
    hotkey,
    promptIdx,
    windowStart = WINDOW,
    drandRound = ROUND,
    salt = 0,
    rollouts = HALF,
    checkpointHash = '',
    randomness = RANDOMNESS,
    nonce = 'nonce-0',
  } = o
  const out = []
  for (let i = 0; i < rollouts.length; i++) {
    const spec = rollouts[i]!
    const w = o.proveWith?.(i) ?? {}
    const prompt = w.prompt ?? promptTokens(promptIdx)
    const completion = completionTokens(salt, i, spec)
    if (w.token !== undefined) completion[0] = w.token
    const tokens = [...prompt, ...completion]
    const reward = spec.reward ?? (spec.correct ? 1 : 0)
    let commit: Record<string, any>
    if (o.prove) {
      commit = await proveRollout({
        tokens,
        promptLength: prompt.length,
        hidden: tokens.map((t, p) => hiddenRow(t + (w.hiddenShift ?? 0), p)),
        tokenLogprobs: completion.map(() => w.logprob ?? -0.1),
        randomness: w.randomness ?? randomness,
        modelName: 'toy-model',
        hotkey,
      })
    } else {
      commit = {
        tokens,
        commitments: tokens.map((t) => ({ sketch: t })),
        proof_version: 'v5',
        model: { name: 'toy-model', layer_index: -1 },
        signature: 'ab'.repeat(64),
        beacon: { randomness: w.randomness ?? randomness },
        rollout: {
          prompt_length: prompt.length,
          completion_length: completion.length,
          success: true,
          total_reward: 0,
          advantage: 0,
          token_logprobs: completion.map(() => -0.1),
        },
      }
    }
    out.push({ tokens, reward, commit })
  }
  const merkleRoot = rolloutsMerkleRoot(out as never)
  const body: Record<string, any> = {
    miner_hotkey: hotkey.address,
    prompt_idx: promptIdx,
    window_start: windowStart,
    merkle_root: merkleRoot,
    rollouts: out,
    checkpoint_hash: checkpointHash,
    drand_round: drandRound,
    nonce,
    envelope_signature: '',
  }
  if (!o.unsigned) body.envelope_signature = signBody(hotkey, body, randomness)
  return body
}

/** (Re-)signs the envelope of a body. */
export function signBody(
  hotkey: Hotkey,
  body: Record<string, any>,
  randomness = RANDOMNESS,
): string {
  return signEnvelope(hotkey, {
    minerHotkey: body.miner_hotkey,
    windowStart: body.window_start,
    promptIdx: body.prompt_idx,
    merkleRoot: body.merkle_root,
    checkpointHash: body.checkpoint_hash,
    drandRound: body.drand_round,
    randomness,
    nonce: body.nonce,
  })
}

/** A stand-in hotkey that cannot sign (for unsigned, worker-stage bodies). */
export function fakeKey(address: string): Hotkey {
  return {
    address,
    publicKey: new Uint8Array(32),
    sign: () => {
      throw new Error('fake key')
    },
  }
}

let keys: Promise<Hotkey[]> | undefined
/** //Alice, //Bob, //Charlie, //Dave, //Eve, //Ferdie. */
export function hotkeys(): Promise<Hotkey[]> {
  keys ??= Promise.all(
    ['//Alice', '//Bob', '//Charlie', '//Dave', '//Eve', '//Ferdie'].map((u) => createHotkey(u)),
  )
  return keys
}

export type Setup = {
  pipeline: AdmissionPipeline
  batcher: WindowBatcher
  cooldown: Cooldown
  hashDedup: HashDedup
}

/**
 * A window's batcher (WINDOW unless told) with the test randomness, and a cooldown and hash dedup
 * of its own unless given.
 */
export function openBatcher(
  o: {
    profile?: ProtocolProfile
    windowStart?: number
    checkpointHash?: string
    cooldown?: Cooldown
    hashDedup?: HashDedup
    openedAtSeconds?: number
  } = {},
): WindowBatcher {
  const profile = o.profile ?? e3
  return new WindowBatcher({
    windowStart: o.windowStart ?? WINDOW,
    randomness: RANDOMNESS,
    checkpointHash: o.checkpointHash ?? '',
    cooldown: o.cooldown ?? new Cooldown({ profile }),
    hashDedup: o.hashDedup ?? new HashDedup({ profile }),
    profile,
    ...(o.openedAtSeconds !== undefined ? { openedAtSeconds: o.openedAtSeconds } : {}),
  })
}

/** A pipeline with an open window (WINDOW unless told) and a batcher. */
export function setup(
  o: {
    profile?: ProtocolProfile
    verifier?: RolloutVerifier
    batchVerifier?: RolloutsVerifier
    checkpointHash?: string
    cooldown?: Cooldown
    hashDedup?: HashDedup
    openedAtSeconds?: number
    /** The validator's environment, decode and canonical prompt tokens. @default the toy ones */
    environment?: RewardEnvironment
    decode?: (tokens: readonly number[]) => string
    promptTokens?: (promptIdx: number) => readonly number[]
    windowStart?: number
  } = {},
): Setup {
  const profile = o.profile ?? e3
  const cooldown = o.cooldown ?? new Cooldown({ profile })
  const hashDedup = o.hashDedup ?? new HashDedup({ profile })
  const pipeline = new AdmissionPipeline({
    profile,
    environment: o.environment ?? makeEnvironment(),
    decode: o.decode ?? decode,
    promptTokens: o.promptTokens ?? promptTokens,
    verifyRollout: o.verifier ?? schemaOnlyVerifier,
    verifyRollouts: o.batchVerifier,
  })
  const batcher = openBatcher({ ...o, profile, cooldown, hashDedup })
  pipeline.setActiveBatcher(batcher)
  pipeline.setPhase('open')
  return { pipeline, batcher, cooldown, hashDedup }
}
