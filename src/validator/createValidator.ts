import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { Hotkey } from '../crypto/sr25519.js'
import type { BeaconSource, DrandChainInfo, VerifiedBeacon } from '../drand/beacon.js'
import { drandRoundAt, drandRoundTime } from '../drand/round.js'
import { windowRandomnessFromBeacon } from '../drand/windowRandomnessFromBeacon.js'
import { ReliquaryError, invalidArgument, isReliquaryError } from '../errors/base.js'
import { createTrainer, type GrpoTrainer } from '../grpo/createTrainer.js'
import { parseGrpoBatch } from '../grpo/parseGrpoBatch.js'
import type { GrpoStepReturnType } from '../grpo/grpoStep.js'
import type { GrpoOptions } from '../grpo/types.js'
import { publishCheckpoint } from '../hub/publishCheckpoint.js'
import { shouldPublish } from '../hub/shouldPublish.js'
import { batchDigest } from '../manifest/batchDigest.js'
import type { CustodyManifest } from '../manifest/custodyManifest.js'
import { createRolloutEvaluator } from '../rollout/createRolloutEvaluator.js'
import { loadModel, type CausalLM } from '../model/loadModel.js'
import { loadTokenizer, type ModelTokenizer } from '../model/loadTokenizer.js'
import { saveModel } from '../model/saveModel.js'
import { DEFAULT_PROFILE, type ProtocolProfile } from '../protocol/profiles.js'
import type { CheckpointManifestWire, Health, WindowState } from '../protocol/schemas.js'
import type { RewardEnvironment } from '../reward/environment.js'
import { groupSigma } from '../reward/groups.js'
import { AdmissionPipeline } from '../window/admission/admissionPipeline.js'
import type { DrandTiming } from '../window/admission/admissionTypes.js'
import { buildWindowArchive } from '../window/archive/buildWindowArchive.js'
import { Cooldown } from '../window/seal/cooldown.js'
import { encodeWindowArchive, windowArchiveKey } from '../window/archive/encodeWindowArchive.js'
import { HashDedup } from '../window/seal/hashDedup.js'
import { rolloutVerifierFromModel } from '../window/admission/runAdmission.js'
import { updateEma } from '../window/scoring/scoring.js'
import type { SealWindowReturnType } from '../window/seal/sealWindow.js'
import { WindowBatcher, type ValidSubmission } from '../window/seal/windowBatcher.js'
import { WindowStateMachine, type WindowPhase } from '../window/windowStateMachine.js'
import {
  createValidatorServer,
  type SubmissionEvent,
  type ValidatorServer,
} from './createValidatorServer.js'
import { identifyBaseModel } from './identifyBaseModel.js'

/** Where and how the validator publishes checkpoints (PROTOCOL.md §9). */
export type ValidatorHubOptions = {
  /** Hub base URL (the local Hub server's `url` in the demo). @default https://huggingface.co */
  hubUrl?: string | undefined
  /** Model repo, `namespace/name`. */
  repoId: string
  /** Write token (`hf_…`). */
  accessToken: string
  /** `fetch` to use. @default globalThis.fetch */
  fetch?: typeof fetch | undefined
}

