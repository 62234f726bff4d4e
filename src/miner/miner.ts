import { createHash } from 'node:crypto'
import type { Hotkey } from '../crypto/sr25519.js'
import { drandRoundAt, drandRoundTime } from '../drand/round.js'
import { ReliquaryError, invalidArgument, isReliquaryError } from '../errors/base.js'
import { downloadCheckpoint } from '../hub/downloadCheckpoint.js'
import { generate } from '../model/generate.js'
import { loadModel, type CausalLM } from '../model/loadModel.js'
import { loadTokenizer, type ModelTokenizer } from '../model/loadTokenizer.js'
import { proveWithModel } from '../model/proveWithModel.js'
import { DEFAULT_PROFILE, type ProtocolProfile } from '../protocol/profiles.js'
import {
  parseCheckpoint,
  parseState,
  parseSubmitResponse,
  parseVerdicts,
  type Commit,
  type WindowState,
} from '../protocol/schemas.js'
import type { RewardEnvironment } from '../reward/environment.js'
import { groupSigma, isBootstrapWindow, isInZone } from '../reward/groups.js'
import { CHEAT_KINDS, fabricateSketches, zoneShapedRewards, type CheatKind } from './cheat.js'
import type { PromptPicker } from './frontier.js'
import { buildSubmitRequest, type SubmissionRollout } from './submission.js'

/** How a miner behaves: `honest` mines by the protocol; `cheat` is the demo's adversary (see {@link CheatKind}). */
export type MinerStrategy = 'honest' | 'cheat'

/** What a group was: an honest one, or one of the cheating behaviours. */
export type MinerGroupKind = 'honest' | CheatKind

/** Where a miner downloads announced checkpoints from, and what they must match. */
export type MinerHubOptions = {
  /** Hub base URL. @default HUB_DEFAULTS.hubUrl (the public Hugging Face Hub) */
  hubUrl?: string | undefined
  /** Where verified snapshots are kept (`{cacheDir}/{namespace}/{name}/{revision}`). */
  cacheDir: string
  /** The base model every custody link must name, pinned out of band (`downloadCheckpoint`'s `expected.baseModel`). */
  baseModel: { readonly id: string; readonly revision: string }
  /** When set, every custody link must carry this profile id. */
  profileId?: string | undefined
  /** Read token for a private repo (`hf_…`). */
  accessToken?: string | undefined
  /** Refuse a Hub that does not serve commit titles. @default false */
  requireCommitTitle?: boolean | undefined
}

/** One structured log line of a miner. */
export type MinerLogEntry = {
  readonly level: 'debug' | 'info' | 'warn'
  /** Machine-readable event name (`state_wait`, `checkpoint_loaded`, `group_submitted`, …). */
  readonly event: string
  readonly message: string
  readonly data?: Readonly<Record<string, unknown>> | undefined
}

/** Parameters of {@link createMiner}. */
export type CreateMinerParameters = {
  /** Validator base URL, e.g. `http://1.2.3.4:8888`. */
  validatorUrl: string
  /** The miner hotkey: signs commits and envelopes. */
  hotkey: Hotkey
  /** The bootstrap checkpoint directory (weights, config, tokenizer), used while `/state.checkpoint_n` is 0. */
  modelDir: string
  /** The task source; the validator must run the same one. */
  environment: RewardEnvironment
  /** Chooses the prompts; receives each group's rewards once its outcome is final. */
  picker: PromptPicker
  /** E3-ordered profile (drand round ordering, envelope signatures). @default DEFAULT_PROFILE */
  profile?: ProtocolProfile | undefined
  /** Current unix time in seconds (injected clock): the drand round of each envelope. */
  now: () => number
  /** drand chain timing, as the validator uses it. */
  drand: { readonly genesisTime: number; readonly periodSeconds: number }
  /** The validator hotkey (SS58 or public key) that must have signed announced checkpoints. */
  validatorHotkey: string | Uint8Array
  /** Hub access for announced checkpoints. Without it, a validator announcing checkpoint ≥ 1 makes `runWindow` throw. */
  hub?: MinerHubOptions | undefined
  /** Groups attempted per `runWindow` (also bounded by the per-hotkey quota left in the window). */
  groupsPerWindow: number
  /** Seed of the sampling seeds (per window, prompt, group and rollout). */
  seed: number
  /** @default 'honest' */
  strategy?: MinerStrategy | undefined
  /**
   * Skip groups whose (real) rewards are out of the zone instead of submitting them: the
   * validator would answer `out_of_zone`, and each submission costs quota. @default true
   */
  skipOutOfZone?: boolean | undefined
  /**
   * A rollout identical to an earlier one of its group would get the whole group rejected
   * (`hash_duplicate`, PROTOCOL.md §4.3 worker step 7); small or collapsed models repeat
   * themselves often. Such a rollout is resampled with a fresh seed up to this many times; if it
   * still repeats, the group is not submitted (`skipped: 'duplicate_rollouts'`). 0 never
   * resamples. Resampling only on exact repeats leaves every other rollout as sampled.
   * @default 4
   */
  duplicateResamples?: number | undefined
  /** `fetch` for the validator and the Hub (a proxy, a test double). @default globalThis.fetch */
  fetch?: typeof fetch | undefined
  /** Receives structured log entries. Never called with secrets. */
  log?: ((entry: MinerLogEntry) => void) | undefined
  /** Delay between `/state` and `/verdicts` polls. @default 1000 */
  pollIntervalMs?: number | undefined
  /** How long `runWindow` waits for the worker verdicts of its submissions. @default 60000 */
  verdictTimeoutMs?: number | undefined
  /**
   * With less than this left in the current drand round, wait for the next round before signing:
   * the validator stamps the round at arrival with tolerance 0. @default 0.25
   */
  roundMarginSeconds?: number | undefined
}

