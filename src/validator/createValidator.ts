import type { Hotkey } from '../crypto/sr25519.js'
import type { BeaconSource, DrandChainInfo } from '../drand/beacon.js'
import { ReliquaryError, invalidArgument } from '../errors/base.js'
import type { GrpoOptions } from '../grpo/types.js'
import type { CustodyManifest } from '../manifest/custodyManifest.js'
import type { CausalLM } from '../model/loadModel.js'
import { loadTokenizer, type ModelTokenizer } from '../model/loadTokenizer.js'
import { DEFAULT_PROFILE, type ProtocolProfile } from '../protocol/profiles.js'
import type { CheckpointManifestWire, WindowState } from '../protocol/schemas.js'
import { publishedProfileId } from '../protocol/withHardening.js'
import { assertRewardEnvironment, type RewardEnvironment } from '../reward/environment.js'
import { AdmissionPipeline } from '../window/admission/admissionPipeline.js'
import type { RolloutVerifier } from '../window/admission/admissionTypes.js'
import type { ValidatorPrecision } from './createValidatorEvaluator.js'
import { startValidatorCompute } from './startValidatorCompute.js'
import { WindowStateMachine, type WindowPhase } from '../window/windowStateMachine.js'
import { createValidatorServer, type ValidatorServer } from './http/createValidatorServer.js'
import { createHubPublisher, type ValidatorHubOptions } from './hubPublisher.js'
import { identifyBaseModel } from './identifyBaseModel.js'
import { disposeValidatorModels, loadValidatorModels } from './loadValidatorModels.js'
import { runWindow } from './runWindow.js'
import { SubmissionTally, type HotkeyCounts } from './submissionTally.js'
import type { ValidatorContext } from './validatorContext.js'
import { persistenceFor, resumeOrDispose, stateDirsOf } from './openStateDir.js'
import { promptTokensOf } from './promptTokensOf.js'
import type { ValidatorEvent } from './validatorEvent.js'
import { createValidatorState, type ValidatorState } from './validatorState.js'
import type { ModelWorker } from './worker/createModelWorker.js'
import type { ValidatorCompute } from './worker/startModelWorker.js'
import type { WindowReport } from './windowReport.js'

export type { HotkeyCounts } from './submissionTally.js'
export type { SealReason } from './steps/admitUntilSeal.js'
export type { ValidatorEvent } from './validatorEvent.js'
export type { ValidatorHubOptions } from './hubPublisher.js'
export type { WindowReport } from './windowReport.js'

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
  /** State directory: each window is committed there atomically (archives and checkpoints written once) and a validator started on it resumes where the last one stopped (`resumeValidator`). @default none: nothing is resumed */
  stateDir?: string | undefined
  /** Window archives are written here under `windowArchiveKey(n)` (gzip JSON, the reference's R2 layout), once each. @default stateDir */
  archiveDir?: string | undefined
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
        submitWorkers?: number | undefined
      }
    | undefined
  /** Where verification's forward passes and GRPO steps run (see `startModelWorker`). @default "in-process" */
  compute?: ValidatorCompute | undefined
  /** Precision of admission verification on the webgpu backend (see `createValidatorEvaluator`). @default "f32" */
  precision?: ValidatorPrecision | undefined
  /** How often the open window checks its seal condition. @default 50 */
  pollIntervalMs?: number | undefined
  /** Progress events. Must not throw (errors are ignored). */
  onEvent?: ((event: ValidatorEvent) => void) | undefined
  /**
   * Who is registered on the subnet (a chain registry from `reliquary/chain`). When given,
   * admission rejects a `miner_hotkey` without a uid (`hotkey_not_registered`); without it (demo,
   * tests) registration is not checked. The lookup is synchronous: the registry refreshes the
   * metagraph in the background, so no submission waits on the chain.
   */
  registry?: { isRegistered(hotkey: string): boolean | undefined } | undefined
  /** Replaces the admission's rollout verification (a test double). @default `verifyRollout` over the verify model */
  verifyRollout?: RolloutVerifier | undefined
}