/** Parameters of {@link createValidator}. */
export type CreateValidatorParameters = {
  /** Every protocol number (B, M, σ, timeouts, cadence, training defaults). Its `drand` (hash, genesis, period) must be the `beacons` chain's. @default DEFAULT_PROFILE (E3) */
  profile?: ProtocolProfile | undefined
  /** The base model directory (Hugging Face layout): the policy, the verify model and the KL reference start from it. */
  modelDir: string
  /** The task source (prompt text, reward). */
  environment: RewardEnvironment
  /** @default loadTokenizer(modelDir) */
  tokenizer?: ModelTokenizer | undefined
  /** The validator hotkey: signs manifests; its address goes into archives. */
  hotkey: Hotkey
  /** Verified drand beacons (a local chain, recorded beacons, or the HTTP relays). */
  beacons: BeaconSource
  /** Clock in unix seconds. @default `Date.now() / 1000` */
  now?: (() => number) | undefined
  /** Sleeps `ms` milliseconds. @default a setTimeout promise */
  sleep?: ((ms: number) => Promise<void>) | undefined
  /** Publishing target; without it the validator trains but never publishes (no `/checkpoint`). */
  hub?: ValidatorHubOptions | undefined
  /** Custody `base_model`. @default identifyBaseModel(modelDir) */
  baseModel?: { id: string; revision: string } | undefined
  /** Window archives are written here under `windowArchiveKey(n)` (gzip JSON, the reference's R2 layout). */
  archiveDir: string
  /** Checkpoints are saved here as `ckpt_<n>` before publishing. @default join(archiveDir, 'checkpoints') */
  checkpointDir?: string | undefined
  /** Stored dtype of published weights. @default 'BF16' (the verify model is reloaded from what was saved) */
  checkpointDtype?: 'F32' | 'BF16' | undefined
  /** GRPO overrides on top of `profile.training` (learning rate, β, …). @default {} */
  grpo?: Omit<GrpoOptions, 'profile'> | undefined
  /** The last window number already used; the first `runWindow` opens `lastWindowN + 1`. @default 0 */
  lastWindowN?: number | undefined
  /** HTTP server options (see `createValidatorServer`). @default loopback, ephemeral port */
  server?:
    | {
        host?: string | undefined
        port?: number | undefined
        maxBodyBytes?: number | undefined
        maxQueueDepth?: number | undefined
      }
    | undefined
  /** How often the open window checks its seal condition. @default 50 */
  pollIntervalMs?: number | undefined
  /** Progress events. Must not throw (errors are ignored). */
  onEvent?: ((event: ValidatorEvent) => void) | undefined
}

/** Per-hotkey counts: requests, worker accepts, rejects by reason (handler and worker stages). */
export type HotkeyCounts = {
  /** `/submit` requests that reached the handler with this `miner_hotkey`. */
  submitted: number
  /** Worker verdicts `accepted`. */
  accepted: number
  /** Rejects by reason, both stages (`queue_full` and `payload_too_large` included). */
  rejected: Record<string, number>
}

/** Why an open window sealed. */
export type SealReason = 'trigger' | 'timeout' | 'closed'

/** What one window did, for reports and the demo summary. */
export type WindowReport = {
  readonly windowN: number
  /** The drand round whose beacon gave the randomness. */
  readonly round: number
  readonly randomness: string
  readonly sealReason: SealReason
  readonly validSubmissions: number
  /** Groups in the training batch. */
  readonly batchSize: number
  /** Whether a full batch was trained (and the step did not fail). */
  readonly trained: boolean
  /** Mean and population σ of the batch's rollout rewards (`null` for an empty batch). */
  readonly rewardMean: number | null
  readonly rewardStd: number | null
  /** The GRPO step's loss, mean KL and PPO loss (`null` without training). */
  readonly loss: number | null
  readonly kl: number | null
  readonly ppoLoss: number | null
  readonly gradNorm: number | null
  readonly learningRate: number | null
  /** The prompts trained on this window (the batch's). */
  readonly batchPrompts: readonly number[]
  /** `rewards_by_hotkey` of the seal. */
  readonly rewardsByHotkey: Readonly<Record<string, number>>
  readonly burn: number
  /** The checkpoint published after this window, if any. */
  readonly published: {
    readonly checkpointN: number
    readonly revision: string
    readonly repoId: string
  } | null
  /** Rejects of the window by reason (handler and worker stages). */
  readonly rejects: Readonly<Record<string, number>>
  /** Counts per miner hotkey. */
  readonly perHotkey: Readonly<Record<string, HotkeyCounts>>
  readonly archivePath: string
  /** Seconds spent open, training and publishing. */
  readonly seconds: { readonly open: number; readonly train: number; readonly publish: number }
}