/** One group of a window, as the miner saw it. */
export type MinerGroupReport = {
  readonly promptIdx: number
  readonly kind: MinerGroupKind
  /** The window the group's rollouts were generated and proven in (earlier than the report's window for a replay). */
  readonly provenInWindow: number
  /** The real rewards (`environment.computeReward` on the decoded completions). */
  readonly rewards: readonly number[]
  /** The rewards sent (differ from `rewards` only for `lie_reward`). */
  readonly claimedRewards: readonly number[]
  /** Population σ of the claimed rewards. */
  readonly sigma: number
  /** Why the group was not submitted, or null. */
  readonly skipped: 'out_of_zone' | 'duplicate_rollouts' | 'prompt_too_long' | null
  readonly merkleRoot: string | null
  readonly drandRound: number | null
  /** The `/submit` answer: HTTP status and `{accepted, reason}` (or the reason the status maps to). */
  readonly response: {
    readonly httpStatus: number
    readonly accepted: boolean
    readonly reason: string
  } | null
  /** `accepted` / `rejected` once final, `pending` while the worker verdict is outstanding, `skipped`. */
  readonly outcome: 'accepted' | 'rejected' | 'pending' | 'skipped'
  /** The final reason (`accepted`, a reject reason, `http_<status>` for an unexpected status), or null. */
  readonly reason: string | null
}

/** Counts of one window (or of every window, in {@link MinerStats.total}). */
export type MinerWindowStats = {
  /** The window number (−1 in totals). */
  readonly windowN: number
  /** Groups posted to `/submit`. */
  readonly submitted: number
  /** Groups with a final `accepted` verdict. */
  readonly accepted: number
  /** Groups with a final reject, by reason. */
  readonly rejected: Readonly<Record<string, number>>
  /** Groups generated but not submitted (local zone filter, unresolved duplicate rollouts, prompt too long). */
  readonly skipped: number
  /** Submitted groups whose worker verdict has not been seen yet. */
  readonly pending: number
  /** accepted / (accepted + rejected); null before any final verdict. */
  readonly acceptanceRate: number | null
}

/** The miner's counters. */
export type MinerStats = {
  /** Per window, ascending. */
  readonly windows: readonly MinerWindowStats[]
  readonly total: MinerWindowStats
}

/** What one {@link Miner.runWindow} did. */
export type MinerWindowReport = {
  readonly windowN: number
  readonly randomness: string
  /** The checkpoint mined with: number, the wire `checkpoint_hash`, its directory, and whether this run downloaded it. */
  readonly checkpoint: {
    readonly n: number
    readonly hash: string
    readonly dir: string
    readonly downloaded: boolean
  }
  readonly groups: readonly MinerGroupReport[]
  /** This window's counters after the run (including groups of earlier runs in the same window). */
  readonly stats: MinerWindowStats
}

/** A running miner (see {@link createMiner}). */
export type Miner = {
  /**
   * Mines the validator's open window once: waits for `/state` to be `open` with randomness (and
   * with quota left for this hotkey), syncs the checkpoint, generates, proves and submits up to
   * `groupsPerWindow` groups, then collects their verdicts. Calls run one after another.
   * @param signal - Aborts waiting, generation and requests; the promise rejects with its reason.
   */
  runWindow(signal?: AbortSignal): Promise<MinerWindowReport>
  /** Counters per window and in total. */
  stats(): MinerStats
  /** Frees the model once the running window (if any) ends; later `runWindow` calls reject. */
  dispose(): void
}

type GroupRecord = {
  promptIdx: number
  kind: MinerGroupKind
  provenInWindow: number
  rewards: number[]
  claimedRewards: number[]
  sigma: number
  skipped: 'out_of_zone' | 'duplicate_rollouts' | 'prompt_too_long' | null
  merkleRoot: string | null
  drandRound: number | null
  windowN: number
  response: { httpStatus: number; accepted: boolean; reason: string } | null
  outcome: 'accepted' | 'rejected' | 'pending' | 'skipped'
  reason: string | null
  /** Whether the picker has been told about this group. */
  observed: boolean
  /** Whether the picker picked this prompt for this group (replays are not picked). */
  picked: boolean
}

type WindowCounters = {
  windowN: number
  submitted: number
  accepted: number
  rejected: Map<string, number>
  skipped: number
  pending: number
}

/** Honest, signed, proven material of one group, kept by the cheater for later replay. */
type ReplayMaterial = {
  windowN: number
  promptIdx: number
  rewards: number[]
  rollouts: SubmissionRollout[]
}

/** A generated group; `duplicate` when a rollout kept repeating an earlier one (then `tokens` stops short of M). */
type Generated = {
  promptTokens: number[]
  tokens: number[][]
  rewards: number[]
  duplicate: boolean
}

const REPLAY_STASH_MAX = 32

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const onAbort = () => {
      clearTimeout(t)
      reject(signal!.reason)
    }
    const t = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      },
      Math.max(0, ms),
    )
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}

/** A safe-integer sampling seed for one rollout, from the miner seed and the rollout's coordinates. */
function rolloutSeed(
  seed: number,
  windowN: number,
  promptIdx: number,
  group: number,
  rollout: number,
  attempt: number,
): number {
  const h = createHash('sha256')
    .update(`reliquary-miner-seed|${seed}|${windowN}|${promptIdx}|${group}|${rollout}|${attempt}`)
    .digest()
  return h.readUIntBE(0, 6)
}

