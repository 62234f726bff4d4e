// Honest submissions for the validator load tests: groups generated, screened and proven by the
// miner's own window steps (generateGroup, screenGroup, proveGroup) over the same tiny Qwen3 model
// the validator runs, then wrapped by the SDK's buildSubmitRequest. Nothing here is an expected
// value: the validator's real checks, in its model worker, judge what comes out.
import { signCommit, type SignableCommit } from '../src/crypto/commitSignature.js'
import type { Hotkey } from '../src/crypto/sr25519.js'
import { uniformPicker } from '../src/miner/uniformPicker.js'
import { generateGroup } from '../src/miner/generateGroup.js'
import { createMinerLedger } from '../src/miner/minerLedger.js'
import { createMinerLog, type MinerContext } from '../src/miner/minerContext.js'
import { planWindow } from '../src/miner/planWindow.js'
import { proveGroup } from '../src/miner/proveGroup.js'
import { resolveMinerConfig } from '../src/miner/resolveMinerConfig.js'
import { screenGroup } from '../src/miner/screenGroup.js'
import { buildSubmitRequest, type SubmissionRollout } from '../src/miner/submission.js'
import type { CausalLM } from '../src/model/loadModel.js'
import type { ModelTokenizer } from '../src/model/loadTokenizer.js'
import { defineProfile, e3, type ProtocolProfile } from '../src/protocol/profiles.js'
import type { SubmitRequest } from '../src/protocol/schemas.js'
import { problemId, type Problem, type RewardEnvironment } from '../src/reward/environment.js'

/**
 * A verifiable environment where the tiny model's groups land in the zone: the reward is the
 * parity of the completion text's code points, computed by both sides from the decoded text
 * alone. The random 2-layer model soon repeats itself, so prompts end in " in", after which its
 * next token is far from certain (about 2.6 nats at T = 0.9): rollouts of a group rarely repeat
 * and their parities differ, so nearly every group is in the bootstrap zone and a miner throws few
 * away. Prompts are equally long, so the profile's cap leaves every rollout the same room.
 */
export function parityEnvironment(size: number): RewardEnvironment {
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
  let x = 12_345
  const word = () =>
    Array.from({ length: 4 }, () => {
      x = (x * 1_103_515_245 + 12_345) % 2_147_483_648
      return letters[Math.floor((x / 2_147_483_648) * letters.length)]
    }).join('')
  const problems: Problem[] = Array.from({ length: size }, (_, i) => {
    const prompt = `#${String(i).padStart(3, '0')} ${word()} in`
    return Object.freeze({ prompt, groundTruth: '', id: problemId(prompt) })
  })
  return Object.freeze({
    id: 'parity',
    size,
    getProblem: (i: number) => problems[((i % size) + size) % size]!,
    computeReward: (_p: Problem, text: string) => {
      let sum = 0
      for (const ch of text) sum += ch.codePointAt(0)!
      return sum % 2
    },
  })
}

/**
 * e3 with one number changed: `sampling.maxNewTokensCap` = the longest prompt + 32, so every
 * rollout of the tiny model (which rarely emits EOS) ends on the cap path with exactly the 32
 * completion tokens the logprob check needs (e3's 8,192 is beyond the model's 1,024 positions).
 * Everything else, drand tolerance 0 and the per-hotkey and per-prompt caps included, is e3's.
 */
export function loadProfile(tokenizer: ModelTokenizer, env: RewardEnvironment): ProtocolProfile {
  let longest = 0
  for (let i = 0; i < env.size; i++)
    longest = Math.max(longest, tokenizer.encode(env.getProblem(i).prompt).length)
  return defineProfile(e3, { id: 'e3-load', sampling: { maxNewTokensCap: longest + 32 } })
}

/** One in-zone group an honest miner proved for window `windowN`. */
export type HonestGroup = {
  promptIdx: number
  /** The hotkey the miner proved it with. */
  prover: Hotkey
  rollouts: SubmissionRollout[]
}

export type MineOptions = {
  model: CausalLM
  tokenizer: ModelTokenizer
  environment: RewardEnvironment
  profile: ProtocolProfile
  hotkey: Hotkey
  windowN: number
  randomness: string
  /** In-zone groups wanted (prompts are tried in order 0, 1, 2, …). */
  groups: number
  /** Miner seed. @default 1 */
  seed?: number
}