/** Progress events of a {@link Validator}. */
export type ValidatorEvent =
  | {
      readonly type: 'state'
      readonly windowN: number
      readonly from: WindowPhase
      readonly to: WindowPhase
      readonly atSeconds: number | undefined
    }
  | {
      readonly type: 'open'
      readonly windowN: number
      readonly round: number
      readonly randomness: string
      readonly checkpointN: number
    }
  | { readonly type: 'submission'; readonly windowN: number; readonly submission: SubmissionEvent }
  | {
      readonly type: 'sealed'
      readonly windowN: number
      readonly reason: SealReason
      readonly validSubmissions: number
      readonly batchSize: number
      readonly trained: boolean
    }
  | {
      readonly type: 'trained'
      readonly windowN: number
      readonly loss: number
      readonly kl: number
      readonly learningRate: number
      readonly rolloutsUsed: number
    }
  | { readonly type: 'train_failed'; readonly windowN: number; readonly error: string }
  | {
      readonly type: 'published'
      readonly windowN: number
      readonly checkpointN: number
      readonly revision: string
      readonly repoId: string
    }
  | { readonly type: 'publish_failed'; readonly windowN: number; readonly error: string }
  | {
      readonly type: 'archived'
      readonly windowN: number
      readonly path: string
      readonly bytes: number
    }
  | { readonly type: 'window'; readonly report: WindowReport }

/** A running E3 validator (see {@link createValidator}). */
export type Validator = {
  /** The HTTP API's base URL. */
  readonly url: string
  readonly server: ValidatorServer
  readonly pipeline: AdmissionPipeline
  readonly profile: ProtocolProfile
  readonly tokenizer: ModelTokenizer
  /** The policy being trained (not the verify model). Owned by the validator. */
  readonly policy: CausalLM
  /** The verify model and KL reference: the last published weights. Owned by the validator. */
  readonly verifyModel: CausalLM
  /** The custody `base_model` the validator records. */
  readonly baseModel: { readonly id: string; readonly revision: string }
  /** Current phase (`ready` between windows). */
  readonly phase: WindowPhase
  /** The last window opened (`lastWindowN` before the first). */
  readonly windowN: number
  /** The `/state` document, or `null` when no window is active. */
  state(): WindowState | null
  /** The signed `/checkpoint` manifest, or `null` before the first publish. */
  checkpoint(): CheckpointManifestWire | null
  /** The custody manifest of the last publish, or `null`. */
  custodyManifest(): CustodyManifest | null
  /** The EMA per hotkey (a copy). */
  ema(): Map<string, number>
  /** Every finished window's report, oldest first. */
  reports(): readonly WindowReport[]
  /** Counts per miner hotkey over the validator's life (copies). */
  hotkeyCounts(): Record<string, HotkeyCounts>
  /**
   * One iteration of the E3 loop (PROTOCOL.md §5.1): wait for the next drand boundary, derive the
   * randomness from the verified beacon, OPEN; admit until the seal is due (trigger round, next
   * boundary + grace, empty queue), the window times out, or {@link Validator.closeWindow};
   * TRAINING (one GRPO step on a full batch); PUBLISHING (`shouldPublish`: save, publish with a
   * custody manifest, refresh the verify model); archive; EMA; READY.
   * @throws {ReliquaryError} `WINDOW_STATE_INVALID` when called while a window runs; a drand or
   *   file-system error (the window is then aborted back to `ready`).
   */
  runWindow(): Promise<WindowReport>
  /**
   * Ends the running window with a partial seal, as the window timeout would: at once if it is
   * open, as soon as it opens if it is still waiting for its drand boundary. No-op between
   * `runWindow` calls.
   */
  closeWindow(): void
  /** Closes the server and frees the models and the trainer. Idempotent. */
  dispose(): Promise<void>
}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

function meanStd(xs: readonly number[]): { mean: number | null; std: number | null } {
  if (xs.length === 0) return { mean: null, std: null }
  return { mean: xs.reduce((a, b) => a + b, 0) / xs.length, std: groupSigma(xs) }
}

function countInto(c: HotkeyCounts, e: SubmissionEvent): void {
  if (e.stage === 'handler') c.submitted++
  if (e.accepted) {
    if (e.stage === 'worker') c.accepted++
  } else c.rejected[e.reason] = (c.rejected[e.reason] ?? 0) + 1
}