/** An error's message with its cause (undici reports `fetch failed` with the socket error as the cause). */
function describe(e: unknown): string {
  if (!(e instanceof Error)) return String(e)
  const cause = (e as { cause?: unknown }).cause
  return cause instanceof Error ? `${e.message}: ${cause.message}` : e.message
}

function positiveInt(v: unknown, name: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 1)
    throw invalidArgument(name, 'a positive integer', v)
  return v as number
}

function finalRate(c: { accepted: number; rejected: number }): number | null {
  const decided = c.accepted + c.rejected
  return decided === 0 ? null : c.accepted / decided
}

function freezeCounters(c: WindowCounters): MinerWindowStats {
  const rejected = Object.fromEntries([...c.rejected].sort(([a], [b]) => (a < b ? -1 : 1)))
  const nRejected = [...c.rejected.values()].reduce((a, b) => a + b, 0)
  return Object.freeze({
    windowN: c.windowN,
    submitted: c.submitted,
    accepted: c.accepted,
    rejected: Object.freeze(rejected),
    skipped: c.skipped,
    pending: c.pending,
    acceptanceRate: finalRate({ accepted: c.accepted, rejected: nRejected }),
  })
}

/** The reject reason an HTTP status of `/submit` stands for (the reference answers these without a body of the usual shape). */
function reasonForStatus(status: number): string {
  if (status === 409) return 'window_mismatch'
  if (status === 503) return 'window_not_active'
  if (status === 422) return 'bad_schema'
  return `http_${status}`
}

/**
 * Creates a Reliquary miner for the E3 wire (PROTOCOL.md §3, §4.3): it polls the validator's
 * `/state`, keeps its model on the announced checkpoint (downloaded and verified with
 * `downloadCheckpoint`: reference manifest signature, commit title, custody chain and every file
 * digest, before anything is loaded), picks prompts with its {@link PromptPicker} (skipping the
 * `/state` cooldown prompts), generates M = `profile.group.rolloutsPerGroup` rollouts per prompt
 * with the protocol sampling (`profile.sampling` temperature, top-p, top-k; at most
 * `maxNewTokensCap − prompt length` new tokens; stops at EOS), rewards each decoded completion
 * with `environment.computeReward`, proves each rollout with `proveWithModel` against
 * `/state.randomness`, and posts a signed request per group (merkle root, `checkpoint_hash` `""`
 * while `checkpoint_n` is 0 and the revision verbatim afterwards, `drand_round` current at send
 * time, a random 16-byte nonce, the envelope signature). Each group is sent as soon as it is
 * proven (an earlier drand round orders first). Verdicts are then read back from
 * `/verdicts/{hotkey}` and counted in {@link MinerStats}; each generated group's rewards are fed
 * to the picker once the verdicts are in (or `verdictTimeoutMs` passed: a late verdict is still
 * counted by a later `runWindow`).
 *
 * Local filters keep back groups the validator would certainly reject: out of the zone
 * (`skipOutOfZone`), or with a rollout that keeps repeating an earlier one of its group
 * (`hash_duplicate`; see `duplicateResamples`). Nothing is loaded until the first `runWindow`.
 * Prompt text is encoded without special tokens, as the validator does to bind
 * `tokens[:prompt_length]` (§2.4).
 *
 * `strategy: 'cheat'` is the demo's adversary: each group uses, in rotation, fabricated
 * sketches, lied rewards, or a replay of a group proven in an earlier window (see
 * {@link CheatKind}); a correct validator rejects every one of them. It is only for tests and
 * demonstrations.
 *
 * - Spec: PROTOCOL.md §1.9, §1.10 (E3 randomness), §3.1–§3.5, §4.3, §9 (checkpoint verification).
 *
 * @param parameters - {@link CreateMinerParameters}
 * @returns A {@link Miner}.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for missing or malformed parameters, or a profile
 *   that is not E3-ordered. `runWindow` rejects with the checkpoint verification error
 *   (`HUB_REFERENCE_MANIFEST_INVALID`, `HUB_CUSTODY_INVALID`, `MANIFEST_FILES_MISMATCH`, …) when
 *   an announced checkpoint does not verify (nothing is generated with it), `SCHEMA_INVALID` /
 *   `JSON_INVALID` when the validator sends a malformed document, and with the signal's reason
 *   when aborted.
 * @example
 * ```ts
 * // src/miner/index.ts (no package entry point exports it yet)
 * import { createMiner, createFrontierPicker } from './src/miner/index.js'
 * const miner = createMiner({
 *   validatorUrl: 'http://127.0.0.1:8888', hotkey, modelDir: './Qwen3-4B', environment,
 *   picker: createFrontierPicker({ size: environment.size, seed: 1 }), now: () => Date.now() / 1000,
 *   drand: { genesisTime: 1692803367, periodSeconds: 3 }, validatorHotkey,
 *   hub: { cacheDir: 'state/hub', baseModel: { id: 'Qwen/Qwen3-4B', revision: baseSha } },
 *   groupsPerWindow: 4, seed: 7,
 * })
 * for (;;) console.log((await miner.runWindow()).stats)
 * ```
 */