/** A miner context over `o` (no validator is ever contacted: the steps used here make no request). */
export function minerContext(o: MineOptions): MinerContext {
  const config = resolveMinerConfig({
    validatorUrl: 'http://validator.invalid/',
    hotkey: o.hotkey,
    modelDir: '/unused',
    environment: o.environment,
    picker: uniformPicker({ size: o.environment.size, seed: o.seed ?? 1 }),
    profile: o.profile,
    now: () => 0,
    drand: o.profile.drand,
    validatorHotkey: o.hotkey.address,
    groupsPerWindow: o.profile.window.maxSubmissionsPerHotkey,
    seed: o.seed ?? 1,
  })
  return {
    config,
    log: createMinerLog(undefined),
    http: undefined as never,
    ledger: createMinerLedger(),
    state: {
      loading: null,
      model: o.model,
      tokenizer: o.tokenizer,
      checkpoint: { n: 0, revision: '', dir: '/unused' },
      groupCounter: 0,
      cheatCycle: 0,
      replayStash: [],
      tried: { windowN: -1, prompts: new Set() },
    },
  }
}

/** The `/state` of the open window `o.windowN` as the miner reads it. */
export function openWindow(ctx: MinerContext, o: { windowN: number; randomness: string }) {
  return planWindow(ctx, {
    state: 'open',
    window_n: o.windowN,
    anchor_block: o.windowN,
    cooldown_prompts: [],
    valid_submissions: 0,
    checkpoint_n: 0,
    checkpoint_repo_id: null,
    checkpoint_revision: null,
    randomness: o.randomness,
  })
}

/**
 * Mines `o.groups` in-zone groups on prompts 0, 1, 2, … with the miner's steps: generate M
 * rollouts with the protocol sampling, keep back what the miner keeps back (out of the zone,
 * repeated rollouts), prove the rest. Returns the groups and how many were kept back.
 */
export async function mineHonestGroups(
  o: MineOptions,
): Promise<{ groups: HonestGroup[]; skipped: number }> {
  const ctx = minerContext(o)
  const window = openWindow(ctx, o)
  const groups: HonestGroup[] = []
  let skipped = 0
  for (let p = 0; groups.length < o.groups && p < o.environment.size; p++) {
    const gen = await generateGroup(ctx, p, o.windowN, undefined)
    const g = screenGroup(ctx, window, p, gen, null)
    if (g.skipped !== null || gen === null) {
      skipped++
      continue
    }
    const rollouts = await proveGroup(ctx, window, gen, g, null)
    groups.push({ promptIdx: p, prover: o.hotkey, rollouts })
  }
  return { groups, skipped }
}

/**
 * The rollouts of `g` as `hotkey` proves them. The forward pass, the sketches and the log-probs
 * do not depend on the hotkey, only the commit signature does, so this signs the same commit body
 * with `hotkey` instead of running the forward again (the load test checks once that it equals
 * proveGroup's output for that hotkey).
 */
export function rolloutsFor(g: HonestGroup, hotkey: Hotkey): SubmissionRollout[] {
  if (hotkey.address === g.prover.address) return g.rollouts
  return g.rollouts.map((r) => {
    const c = r.commit as Record<string, unknown> & SignableCommit
    const unsigned: SignableCommit = {
      tokens: c.tokens,
      commitments: c.commitments,
      proof_version: c.proof_version,
      model: c.model,
      beacon: c.beacon,
    }
    return { ...r, commit: { ...c, signature: signCommit(hotkey, unsigned) } }
  })
}

/** The signed `/submit` body `hotkey` sends for group `g` (the SDK's buildSubmitRequest). */
export function honestBody(
  g: HonestGroup,
  hotkey: Hotkey,
  o: { windowStart: number; drandRound: number; randomness: string; nonce: string },
): SubmitRequest {
  return buildSubmitRequest({
    hotkey,
    windowStart: o.windowStart,
    promptIdx: g.promptIdx,
    rollouts: rolloutsFor(g, hotkey),
    checkpointHash: '',
    drandRound: o.drandRound,
    randomness: o.randomness,
    nonce: o.nonce,
  })
}