const newCounts = (): HotkeyCounts => ({ submitted: 0, accepted: 0, rejected: {} })
const copyCounts = (c: HotkeyCounts): HotkeyCounts => ({
  submitted: c.submitted,
  accepted: c.accepted,
  rejected: { ...c.rejected },
})
const describe = (e: unknown): string =>
  (isReliquaryError(e)
    ? `${e.code}: ${e.shortMessage}`
    : e instanceof Error
      ? e.message
      : String(e)
  ).slice(0, 500)

/** Files of a model directory that travel with a checkpoint besides the weights and config (tokenizer, generation config). */
async function copyTokenizerFiles(from: string, to: string): Promise<void> {
  for (const e of await readdir(from, { withFileTypes: true })) {
    if (
      !e.isFile() ||
      e.name.startsWith('.') ||
      e.name === 'config.json' ||
      e.name.endsWith('.safetensors') ||
      e.name.endsWith('.safetensors.index.json') ||
      e.name === 'reliquary_custody.json'
    )
      continue
    await copyFile(join(from, e.name), join(to, e.name))
  }
}

/**
 * Creates an E3 validator in one process: the policy, the verify model (= KL reference, refreshed
 * on every publish, as E3 `822be1a` does) and the GRPO trainer; the admission pipeline with the
 * real `verifyRollout` over the verify model; the HTTP API (`createValidatorServer`); the cooldown,
 * hash dedup and EMA. {@link Validator.runWindow} runs one window of the loop.
 *
 * The window numbers start at `lastWindowN + 1`; with no manifest yet, the first full window
 * publishes (PROTOCOL.md §9), then every `window_n % publishing.intervalWindows === 0`.
 * The validator never changes the TensorFlow.js backend: pick one first (`useBackend`).
 *
 * - Spec: PROTOCOL.md §5.1 (loop), §5.2 (seal), §7 (training), §8 (EMA), §9 (publishing),
 *   §3.7 (archive) (mirrors `ValidatorService.run` in `reliquary/validator/service.py` at 0b2d53f).
 *
 * @param parameters - {@link CreateValidatorParameters}
 * @returns A started {@link Validator} (its server listens).
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for missing parameters, or when the profile's drand
 *   timing differs from the beacon source's chain; model and tokenizer loading errors.
 * @example
 * ```ts
 * import { useBackend } from 'reliquary/model'
 * import { createLocalBeaconChain, createHotkey, defineProfile, e3 } from 'reliquary'
 * // src/validator/createValidator.ts (no package entry point exports it yet)
 * import { createValidator } from './src/validator/createValidator.js'
 * await useBackend('wasm')
 * const chain = createLocalBeaconChain({ genesisTime: Math.floor(Date.now() / 1000), periodSeconds: 2 })
 * const profile = defineProfile(e3, { id: 'e3-local', drand: { chainHash: chain.info.hash, genesisTime: chain.info.genesis_time, periodSeconds: 2 } })
 * const validator = await createValidator({ profile, modelDir, environment, hotkey: await createHotkey('//Validator'), beacons: chain, archiveDir: 'state' })
 * const report = await validator.runWindow()
 * console.log(report.windowN, report.sealReason, report.loss)
 * await validator.dispose()
 * ```
 */