export function createMiner(parameters: CreateMinerParameters): Miner {
  if (typeof parameters !== 'object' || parameters === null)
    throw invalidArgument('parameters', 'an object', parameters)
  const p = parameters
  if (typeof p.validatorUrl !== 'string' || !/^https?:\/\//.test(p.validatorUrl))
    throw invalidArgument('validatorUrl', 'an http(s) URL', p.validatorUrl)
  if (typeof p.hotkey?.sign !== 'function' || typeof p.hotkey.address !== 'string')
    throw invalidArgument('hotkey', 'a Hotkey from createHotkey', p.hotkey)
  if (typeof p.modelDir !== 'string' || p.modelDir.length === 0)
    throw invalidArgument('modelDir', 'a checkpoint directory', p.modelDir)
  const env = p.environment
  if (
    typeof env !== 'object' ||
    env === null ||
    !Number.isSafeInteger(env.size) ||
    typeof env.getProblem !== 'function' ||
    typeof env.computeReward !== 'function'
  ) {
    throw invalidArgument('environment', 'a RewardEnvironment', env)
  }
  const picker = p.picker
  if (
    typeof picker !== 'object' ||
    picker === null ||
    typeof picker.pickPrompts !== 'function' ||
    typeof picker.observe !== 'function' ||
    typeof picker.release !== 'function'
  ) {
    throw invalidArgument('picker', 'a PromptPicker', picker)
  }
  const profile = p.profile ?? DEFAULT_PROFILE
  if (profile.window.ordering !== 'drand_round') {
    throw invalidArgument(
      'profile',
      'an E3-ordered profile (window.ordering "drand_round")',
      profile.id,
      ['The miner speaks the E3 wire: drand_round, nonce and envelope signature.'],
    )
  }
  if (typeof p.now !== 'function')
    throw invalidArgument('now', 'a function returning unix seconds', p.now)
  const drand = p.drand
  if (
    typeof drand !== 'object' ||
    drand === null ||
    !Number.isFinite(drand.genesisTime) ||
    !(drand.periodSeconds > 0)
  ) {
    throw invalidArgument('drand', '{ genesisTime: finite, periodSeconds > 0 }', drand)
  }
  if (typeof p.validatorHotkey !== 'string' && !(p.validatorHotkey instanceof Uint8Array))
    throw invalidArgument('validatorHotkey', 'an SS58 address or public key', p.validatorHotkey)
  const hub = p.hub
  if (hub !== undefined) {
    if (
      typeof hub !== 'object' ||
      hub === null ||
      typeof hub.cacheDir !== 'string' ||
      hub.cacheDir.length === 0
    )
      throw invalidArgument('hub.cacheDir', 'a directory path', hub?.cacheDir)
    if (typeof hub.baseModel?.id !== 'string' || typeof hub.baseModel.revision !== 'string')
      throw invalidArgument('hub.baseModel', '{ id, revision }', hub.baseModel)
  }
  const groupsPerWindow = positiveInt(p.groupsPerWindow, 'groupsPerWindow')
  if (!Number.isSafeInteger(p.seed)) throw invalidArgument('seed', 'a safe integer', p.seed)
  const strategy = p.strategy ?? 'honest'
  if (strategy !== 'honest' && strategy !== 'cheat')
    throw invalidArgument('strategy', "'honest' or 'cheat'", strategy)
  const skipOutOfZone = p.skipOutOfZone ?? true
  const fetchImpl = p.fetch ?? globalThis.fetch
  if (typeof fetchImpl !== 'function') throw invalidArgument('fetch', 'a fetch function', fetchImpl)
  const pollIntervalMs = p.pollIntervalMs ?? 1000
  const verdictTimeoutMs = p.verdictTimeoutMs ?? 60_000
  const roundMargin = p.roundMarginSeconds ?? 0.25
  for (const [k, v] of [
    ['pollIntervalMs', pollIntervalMs],
    ['verdictTimeoutMs', verdictTimeoutMs],
    ['roundMarginSeconds', roundMargin],
  ] as const) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw invalidArgument(k, 'a finite number ≥ 0', v)
  }
  const duplicateResamples = p.duplicateResamples ?? 4
  if (!Number.isSafeInteger(duplicateResamples) || duplicateResamples < 0)
    throw invalidArgument('duplicateResamples', 'an integer ≥ 0', duplicateResamples)
  const base = p.validatorUrl.replace(/\/+$/, '')
  const M = profile.group.rolloutsPerGroup
  const drandOpts = { genesisTime: drand.genesisTime, periodSeconds: drand.periodSeconds }

  const log = (
    level: MinerLogEntry['level'],
    event: string,
    message: string,
    data?: Record<string, unknown>,
  ): void => {
    if (!p.log) return
    try {
      p.log(Object.freeze({ level, event, message, ...(data ? { data } : {}) }))
    } catch {
      // A failing logger never stops mining.
    }
  }

  // ---- mutable state ------------------------------------------------------------------------
  let loaded: Promise<void> | null = null
  let model: CausalLM | null = null
  let tokenizer: ModelTokenizer | null = null
  /** The checkpoint the model is on (n 0 = the bootstrap directory). */
  let checkpoint = { n: 0, revision: '', dir: p.modelDir }
  let disposed = false
  let chain: Promise<unknown> = Promise.resolve()
  let groupCounter = 0
  let cheatCycle = 0
  const replayStash: ReplayMaterial[] = []
  const windows = new Map<number, WindowCounters>()
  /** Submitted groups waiting for their worker verdict, by `${window}:${merkle}`. */
  const pending = new Map<string, GroupRecord>()

  const counters = (w: number): WindowCounters => {
    let c = windows.get(w)
    if (!c)
      windows.set(
        w,
        (c = {
          windowN: w,
          submitted: 0,
          accepted: 0,
          rejected: new Map(),
          skipped: 0,
          pending: 0,
        }),
      )
    return c
  }
  const settle = (g: GroupRecord, accepted: boolean, reason: string): void => {
    const c = counters(g.windowN)
    if (g.outcome === 'pending') c.pending--
    g.outcome = accepted ? 'accepted' : 'rejected'
    g.reason = reason
    if (accepted) c.accepted++
    else c.rejected.set(reason, (c.rejected.get(reason) ?? 0) + 1)
  }

  // ---- HTTP ---------------------------------------------------------------------------------
  async function request(
    method: 'GET' | 'POST',
    path: string,
    body: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<{ status: number; text: string }> {
    const res = await fetchImpl(`${base}${path}`, {
      method,
      ...(body !== undefined ? { body, headers: { 'content-type': 'application/json' } } : {}),
      ...(signal ? { signal } : {}),
    })
    return { status: res.status, text: await res.text() }
  }

  /** `/state`, or null when the validator has no active window (503) or cannot be reached. */
  async function getState(signal: AbortSignal | undefined): Promise<WindowState | null> {
    let res: { status: number; text: string }
    try {
      res = await request('GET', '/state', undefined, signal)
    } catch (e) {
      if (signal?.aborted) throw signal.reason
      log('warn', 'state_unreachable', 'GET /state failed; retrying', { error: describe(e) })
      return null
    }
    if (res.status === 503) return null
    if (res.status !== 200) {
      log('warn', 'state_status', `GET /state answered ${res.status}; retrying`)
      return null
    }
    return parseState(res.text)
  }

  async function waitForOpen(signal: AbortSignal | undefined): Promise<WindowState> {
    let announced = -1
    for (;;) {
      signal?.throwIfAborted()
      const s = await getState(signal)
      if (s && s.state === 'open' && s.randomness !== '') {
        const quota = profile.window.maxSubmissionsPerHotkey
        if (quota === 0 || (windows.get(s.window_n)?.submitted ?? 0) < quota) return s
        if (announced !== s.window_n)
          log(
            'info',
            'quota_used',
            `quota of window ${s.window_n} used; waiting for the next window`,
            { windowN: s.window_n },
          )
        announced = s.window_n
      }
      await sleep(pollIntervalMs, signal)
    }
  }

  // ---- model and checkpoint -----------------------------------------------------------------
  async function ensureLoaded(): Promise<void> {
    loaded ??= (async () => {
      const [m, t] = await Promise.all([loadModel(p.modelDir), loadTokenizer(p.modelDir)])
      model = m
      tokenizer = t
      log('info', 'model_loaded', `bootstrap model loaded from ${p.modelDir}`, { dir: p.modelDir })
    })()
    try {
      await loaded
    } catch (e) {
      loaded = null
      throw e
    }
  }

  const refuse = (reason: string, message: string, meta: Record<string, unknown> = {}) =>
    new ReliquaryError('HUB_REFERENCE_MANIFEST_INVALID', message, {
      hints: ['Nothing was generated with this checkpoint; the next runWindow tries again.'],
      meta: { reason, ...meta },
    })

  /** Brings the model onto the checkpoint `/state` announces; returns whether it downloaded one. */
  async function syncCheckpoint(s: WindowState, signal: AbortSignal | undefined): Promise<boolean> {
    const n = s.checkpoint_n
    if (n === 0) {
      if (checkpoint.n > 0)
        throw refuse(
          'checkpoint_went_back',
          `The validator announces no checkpoint after checkpoint ${checkpoint.n}.`,
          { checkpointN: checkpoint.n },
        )
      return false
    }
    if (
      n === checkpoint.n &&
      (s.checkpoint_revision === null || s.checkpoint_revision === checkpoint.revision)
    )
      return false
    if (n < checkpoint.n)
      throw refuse(
        'checkpoint_went_back',
        `The validator announces checkpoint ${n} after checkpoint ${checkpoint.n}.`,
        { checkpointN: n },
      )
    if (!hub) {
      throw invalidArgument(
        'hub',
        '{ cacheDir, baseModel } to download announced checkpoints',
        undefined,
        [
          `The validator announces checkpoint ${n}; the miner never mines with weights it has not verified.`,
        ],
      )
    }
    log(
      'info',
      'checkpoint_announced',
      `checkpoint ${n} announced (revision ${s.checkpoint_revision ?? '?'})`,
      { checkpointN: n, revision: s.checkpoint_revision },
    )
    const res = await request('GET', '/checkpoint', undefined, signal)
    if (res.status !== 200)
      throw refuse(
        'no_manifest',
        `/state announces checkpoint ${n} but GET /checkpoint answered ${res.status}.`,
        { status: res.status },
      )
    const manifest = parseCheckpoint(res.text)
    if (
      manifest.checkpoint_n !== n ||
      (s.checkpoint_revision !== null && manifest.revision !== s.checkpoint_revision)
    ) {
      throw refuse(
        'state_mismatch',
        `/checkpoint names checkpoint ${manifest.checkpoint_n}@${manifest.revision}, /state ${n}@${s.checkpoint_revision}.`,
      )
    }
    if (s.checkpoint_repo_id !== null && manifest.repo_id !== s.checkpoint_repo_id) {
      throw refuse(
        'state_mismatch',
        `/checkpoint names repo ${manifest.repo_id}, /state ${s.checkpoint_repo_id}.`,
      )
    }
    const dl = await downloadCheckpoint({
      repoId: manifest.repo_id,
      revision: manifest.revision,
      cacheDir: hub.cacheDir,
      ...(hub.hubUrl !== undefined ? { hubUrl: hub.hubUrl } : {}),
      ...(hub.accessToken !== undefined ? { accessToken: hub.accessToken } : {}),
      ...(p.fetch ? { fetch: p.fetch } : {}),
      ...(signal ? { signal } : {}),
      expected: {
        validatorHotkey: p.validatorHotkey,
        referenceManifest: manifest,
        baseModel: hub.baseModel,
        ...(hub.profileId !== undefined ? { profileId: hub.profileId } : {}),
        ...(checkpoint.n > 0 ? { minCheckpointN: checkpoint.n } : {}),
        ...(hub.requireCommitTitle !== undefined
          ? { requireCommitTitle: hub.requireCommitTitle }
          : {}),
      },
    })
    // Only a verified directory reaches the loader.
    const next = await loadModel(dl.dir)
    let nextTokenizer = tokenizer
    try {
      nextTokenizer = await loadTokenizer(dl.dir)
    } catch (e) {
      if (!isReliquaryError(e, 'MODEL_FILE_MISSING')) {
        next.dispose()
        throw e
      }
    }
    model?.dispose()
    model = next
    tokenizer = nextTokenizer
    checkpoint = { n: dl.checkpointN, revision: dl.revision, dir: dl.dir }
    log(
      'info',
      'checkpoint_loaded',
      `checkpoint ${dl.checkpointN} verified (${dl.files} files, chain of ${dl.chain.length}) and loaded`,
      {
        checkpointN: dl.checkpointN,
        revision: dl.revision,
        dir: dl.dir,
        cached: dl.cached,
      },
    )
    return true
  }

  const wireCheckpointHash = (): string => (checkpoint.n === 0 ? '' : checkpoint.revision)

  // ---- generation, proof, submission --------------------------------------------------------
  async function generateGroup(
    promptIdx: number,
    windowN: number,
    signal: AbortSignal | undefined,
  ): Promise<Generated | null> {
    const m = model!
    const tok = tokenizer!
    const problem = env.getProblem(promptIdx)
    const promptTokens = tok.encode(problem.prompt, { addSpecialTokens: false })
    const maxNewTokens = profile.sampling.maxNewTokensCap - promptTokens.length
    if (promptTokens.length === 0 || maxNewTokens < 1) return null
    const group = groupCounter++
    const tokens: number[][] = []
    const rewards: number[] = []
    const seen = new Set<string>()
    for (let i = 0; i < M; i++) {
      for (let attempt = 0; ; attempt++) {
        const g = await generate(m, promptTokens, {
          maxNewTokens,
          temperature: profile.sampling.temperature,
          topP: profile.sampling.topP,
          topK: profile.sampling.topK,
          seed: rolloutSeed(p.seed, windowN, promptIdx, group, i, attempt),
          eosTokenIds: m.config.eosTokenIds,
          ...(signal ? { signal } : {}),
        })
        // The validator hashes the full token list; the prompt is shared, so the completion decides.
        const key = g.completion.join(',')
        if (!seen.has(key)) {
          seen.add(key)
          tokens.push(g.tokens)
          rewards.push(env.computeReward(problem, tok.decode(g.completion)))
          break
        }
        if (attempt >= duplicateResamples) return { promptTokens, tokens, rewards, duplicate: true }
      }
    }
    return { promptTokens, tokens, rewards, duplicate: false }
  }

  async function prove(gen: Generated, randomness: string): Promise<Commit[]> {
    const out: Commit[] = []
    for (const t of gen.tokens)
      out.push(
        await proveWithModel({
          model: model!,
          tokens: t,
          promptLength: gen.promptTokens.length,
          randomness,
          hotkey: p.hotkey,
          profile,
        }),
      )
    return out
  }

  /** The drand round to sign, waiting for the next round when the current one is about to end. */
  async function sendRound(signal: AbortSignal | undefined): Promise<number> {
    let t = p.now()
    for (let tries = 0; tries < 2; tries++) {
      const round = drandRoundAt(t, drandOpts)
      const left = drandRoundTime(round + 1, drandOpts) - t
      if (left >= roundMargin) return round
      await sleep(left * 1000 + 5, signal)
      t = p.now()
    }
    return drandRoundAt(t, drandOpts)
  }

  async function submit(
    g: GroupRecord,
    s: WindowState,
    rollouts: SubmissionRollout[],
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const drandRound = await sendRound(signal)
    const body = buildSubmitRequest({
      hotkey: p.hotkey,
      windowStart: s.window_n,
      promptIdx: g.promptIdx,
      rollouts,
      checkpointHash: wireCheckpointHash(),
      drandRound,
      randomness: s.randomness,
    })
    g.merkleRoot = body.merkle_root
    g.drandRound = drandRound
    const c = counters(s.window_n)
    c.submitted++
    let res: { status: number; text: string }
    try {
      res = await request('POST', '/submit', JSON.stringify(body), signal)
    } catch (e) {
      if (signal?.aborted) throw signal.reason
      g.response = { httpStatus: 0, accepted: false, reason: 'network_error' }
      settle(g, false, 'network_error')
      log('warn', 'submit_failed', `POST /submit failed for prompt ${g.promptIdx}`, {
        error: describe(e),
      })
      return
    }
    if (res.status === 200) {
      const r = parseSubmitResponse(res.text)
      g.response = { httpStatus: 200, accepted: r.accepted, reason: r.reason }
      if (r.accepted && r.reason === 'submitted') {
        g.outcome = 'pending'
        c.pending++
        pending.set(`${s.window_n}:${body.merkle_root}`, g)
      } else settle(g, r.accepted, r.reason)
    } else {
      const reason = reasonForStatus(res.status)
      g.response = { httpStatus: res.status, accepted: false, reason }
      settle(g, false, reason)
    }
    log('info', 'group_submitted', `prompt ${g.promptIdx} (${g.kind}) → ${g.response.reason}`, {
      windowN: s.window_n,
      promptIdx: g.promptIdx,
      kind: g.kind,
      merkleRoot: body.merkle_root,
      drandRound,
      response: g.response,
    })
  }

  /** Polls `/verdicts/{hotkey}` until this window's submissions all have a worker verdict or the timeout passes. */
  async function collectVerdicts(windowN: number, signal: AbortSignal | undefined): Promise<void> {
    const deadline = Date.now() + verdictTimeoutMs
    const mine = () => [...pending.values()].some((g) => g.windowN === windowN)
    while (pending.size > 0) {
      let res: { status: number; text: string } | null = null
      try {
        res = await request(
          'GET',
          `/verdicts/${encodeURIComponent(p.hotkey.address)}`,
          undefined,
          signal,
        )
      } catch (e) {
        if (signal?.aborted) throw signal.reason
        log('warn', 'verdicts_unreachable', 'GET /verdicts failed; retrying', {
          error: describe(e),
        })
      }
      if (res && res.status === 200) {
        for (const v of parseVerdicts(res.text).verdicts) {
          const key = `${v.window_n}:${v.merkle_root}`
          const g = pending.get(key)
          if (!g) continue
          pending.delete(key)
          settle(g, v.accepted, v.reason)
          log(
            'info',
            'verdict',
            `window ${g.windowN} prompt ${g.promptIdx} (${g.kind}): ${v.reason}`,
            { windowN: g.windowN, promptIdx: g.promptIdx, kind: g.kind, reason: v.reason },
          )
        }
      }
      if (!mine() || Date.now() >= deadline) break
      await sleep(pollIntervalMs, signal)
    }
    if (mine())
      log(
        'warn',
        'verdict_timeout',
        `no verdict yet for some groups of window ${windowN}; they stay pending`,
        { windowN },
      )
  }

  // ---- the window ---------------------------------------------------------------------------
  /**
   * The cheat for the next group: the rotation's kind; a replay without material from an earlier
   * window (outside the cooldown) falls back to fabricated sketches and stays due. `advances`
   * says whether submitting it moves the rotation on.
   */
  function nextCheat(
    s: WindowState,
    cooldown: ReadonlySet<number>,
  ): { kind: CheatKind; replay: ReplayMaterial | null; advances: boolean } {
    const kind = CHEAT_KINDS[cheatCycle % CHEAT_KINDS.length]!
    if (kind !== 'replay') return { kind, replay: null, advances: true }
    const i = replayStash.findIndex((r) => r.windowN < s.window_n && !cooldown.has(r.promptIdx))
    if (i < 0) return { kind: 'fabricate_sketch', replay: null, advances: false }
    return { kind, replay: replayStash.splice(i, 1)[0]!, advances: true }
  }

  const newRecord = (
    promptIdx: number,
    kind: MinerGroupKind,
    windowN: number,
    provenIn: number,
    rewards: number[],
    picked: boolean,
  ): GroupRecord => ({
    promptIdx,
    kind,
    provenInWindow: provenIn,
    rewards,
    claimedRewards: rewards,
    sigma: groupSigma(rewards),
    skipped: null,
    merkleRoot: null,
    drandRound: null,
    windowN,
    response: null,
    outcome: 'skipped',
    reason: null,
    observed: false,
    picked,
  })

  /** Prompts generated in window `w` (only the latest window is kept). */
  let tried: { windowN: number; prompts: Set<number> } = { windowN: -1, prompts: new Set() }
  const triedPrompts = (w: number): Set<number> => {
    if (tried.windowN !== w) tried = { windowN: w, prompts: new Set() }
    return tried.prompts
  }

  async function runWindowImpl(signal: AbortSignal | undefined): Promise<MinerWindowReport> {
    if (disposed)
      throw new ReliquaryError('INVALID_ARGUMENT', 'This miner was disposed.', {
        hints: ['Create a new miner.'],
      })
    signal?.throwIfAborted()
    await ensureLoaded()
    const s = await waitForOpen(signal)
    const downloaded = await syncCheckpoint(s, signal)
    const w = s.window_n
    const c = counters(w)
    const quota = profile.window.maxSubmissionsPerHotkey
    const slots = quota === 0 ? groupsPerWindow : Math.min(groupsPerWindow, quota - c.submitted)
    const cooldown = new Set(s.cooldown_prompts)
    const bootstrap = isBootstrapWindow(w, { profile })
    const inZone = (rewards: readonly number[]) =>
      isInZone(groupSigma(rewards), { bootstrap, profile })
    log(
      'info',
      'window_open',
      `mining window ${w} (${slots} group(s), checkpoint ${checkpoint.n})`,
      { windowN: w, checkpointN: checkpoint.n },
    )

    const groups: GroupRecord[] = []
    const inFlight: number[] = []
    try {
      for (let slot = 0; slot < slots; slot++) {
        signal?.throwIfAborted()
        const cheat = strategy === 'cheat' ? nextCheat(s, cooldown) : null
        if (cheat?.replay) {
          const r = cheat.replay
          const g = newRecord(r.promptIdx, 'replay', w, r.windowN, r.rewards, false)
          groups.push(g)
          await submit(g, s, r.rollouts, signal)
          cheatCycle++
          continue
        }
        // A second group on a prompt already tried this window adds no distinct prompt to a batch.
        const tried = triedPrompts(w)
        const [promptIdx] = picker.pickPrompts(1, {
          exclude: tried.size ? [...cooldown, ...tried] : cooldown,
        })
        if (promptIdx === undefined) {
          log('warn', 'no_prompt', 'the picker has no eligible prompt left')
          break
        }
        inFlight.push(promptIdx)
        tried.add(promptIdx)
        const gen = await generateGroup(promptIdx, w, signal)
        if (gen === null) {
          picker.release(promptIdx)
          inFlight.splice(inFlight.indexOf(promptIdx), 1)
          const g = newRecord(promptIdx, cheat?.kind ?? 'honest', w, w, [], false)
          g.skipped = 'prompt_too_long'
          g.observed = true
          c.skipped++
          groups.push(g)
          continue
        }
        const g = newRecord(
          promptIdx,
          cheat?.kind ?? 'honest',
          w,
          w,
          gen.rewards,
          gen.rewards.length > 0,
        )
        groups.push(g)
        inFlight.splice(inFlight.indexOf(promptIdx), 1)
        if (gen.duplicate) {
          if (!g.picked) picker.release(promptIdx)
          g.skipped = 'duplicate_rollouts'
          c.skipped++
          log(
            'debug',
            'group_skipped',
            `prompt ${promptIdx}: a rollout kept repeating an earlier one (hash_duplicate), not submitted`,
            { windowN: w, promptIdx },
          )
          continue
        }
        const honestInZone = inZone(gen.rewards)
        if (cheat?.kind !== 'lie_reward' && skipOutOfZone && !honestInZone) {
          g.skipped = 'out_of_zone'
          c.skipped++
          log(
            'debug',
            'group_skipped',
            `prompt ${promptIdx}: rewards out of the zone (σ = ${g.sigma.toFixed(3)}), not submitted`,
            { windowN: w, promptIdx, rewards: gen.rewards },
          )
          continue
        }
        const commits = await prove(gen, s.randomness)
        const honest: SubmissionRollout[] = commits.map((commit, i) => ({
          tokens: gen.tokens[i]!,
          reward: gen.rewards[i]!,
          commit,
        }))
        let rollouts = honest
        if (cheat) {
          if (honestInZone) {
            replayStash.push({ windowN: w, promptIdx, rewards: gen.rewards, rollouts: honest })
            if (replayStash.length > REPLAY_STASH_MAX) replayStash.shift()
          }
          if (cheat.kind === 'fabricate_sketch') {
            rollouts = honest.map((r) => ({
              ...r,
              commit: fabricateSketches(r.commit as Commit, p.hotkey, { profile }),
            }))
          } else {
            g.claimedRewards = zoneShapedRewards(gen.rewards, { profile, bootstrap })
            g.sigma = groupSigma(g.claimedRewards)
            rollouts = honest.map((r, i) => ({ ...r, reward: g.claimedRewards[i]! }))
          }
        }
        await submit(g, s, rollouts, signal)
        if (cheat?.advances) cheatCycle++
      }
      await collectVerdicts(w, signal)
    } finally {
      for (const prompt of inFlight) picker.release(prompt)
      // The rewards are the miner's own measurement whatever the verdict: feed every generated
      // group to the picker (a verdict still outstanding is counted when it arrives).
      for (const g of groups) {
        if (g.observed || !g.picked) continue
        g.observed = true
        picker.observe(g.promptIdx, g.rewards)
      }
    }
    return Object.freeze({
      windowN: w,
      randomness: s.randomness,
      checkpoint: Object.freeze({
        n: checkpoint.n,
        hash: wireCheckpointHash(),
        dir: checkpoint.dir,
        downloaded,
      }),
      groups: Object.freeze(
        groups.map((g) =>
          Object.freeze({
            promptIdx: g.promptIdx,
            kind: g.kind,
            provenInWindow: g.provenInWindow,
            rewards: Object.freeze([...g.rewards]),
            claimedRewards: Object.freeze([...g.claimedRewards]),
            sigma: g.sigma,
            skipped: g.skipped,
            merkleRoot: g.merkleRoot,
            drandRound: g.drandRound,
            response: g.response ? Object.freeze({ ...g.response }) : null,
            outcome: g.outcome,
            reason: g.reason,
          }),
        ),
      ),
      stats: freezeCounters(c),
    })
  }

  return Object.freeze({
    runWindow(signal?: AbortSignal): Promise<MinerWindowReport> {
      const run = chain.then(() => runWindowImpl(signal))
      chain = run.catch(() => undefined)
      return run
    },
    stats(): MinerStats {
      const list = [...windows.values()].sort((a, b) => a.windowN - b.windowN)
      const total: WindowCounters = {
        windowN: -1,
        submitted: 0,
        accepted: 0,
        rejected: new Map(),
        skipped: 0,
        pending: 0,
      }
      for (const c of list) {
        total.submitted += c.submitted
        total.accepted += c.accepted
        total.skipped += c.skipped
        total.pending += c.pending
        for (const [r, n] of c.rejected) total.rejected.set(r, (total.rejected.get(r) ?? 0) + n)
      }
      return Object.freeze({
        windows: Object.freeze(list.map(freezeCounters)),
        total: freezeCounters(total),
      })
    },
    dispose(): void {
      if (disposed) return
      disposed = true
      void chain.then(() => {
        model?.dispose()
        model = null
      })
    },
  })
}