/** A running E3 validator (see {@link createValidator}). */
export type Validator = {
  /** The HTTP API's base URL. */
  readonly url: string
  readonly server: ValidatorServer
  readonly pipeline: AdmissionPipeline
  readonly profile: ProtocolProfile
  readonly tokenizer: ModelTokenizer
  /**
   * The policy being trained (not the verify model). Owned by the validator. With compute
   * `"worker"` the model worker holds the last GRPO step until `modelWorker.pull()`: await it
   * before reading the weights.
   */
  readonly policy: CausalLM
  /** The verify model and KL reference: the last published weights. Owned by the validator. */
  readonly verifyModel: CausalLM
  /** The model worker (compute `"worker"`), or `null` when the models run in-process. */
  readonly modelWorker: ModelWorker | null
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
   * One iteration of the E3 loop (docs/protocol.md §5.1): wait for the next drand boundary, derive
   * the randomness from the verified beacon, OPEN; admit until the seal is due (trigger round, next
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

/** The parameters every step needs, checked once. */
function resolveParameters(p: CreateValidatorParameters) {
  if (typeof p !== 'object' || p === null) throw invalidArgument('parameters', 'an object', p)
  if (typeof p.modelDir !== 'string' || p.modelDir.length === 0)
    throw invalidArgument('modelDir', 'a model directory', p.modelDir)
  const env = p.environment
  assertRewardEnvironment(env)
  if (typeof p.hotkey?.sign !== 'function' || typeof p.hotkey.address !== 'string')
    throw invalidArgument('hotkey', 'a Hotkey from createHotkey', p.hotkey)
  if (typeof p.beacons?.beacon !== 'function' || typeof p.beacons.chainInfo !== 'function')
    throw invalidArgument('beacons', 'a BeaconSource', p.beacons)
  const { archiveDir, checkpointDir } = stateDirsOf(p)
  const pollIntervalMs = p.pollIntervalMs ?? 50
  if (!(pollIntervalMs > 0))
    throw invalidArgument('pollIntervalMs', 'a positive number', pollIntervalMs)
  const lastWindowN = p.lastWindowN ?? 0
  if (!Number.isSafeInteger(lastWindowN) || lastWindowN < 0)
    throw invalidArgument('lastWindowN', 'a non-negative integer', lastWindowN)
  return {
    profile: p.profile ?? DEFAULT_PROFILE,
    environment: env,
    now: p.now ?? ((): number => Date.now() / 1000),
    sleep: p.sleep ?? defaultSleep,
    pollIntervalMs,
    lastWindowN,
    archiveDir,
    checkpointDir,
    emit: (e: ValidatorEvent): void => {
      try {
        p.onEvent?.(e)
      } catch {
        /* progress output never breaks the loop */
      }
    },
  }
}

/**
 * The admission gates and the seal boundary follow the beacon chain; the profile must agree, or
 * miners (who read the profile) would stamp other rounds than the validator checks.
 */
function assertChainMatchesProfile(info: DrandChainInfo, profile: ProtocolProfile): void {
  if (
    info.genesis_time === profile.drand.genesisTime &&
    info.period === profile.drand.periodSeconds &&
    info.hash.toLowerCase() === profile.drand.chainHash.toLowerCase()
  )
    return
  throw invalidArgument(
    'profile.drand',
    `the beacon chain (${info.hash.slice(0, 12)}…, genesis ${info.genesis_time}, period ${info.period} s)`,
    `${profile.drand.chainHash.slice(0, 12)}…, genesis ${profile.drand.genesisTime}, period ${profile.drand.periodSeconds} s`,
    [
      'Derive the profile with defineProfile(e3, { id, drand: { chainHash, genesisTime, periodSeconds } }) from the chain info.',
    ],
  )
}

/** The `/state` document of the open window, or `null` between windows. */
function windowStateOf(state: ValidatorState, phase: WindowPhase): WindowState | null {
  const b = state.batcher
  if (b === null) return null
  return {
    state: phase,
    window_n: b.windowStart,
    anchor_block: b.windowStart,
    cooldown_prompts: state.cooldown.inCooldown(b.windowStart),
    valid_submissions: b.validCount,
    checkpoint_n: state.checkpoint.n,
    checkpoint_repo_id: state.checkpoint.manifest?.repo_id ?? null,
    checkpoint_revision: state.checkpoint.manifest?.revision ?? null,
    randomness: b.randomness,
  }
}

/**
 * The {@link Validator} facade over a started validator: one window at a time, `closeWindow`
 * aborts the running window's signal, `dispose` frees everything once.
 */
function validatorFacade(
  state: ValidatorState,
  ctx: ValidatorContext,
  parts: Pick<
    Validator,
    'server' | 'pipeline' | 'profile' | 'tokenizer' | 'baseModel' | 'modelWorker'
  >,
  closeCompute: () => Promise<void>,
): Validator {
  const reports: WindowReport[] = []
  let running: { done: Promise<WindowReport>; close: AbortController } | null = null
  let disposed: Promise<void> | null = null
  const runOne = (): Promise<WindowReport> => {
    if (disposed)
      return Promise.reject(
        new ReliquaryError('WINDOW_STATE_INVALID', 'This validator has been disposed.'),
      )
    if (running)
      return Promise.reject(
        new ReliquaryError(
          'WINDOW_STATE_INVALID',
          'runWindow() called while a window is running.',
          {
            hints: ['Await each runWindow() before starting the next.'],
          },
        ),
      )
    const close = new AbortController()
    const done = runWindow(state, ctx, close.signal)
      .then((report) => {
        reports.push(report)
        ctx.emit({ type: 'window', report })
        return report
      })
      .finally(() => {
        running = null
      })
    running = { done, close }
    return done
  }
  return {
    url: parts.server.url,
    ...parts,
    policy: state.models.policy,
    verifyModel: state.models.verifyModel,
    get phase() {
      return ctx.machine.phase
    },
    get windowN() {
      return state.windowN
    },
    state: () => windowStateOf(state, ctx.machine.phase),
    checkpoint: () => state.checkpoint.manifest,
    custodyManifest: () => state.checkpoint.custody,
    ema: () => new Map(state.ema),
    reports: () => [...reports],
    hotkeyCounts: () => ctx.tally.totals(),
    runWindow: runOne,
    closeWindow: () => running?.close.abort(),
    dispose: () =>
      (disposed ??= (async () => {
        running?.close.abort()
        await running?.done.catch(() => undefined)
        await parts.server.close()
        // A step the model worker took since the last pull reaches `policy` before the worker
        // goes (best effort: a dead worker's saved state is still read by the pull).
        await parts.modelWorker?.pull().catch(() => undefined)
        await closeCompute()
        disposeValidatorModels(state.models)
      })()),
  }
}

/**
 * Creates an E3 validator in one process: the policy, the verify model (= KL reference, refreshed
 * on every publish, as E3 `822be1a` does) and the GRPO trainer; the admission pipeline with the
 * real `verifyRollout` over the verify model; the HTTP API (`createValidatorServer`); the cooldown,
 * hash dedup and EMA. {@link Validator.runWindow} runs one window of the loop.
 *
 * The window numbers start at `lastWindowN + 1`; with no manifest yet, the first full window
 * publishes (docs/protocol.md §9), then every `window_n % publishing.intervalWindows === 0`.
 * The validator never changes the TensorFlow.js backend: pick one first (`useBackend`).
 *
 * - Spec: docs/protocol.md §5.1 (loop), §5.2 (seal), §7 (training), §8 (EMA), §9 (publishing),
 *   §3.7 (archive) (mirrors `ValidatorService.run` in `reliquary/validator/service.py` at 0b2d53f).
 *
 * @param parameters - {@link CreateValidatorParameters}
 * @returns A started {@link Validator} (its server listens).
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for missing parameters, or when the profile's drand
 *   timing differs from the beacon source's chain; model and tokenizer loading errors.
 * @example
 * ```ts
 * import { useBackend } from 'reliquary/model'
 * import { createHotkey, defineProfile, e3 } from 'reliquary'
 * import { createLocalBeaconChain } from 'reliquary/drand'
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
  const p = parameters
  const o = resolveParameters(p)
  const { profile, environment: env, now } = o
  const info: DrandChainInfo = await p.beacons.chainInfo()
  assertChainMatchesProfile(info, profile)
  const timing = { genesisTime: info.genesis_time, periodSeconds: info.period }

  const tokenizer = p.tokenizer ?? (await loadTokenizer(p.modelDir))
  const baseModel = p.baseModel ?? (await identifyBaseModel(p.modelDir))
  const models = await loadValidatorModels({ modelDir: p.modelDir, profile, grpo: p.grpo })
  const state = createValidatorState({ lastWindowN: o.lastWindowN, profile, models })
  const computeParts = await startValidatorCompute({
    ...p,
    models,
    grpo: { ...p.grpo, profile },
    profile,
  })
  const { modelWorker } = computeParts
  const pipeline = new AdmissionPipeline({
    profile,
    environment: env,
    decode: (t) => tokenizer.decode(t),
    promptTokens: promptTokensOf(tokenizer, env),
    drand: timing,
    verifyRollout: computeParts.verifyRollout,
    // Batched only where the evaluator batches (gpu): elsewhere per rollout, stopping at the first reject.
    ...(computeParts.verifyRollouts ? { verifyRollouts: computeParts.verifyRollouts } : {}),
    ...(p.registry ? { isRegistered: (h: string) => p.registry!.isRegistered(h) } : {}),
  })
  const machine = new WindowStateMachine({ lastWindowN: o.lastWindowN })
  machine.on('transition', (e) => {
    pipeline.setPhase(e.to)
    o.emit({ type: 'state', windowN: e.windowN, from: e.from, to: e.to, atSeconds: e.atSeconds })
  })
  const tally = new SubmissionTally(o.lastWindowN)
  const server = await createValidatorServer({
    pipeline,
    state: () => windowStateOf(state, machine.phase),
    checkpoint: () => state.checkpoint.manifest,
    health: () => ({ status: 'ok', active_window: state.batcher?.windowStart ?? null }),
    now,
    onSubmission: (e) => {
      const windowN = tally.record(e, state.batcher?.windowStart ?? state.windowN)
      o.emit({ type: 'submission', windowN, submission: e })
    },
    ...(p.server?.host !== undefined ? { host: p.server.host } : {}),
    ...(p.server?.port !== undefined ? { port: p.server.port } : {}),
    ...(p.server?.maxBodyBytes !== undefined ? { maxBodyBytes: p.server.maxBodyBytes } : {}),
    ...(p.server?.maxQueueDepth !== undefined ? { maxQueueDepth: p.server.maxQueueDepth } : {}),
    ...(p.server?.submitWorkers !== undefined ? { submitWorkers: p.server.submitWorkers } : {}),
  }).catch(async (e: unknown) => {
    await computeParts.close()
    disposeValidatorModels(models)
    throw e
  })

  const ctx: ValidatorContext = {
    profile,
    timing,
    chainHash: info.hash,
    beacons: p.beacons,
    now,
    sleep: o.sleep,
    pollIntervalMs: o.pollIntervalMs,
    machine,
    pipeline,
    pendingSubmissions: () => server.pending(),
    environment: env,
    eosTokenId: tokenizer.eosTokenId ?? models.policy.config.eosTokenIds[0] ?? null,
    validatorAddress: p.hotkey.address,
    archiveDir: o.archiveDir,
    persistence: persistenceFor(p, { ...o, modelWorker }),
    publisher: p.hub
      ? createHubPublisher({
          hub: p.hub,
          modelDir: p.modelDir,
          checkpointDir: o.checkpointDir,
          checkpointDtype: p.checkpointDtype ?? 'BF16',
          hotkey: p.hotkey,
          baseModel,
          profileId: publishedProfileId(profile),
        })
      : null,
    tally,
    ...(modelWorker ? { trainStep: modelWorker.step, pullModels: modelWorker.pull } : {}),
    emit: o.emit,
  }
  if (ctx.persistence) await resumeOrDispose(state, ctx, server)
  const frozenBase = Object.freeze({ ...baseModel })
  return validatorFacade(
    state,
    ctx,
    {
      server,
      pipeline,
      profile,
      tokenizer,
      baseModel: frozenBase,
      modelWorker,
    },
    computeParts.close,
  )
}