export async function createValidator(parameters: CreateValidatorParameters): Promise<Validator> {
  if (typeof parameters !== 'object' || parameters === null)
    throw invalidArgument('parameters', 'an object', parameters)
  const p = parameters
  const profile = p.profile ?? DEFAULT_PROFILE
  if (typeof p.modelDir !== 'string' || p.modelDir.length === 0)
    throw invalidArgument('modelDir', 'a model directory', p.modelDir)
  const env = p.environment
  if (
    typeof env?.getProblem !== 'function' ||
    typeof env.computeReward !== 'function' ||
    !Number.isSafeInteger(env.size)
  )
    throw invalidArgument('environment', 'a RewardEnvironment', env)
  if (typeof p.hotkey?.sign !== 'function' || typeof p.hotkey.address !== 'string')
    throw invalidArgument('hotkey', 'a Hotkey from createHotkey', p.hotkey)
  if (typeof p.beacons?.beacon !== 'function' || typeof p.beacons.chainInfo !== 'function')
    throw invalidArgument('beacons', 'a BeaconSource', p.beacons)
  if (typeof p.archiveDir !== 'string' || p.archiveDir.length === 0)
    throw invalidArgument('archiveDir', 'a directory path', p.archiveDir)
  const now = p.now ?? ((): number => Date.now() / 1000)
  const sleep = p.sleep ?? defaultSleep
  const pollMs = p.pollIntervalMs ?? 50
  if (!(pollMs > 0)) throw invalidArgument('pollIntervalMs', 'a positive number', pollMs)
  const lastWindowN = p.lastWindowN ?? 0
  if (!Number.isSafeInteger(lastWindowN) || lastWindowN < 0)
    throw invalidArgument('lastWindowN', 'a non-negative integer', lastWindowN)
  const checkpointDir = p.checkpointDir ?? join(p.archiveDir, 'checkpoints')
  const emit = (e: ValidatorEvent): void => {
    try {
      p.onEvent?.(e)
    } catch {
      /* progress output never breaks the loop */
    }
  }

  // The admission gates and the seal boundary follow the beacon chain; the profile must agree, or
  // miners (who read the profile) would stamp other rounds than the validator checks.
  const info: DrandChainInfo = await p.beacons.chainInfo()
  if (
    info.genesis_time !== profile.drand.genesisTime ||
    info.period !== profile.drand.periodSeconds ||
    info.hash.toLowerCase() !== profile.drand.chainHash.toLowerCase()
  ) {
    throw invalidArgument(
      'profile.drand',
      `the beacon chain (${info.hash.slice(0, 12)}…, genesis ${info.genesis_time}, period ${info.period} s)`,
      `${profile.drand.chainHash.slice(0, 12)}…, genesis ${profile.drand.genesisTime}, period ${profile.drand.periodSeconds} s`,
      [
        'Derive the profile with defineProfile(e3, { id, drand: { chainHash, genesisTime, periodSeconds } }) from the chain info.',
      ],
    )
  }
  const timing: DrandTiming = { genesisTime: info.genesis_time, periodSeconds: info.period }

  const tokenizer = p.tokenizer ?? (await loadTokenizer(p.modelDir))
  const baseModel = p.baseModel ?? (await identifyBaseModel(p.modelDir))
  const policy = await loadModel(p.modelDir)
  let verifyModel: CausalLM
  let trainer: GrpoTrainer
  try {
    verifyModel = await loadModel(p.modelDir, { trainable: false })
  } catch (e) {
    policy.dispose()
    throw e
  }
  try {
    trainer = createTrainer({ ...p.grpo, profile, model: policy, referenceModel: verifyModel })
  } catch (e) {
    policy.dispose()
    verifyModel.dispose()
    throw e
  }
  const eosTokenId = tokenizer.eosTokenId ?? policy.config.eosTokenIds[0] ?? null

  const promptCache = new Map<number, readonly number[]>()
  const promptTokens = (idx: number): readonly number[] => {
    let t = promptCache.get(idx)
    if (!t) {
      t = Object.freeze(tokenizer.encode(env.getProblem(idx).prompt))
      if (promptCache.size < 100_000) promptCache.set(idx, t)
    }
    return t
  }
  const pipeline = new AdmissionPipeline({
    profile,
    environment: env,
    decode: (t) => tokenizer.decode(t),
    promptTokens,
    drand: timing,
    verifyRollout: rolloutVerifierFromModel(createRolloutEvaluator(verifyModel)),
  })
  const cooldown = new Cooldown({ profile })
  const hashDedup = new HashDedup({ profile })
  const machine = new WindowStateMachine({ lastWindowN })
  machine.on('transition', (e) => {
    pipeline.setPhase(e.to)
    emit({ type: 'state', windowN: e.windowN, from: e.from, to: e.to, atSeconds: e.atSeconds })
  })

  let batcher: WindowBatcher | null = null
  let windowN = lastWindowN
  let manifest: CheckpointManifestWire | null = null
  let custody: CustodyManifest | null = null
  let checkpointN = 0
  let trainedSinceParent: { windowN: number; batchDigest: string }[] = []
  let ema = new Map<string, number>()
  let closeRequested = false
  let running: Promise<WindowReport> | null = null
  let disposed: Promise<void> | null = null
  const reports: WindowReport[] = []
  const totals = new Map<string, HotkeyCounts>()
  let windowCounts = new Map<string, HotkeyCounts>()
  let windowRejects: Record<string, number> = {}
  let countsWindow = lastWindowN

  const state = (): WindowState | null => {
    if (batcher === null) return null
    return {
      state: machine.phase,
      window_n: batcher.windowStart,
      anchor_block: batcher.windowStart,
      cooldown_prompts: cooldown.inCooldown(batcher.windowStart),
      valid_submissions: batcher.validCount,
      checkpoint_n: checkpointN,
      checkpoint_repo_id: manifest?.repo_id ?? null,
      checkpoint_revision: manifest?.revision ?? null,
      randomness: batcher.randomness,
    }
  }
  const health = (): Health => ({ status: 'ok', active_window: batcher?.windowStart ?? null })

  const onSubmission = (e: SubmissionEvent): void => {
    // Worker verdicts belong to the window they were queued for; handler answers to the window open now.
    const w =
      e.stage === 'worker' && e.windowStart !== null
        ? e.windowStart
        : (batcher?.windowStart ?? windowN)
    const hk = e.hotkey ?? '(no hotkey)'
    let t = totals.get(hk)
    if (!t) totals.set(hk, (t = newCounts()))
    countInto(t, e)
    if (w === countsWindow) {
      let c = windowCounts.get(hk)
      if (!c) windowCounts.set(hk, (c = newCounts()))
      countInto(c, e)
      if (!e.accepted) windowRejects[e.reason] = (windowRejects[e.reason] ?? 0) + 1
    }
    emit({ type: 'submission', windowN: w, submission: e })
  }

  const server = await createValidatorServer({
    pipeline,
    state,
    checkpoint: () => manifest,
    health,
    now,
    onSubmission,
    ...(p.server?.host !== undefined ? { host: p.server.host } : {}),
    ...(p.server?.port !== undefined ? { port: p.server.port } : {}),
    ...(p.server?.maxBodyBytes !== undefined ? { maxBodyBytes: p.server.maxBodyBytes } : {}),
    ...(p.server?.maxQueueDepth !== undefined ? { maxQueueDepth: p.server.maxQueueDepth } : {}),
  }).catch((e: unknown) => {
    trainer.dispose()
    policy.dispose()
    verifyModel.dispose()
    throw e
  })

  const sleepUntil = async (tSeconds: number): Promise<void> => {
    for (;;) {
      const ms = (tSeconds - now()) * 1000
      if (ms <= 0) return
      await sleep(Math.min(ms, 1000))
    }
  }

  /** The verified beacon of `round`, retrying while the source has not produced it yet. */
  const beaconAt = async (round: number): Promise<VerifiedBeacon> => {
    const deadline = drandRoundTime(round, timing) + 5 * timing.periodSeconds + 10
    for (;;) {
      try {
        return await p.beacons.beacon(round)
      } catch (e) {
        if (!isReliquaryError(e, 'DRAND_UNAVAILABLE') || now() > deadline) throw e
        await sleep(Math.min(250, timing.periodSeconds * 250))
      }
    }
  }

  const toGrpoBatch = (batch: readonly ValidSubmission[]) =>
    parseGrpoBatch(batch.map((s) => ({ promptIdx: s.promptIdx, rollouts: s.rollouts })))

  /** Saves the policy, publishes it with a custody manifest, and reloads the verify model from what was saved. */
  const publish = async (
    n: number,
  ): Promise<{ checkpointN: number; revision: string; repoId: string }> => {
    const hub = p.hub!
    const next = checkpointN + 1
    const dir = join(checkpointDir, `ckpt_${next}`)
    await mkdir(dir, { recursive: true })
    await saveModel(policy, dir, { dtype: p.checkpointDtype ?? 'BF16' })
    await copyTokenizerFiles(p.modelDir, dir)
    const out = await publishCheckpoint({
      repoId: hub.repoId,
      dir,
      checkpointN: next,
      hotkey: p.hotkey,
      accessToken: hub.accessToken,
      custody: { baseModel, profileId: profile.id, parent: custody, windows: trainedSinceParent },
      ...(hub.hubUrl !== undefined ? { hubUrl: hub.hubUrl } : {}),
      ...(hub.fetch !== undefined ? { fetch: hub.fetch } : {}),
    })
    // E3 (822be1a): verify against, and regularise towards, exactly the published weights.
    const fresh = await loadModel(dir, { trainable: false })
    try {
      for (const [name, v] of verifyModel.weights) {
        const src = fresh.weights.get(name)
        if (!src)
          throw new ReliquaryError('MODEL_WEIGHT_MISSING', `The saved checkpoint lacks ${name}.`)
        v.assign(src)
      }
    } finally {
      fresh.dispose()
    }
    manifest = out.referenceManifest
    custody = out.custodyManifest
    checkpointN = next
    trainedSinceParent = []
    emit({
      type: 'published',
      windowN: n,
      checkpointN: next,
      revision: out.revision,
      repoId: hub.repoId,
    })
    return { checkpointN: next, revision: out.revision, repoId: hub.repoId }
  }

  const runWindow = (): Promise<WindowReport> => {
    if (disposed)
      return Promise.reject(
        new ReliquaryError('WINDOW_STATE_INVALID', 'This validator has been disposed.'),
      )
    if (running)
      return Promise.reject(
        new ReliquaryError(
          'WINDOW_STATE_INVALID',
          'runWindow() called while a window is running.',
          { hints: ['Await each runWindow() before starting the next.'] },
        ),
      )
    closeRequested = false
    const run = runOneWindow().finally(() => {
      running = null
    })
    running = run
    return run
  }

  const runOneWindow = async (): Promise<WindowReport> => {
    const n = windowN + 1
    try {
      // 1. Wait for the next drand boundary, then take that round's verified beacon.
      const round = drandRoundAt(now(), timing) + 1
      await sleepUntil(drandRoundTime(round, timing))
      const beacon = await beaconAt(round)
      const randomness = windowRandomnessFromBeacon(beacon, { chainHash: info.hash })
      const openedAt = now()
      windowN = n
      countsWindow = n
      windowCounts = new Map()
      windowRejects = {}
      batcher = new WindowBatcher({
        windowStart: n,
        randomness,
        checkpointHash: manifest?.revision ?? '',
        cooldown,
        hashDedup,
        profile,
        drand: timing,
        openedAtSeconds: openedAt,
      })
      pipeline.setActiveBatcher(batcher)
      machine.open(n, openedAt)
      emit({ type: 'open', windowN: n, round, randomness, checkpointN })

      // 2. Admit until the seal is due, the window times out, or closeWindow().
      let sealReason: SealReason
      for (;;) {
        const t = now()
        if (closeRequested) {
          sealReason = 'closed'
          break
        }
        if (batcher.isTimedOut(t)) {
          sealReason = 'timeout'
          break
        }
        if (batcher.isSealDue(t, { queueDepth: server.pending() })) {
          sealReason = 'trigger'
          break
        }
        await sleep(pollMs)
      }
      const sealedAt = now()
      machine.startTraining(sealedAt)
      const sealed: SealWindowReturnType<ValidSubmission> = batcher.seal(sealedAt, {
        queueDepth: server.pending(),
        force: true,
      })
      emit({
        type: 'sealed',
        windowN: n,
        reason: sealReason,
        validSubmissions: batcher.validCount,
        batchSize: sealed.batch.length,
        trained: sealed.trained,
      })

      // 3. TRAINING: one GRPO step, only on a full batch.
      let step: GrpoStepReturnType | null = null
      if (sealed.trained) {
        try {
          step = await trainer.step(toGrpoBatch(sealed.batch))
          trainedSinceParent.push({
            windowN: n,
            batchDigest: batchDigest(sealed.batch.flatMap((s) => s.rolloutHashes)),
          })
          emit({
            type: 'trained',
            windowN: n,
            loss: step.loss,
            kl: step.kl,
            learningRate: step.learningRate,
            rolloutsUsed: step.rolloutsUsed,
          })
        } catch (e) {
          emit({ type: 'train_failed', windowN: n, error: describe(e) })
        }
      }
      const trainedAt = now()

      // 4. PUBLISHING.
      machine.startPublishing(trainedAt)
      let published: WindowReport['published'] = null
      if (
        p.hub &&
        shouldPublish({
          windowN: n,
          trained: step !== null,
          hasManifest: manifest !== null,
          profile,
        })
      ) {
        try {
          published = await publish(n)
        } catch (e) {
          emit({ type: 'publish_failed', windowN: n, error: describe(e) })
        }
      }
      const publishedAt = now()

      // 5. Archive (the reference's R2 object, written to archiveDir).
      const record = buildWindowArchive({
        batcher,
        validatorHotkey: p.hotkey.address,
        environment: env,
        eosTokenId,
        lateDrops: pipeline.takeLateDrops(),
      })
      const bytes = await encodeWindowArchive(record)
      const archivePath = join(p.archiveDir, ...windowArchiveKey(n).split('/'))
      await mkdir(dirname(archivePath), { recursive: true })
      await writeFile(archivePath, bytes)
      emit({ type: 'archived', windowN: n, path: archivePath, bytes: bytes.length })

      // 6. EMA over every sealed window, partial ones included.
      ema = updateEma(ema, sealed.rewardsByHotkey, { profile })

      // 7. READY: the batcher is cleared (/state answers 503 until the next window opens).
      const validSubmissions = batcher.validCount
      machine.finish(now())
      pipeline.setActiveBatcher(null)
      batcher = null

      const rewards = meanStd(sealed.batch.flatMap((s) => s.rollouts.map((r) => r.reward)))
      const report: WindowReport = Object.freeze({
        windowN: n,
        round,
        randomness,
        sealReason,
        validSubmissions,
        batchSize: sealed.batch.length,
        trained: step !== null,
        rewardMean: rewards.mean,
        rewardStd: rewards.std,
        loss: step?.loss ?? null,
        kl: step?.kl ?? null,
        ppoLoss: step?.ppoLoss ?? null,
        gradNorm: step?.gradNorm ?? null,
        learningRate: step?.learningRate ?? null,
        batchPrompts: sealed.batch.map((s) => s.promptIdx),
        rewardsByHotkey: Object.fromEntries(sealed.rewardsByHotkey),
        burn: sealed.burn,
        published,
        rejects: { ...windowRejects },
        perHotkey: Object.fromEntries([...windowCounts].map(([k, c]) => [k, copyCounts(c)])),
        archivePath,
        seconds: {
          open: sealedAt - openedAt,
          train: trainedAt - sealedAt,
          publish: publishedAt - trainedAt,
        },
      })
      reports.push(report)
      emit({ type: 'window', report })
      return report
    } catch (e) {
      machine.abort(now())
      pipeline.setActiveBatcher(null)
      batcher = null
      throw e
    }
  }

  return {
    url: server.url,
    server,
    pipeline,
    profile,
    tokenizer,
    policy,
    verifyModel,
    baseModel: Object.freeze({ ...baseModel }),
    get phase() {
      return machine.phase
    },
    get windowN() {
      return windowN
    },
    state,
    checkpoint: () => manifest,
    custodyManifest: () => custody,
    ema: () => new Map(ema),
    reports: () => [...reports],
    hotkeyCounts: () => Object.fromEntries([...totals].map(([k, c]) => [k, copyCounts(c)])),
    runWindow,
    closeWindow: () => {
      if (running) closeRequested = true
    },
    dispose: () =>
      (disposed ??= (async () => {
        closeRequested = true
        await running?.catch(() => undefined)
        await server.close()
        trainer.dispose()
        verifyModel.dispose()
        policy.dispose()
      })()),
  }
}
