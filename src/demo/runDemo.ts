import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { createHotkey } from '../crypto/sr25519.js'
import { createLocalBeaconChain } from '../drand/localBeaconChain.js'
import { invalidArgument, isReliquaryError } from '../errors/base.js'
import { startHubServer } from '../hub/localHubServer.js'
import { useBackend, type BackendName } from '../model/backend.js'
import { generate } from '../model/generate.js'
import { loadModel, type CausalLM } from '../model/loadModel.js'
import { loadModelConfig } from '../model/parseModelConfig.js'
import { loadTokenizer, type ModelTokenizer } from '../model/loadTokenizer.js'
import { createFrontierPicker, uniformPicker, type PromptPicker } from '../miner/frontier.js'
import { createMiner } from '../miner/createMiner.js'
import type { Miner } from '../miner/types.js'
import { e3, type ProtocolProfile } from '../protocol/profiles.js'
import type { RewardEnvironment } from '../reward/environment.js'
import { groupSigma, isInZone } from '../reward/groups.js'
import {
  createValidator,
  type HotkeyCounts,
  type Validator,
  type ValidatorEvent,
  type WindowReport,
} from '../validator/createValidator.js'
import {
  createTargetTokenEnvironment,
  isTargetRewardDecided,
  parseTargetRule,
} from './environment.js'
import { createDemoProfile, DEMO_PROFILE_NUMBERS } from './profile.js'
import { bundledModelDir } from './bundledModel.js'
import {
  renderDemoReport,
  type DemoMinerSummary,
  type DemoSummary,
  type DemoWindowSummary,
} from './report.js'

/** The miners a demo can run: two honest ones that differ only in how they pick prompts, and the adversary. */
export type DemoMinerKind = 'frontier' | 'uniform' | 'cheater'

/** Options of {@link runDemo}. Every field has a default; `{}` runs the full 12-window demo. */
export type RunDemoOptions = {
  /** Windows to run. @default 12 (window 10 publishes a checkpoint) */
  windows?: number | undefined
  /** The miners, one per entry (kinds may repeat). @default ['frontier', 'uniform', 'cheater'] */
  miners?: readonly DemoMinerKind[] | undefined
  /** Seed of the environment, the hotkeys, the pickers and every sampling seed. @default 0 */
  seed?: number | undefined
  /** Where the HTML report is written; `null` writes none. @default 'reliquary-demo.html' */
  out?: string | null | undefined
  /** Receives every progress line and the final summary table. @default console.log */
  log?: ((line: string) => void) | undefined
  /** Also log every miner log entry (group skipped, submitted, verdict, …), not only warnings and checkpoint switches. @default false */
  verbose?: boolean | undefined
  /** The model every participant starts from. @default the bundled `assets/qwen3-tiny-s0` */
  modelDir?: string | undefined
  /** Working directory (archives, checkpoints, the miners' verified snapshots). @default a fresh temporary directory, removed at the end */
  workDir?: string | undefined
  /** Keep `workDir` after the run. @default false */
  keepWorkDir?: boolean | undefined
  /** TensorFlow.js backend, chosen once for the whole run. @default 'wasm' */
  backend?: BackendName | undefined
  /** Seconds between rounds of the local drand chain. @default 2 */
  periodSeconds?: number | undefined
  /** Groups an honest miner attempts per pass over a window (passes repeat while the window is open and the miner has quota left, 4 at most). @default 4 */
  groupsPerWindow?: number | undefined
  /** Groups the cheater attempts per pass (its cheats rotate: fabricated sketches, lied rewards, replay). @default 2 */
  cheaterGroupsPerWindow?: number | undefined
  /**
   * Prompts in the trained-prompt evaluation set: the first distinct prompts of the trained
   * batches, fixed once full. After every window the current policy and the base model are
   * sampled on them with the same seeds. @default 8
   */
  evalPrompts?: number | undefined
  /** Samples per prompt in that evaluation. @default 8 */
  evalRollouts?: number | undefined
}

/** Result of {@link runDemo}. */
export type RunDemoReturnType = {
  /** What the HTML report draws. */
  readonly summary: DemoSummary
  /** The validator's report of every window. */
  readonly reports: readonly WindowReport[]
  /** The demo profile (e3 with the numbers listed in `profileChanges`). */
  readonly profile: ProtocolProfile
  /** Every number of the demo profile that differs from e3, as `path: e3 → demo`. */
  readonly profileChanges: readonly string[]
  /** Per miner: kind, hotkey, counts (validator side), EMA weight. */
  readonly miners: readonly {
    readonly kind: DemoMinerKind
    readonly label: string
    readonly hotkey: string
    readonly counts: HotkeyCounts
    readonly emaWeight: number
  }[]
  /** Checkpoints published: window, number, revision. */
  readonly checkpoints: readonly {
    readonly windowN: number
    readonly checkpointN: number
    readonly revision: string
  }[]
  /** Miners' checkpoint switches, each after the custody verification passed. */
  readonly checkpointLoads: readonly {
    readonly miner: string
    readonly checkpointN: number
    readonly revision: string
  }[]
  /** The trained-prompt evaluation set (prompt indices), complete from the window it filled up. */
  readonly evalPrompts: readonly number[]
  /** The final summary table, as printed. */
  readonly text: string
  /** Wall-clock seconds of the whole run (model loading included). */
  readonly seconds: number
  /** The HTML report's path, or null. */
  readonly out: string | null
}

/** The defaults of {@link runDemo}. */
export const DEMO_DEFAULTS = /*#__PURE__*/ Object.freeze({
  windows: 12,
  miners: Object.freeze(['frontier', 'uniform', 'cheater'] as const),
  seed: 0,
  out: 'reliquary-demo.html',
  backend: 'wasm' as BackendName,
  periodSeconds: 2,
  groupsPerWindow: 4,
  cheaterGroupsPerWindow: 2,
  evalPrompts: 8,
  evalRollouts: 8,
  /** Problems in the target-token environment. */
  environmentSize: 256,
  /** The demo profile's numbers on top of e3 (see `createDemoProfile`). */
  profile: DEMO_PROFILE_NUMBERS,
  repoId: 'reliquary-demo/qwen3-tiny-grpo',
} as const)

/** Most passes of the miners over one window (each pass: every miner with quota left runs once). */
const MAX_PASSES = 4

const MINER_LABEL: Readonly<Record<DemoMinerKind, string>> = {
  frontier: 'frontier (honest)',
  uniform: 'uniform (honest)',
  cheater: 'cheater',
}

/** Every leaf of `b` that differs from `a`, as `path: a → b` (ids and descriptions excluded). */
function profileChanges(a: unknown, b: unknown, path = ''): string[] {
  if (
    typeof a === 'object' &&
    a !== null &&
    !Array.isArray(a) &&
    typeof b === 'object' &&
    b !== null &&
    !Array.isArray(b)
  ) {
    const out: string[] = []
    for (const k of Object.keys(b)) {
      if (path === '' && (k === 'id' || k === 'description')) continue
      out.push(
        ...profileChanges(
          (a as Record<string, unknown>)[k],
          (b as Record<string, unknown>)[k],
          path ? `${path}.${k}` : k,
        ),
      )
    }
    return out
  }
  return JSON.stringify(a) === JSON.stringify(b)
    ? []
    : [`${path}: ${JSON.stringify(a)} → ${JSON.stringify(b)}`]
}

const fmt = (v: number | null | undefined, digits = 3): string =>
  v === null || v === undefined || !Number.isFinite(v)
    ? '–'
    : Math.abs(v) !== 0 && Math.abs(v) < 1e-3
      ? v.toExponential(2)
      : v.toFixed(digits)
const pct = (a: number, b: number): string => (b > 0 ? `${((100 * a) / b).toFixed(1)}%` : '–')
const signed = (v: number): string => `${v >= 0 ? '+' : ''}${v.toFixed(3)}`
const rejectedTotal = (c: HotkeyCounts): number =>
  Object.values(c.rejected).reduce((x, y) => x + y, 0)
const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length))
const lpad = (s: string, n: number): string => (s.length >= n ? s : ' '.repeat(n - s.length) + s)

/**
 * Sum of the rewards of `rollouts` samples of `model` on prompt `idx` under the profile's sampling,
 * with sampling seeds that depend only on (`seed`, `idx`, sample): every model evaluated on a
 * prompt sees the same random numbers, so policy and base differ only by their weights.
 */
async function promptRewardSum(
  model: CausalLM,
  tokenizer: ModelTokenizer,
  profile: ProtocolProfile,
  env: RewardEnvironment,
  idx: number,
  rollouts: number,
  seed: number,
): Promise<number> {
  const problem = env.getProblem(idx)
  const ids = tokenizer.encode(problem.prompt)
  const { sampling } = profile
  const maxNewTokens = Math.max(1, sampling.maxNewTokensCap - ids.length)
  // The reward depends on a prefix only: stop sampling once it is decided (same tokens, same reward).
  const rule = parseTargetRule(problem.groundTruth)
  const stopWhen = (completion: readonly number[]): boolean =>
    isTargetRewardDecided(rule, tokenizer.decode(completion))
  let sum = 0
  for (let j = 0; j < rollouts; j++) {
    const g = await generate(model, ids, {
      maxNewTokens,
      temperature: sampling.temperature,
      topP: sampling.topP,
      topK: sampling.topK,
      seed: seed * 1_000_003 + idx * 101 + j,
      stopWhen,
    })
    sum += env.computeReward(problem, tokenizer.decode(g.completion))
  }
  return sum
}

/**
 * Runs the Reliquary market end to end in one process, offline: a local BLS-signed drand chain
 * (2 s rounds), a local Hugging Face Hub server, the bundled random tiny Qwen3 model, the
 * target-token environment, an E3 validator (`createValidator`) and three miners (`createMiner`):
 * an honest one with the frontier picker, an honest one with the uniform picker, and a cheater
 * (fabricated sketches, lied rewards, replays). The miners share the validator's event loop and
 * take turns within a window (the first one rotates); when the validator seals a window their
 * remaining work is aborted.
 *
 * Each window prints live progress (open, every verdict, seal, GRPO step, publish, checkpoint
 * switches). The validator publishes its first full window and every window `n % 10 === 0` to
 * the local Hub with a signed custody manifest; the miners verify the reference manifest, the
 * custody chain and every file digest (`downloadCheckpoint`) before switching. At the end it
 * prints a summary table (per miner: accepted, rejected by reason, acceptance rate, EMA weight;
 * per window: batch reward mean and σ, loss, KL, reward on trained prompts) and writes the HTML
 * report (`renderDemoReport`) to `out`.
 *
 * The demo profile is `createDemoProfile` (e3 with the numbers of `DEMO_PROFILE_NUMBERS`) on a local drand
 * chain; the exact list is returned as `profileChanges` and printed.
 *
 * @param options - {@link RunDemoOptions}
 * @returns {@link RunDemoReturnType}
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for bad options; `TFJS_NOT_AVAILABLE` when the
 *   backend cannot load; a validator error that aborts a window (servers are closed and the work
 *   directory removed first).
 * @example
 * ```ts
 * import { runDemo } from './src/demo/runDemo.js'
 * const { summary, seconds } = await runDemo({ windows: 12, out: 'demo.html' })
 * console.log(summary.miners.map((m) => `${m.label}: ${m.emaWeight}`), seconds)
 * ```
 */
export async function runDemo(options: RunDemoOptions = {}): Promise<RunDemoReturnType> {
  if (typeof options !== 'object' || options === null)
    throw invalidArgument('options', 'an object', options)
  const started = performance.now()
  const d = DEMO_DEFAULTS
  const windows = options.windows ?? d.windows
  const kinds: readonly DemoMinerKind[] = options.miners ?? d.miners
  const kindsValue: unknown = kinds
  const seed = options.seed ?? d.seed
  const out = options.out === undefined ? d.out : options.out
  const log = options.log ?? ((line: string) => console.log(line))
  const verbose = options.verbose ?? false
  const periodSeconds = options.periodSeconds ?? d.periodSeconds
  const groupsPerWindow = options.groupsPerWindow ?? d.groupsPerWindow
  const cheaterGroups = options.cheaterGroupsPerWindow ?? d.cheaterGroupsPerWindow
  const evalPrompts = options.evalPrompts ?? d.evalPrompts
  const evalRollouts = options.evalRollouts ?? d.evalRollouts
  for (const [k, v, min] of [
    ['windows', windows, 1],
    ['periodSeconds', periodSeconds, 1],
    ['groupsPerWindow', groupsPerWindow, 1],
    ['cheaterGroupsPerWindow', cheaterGroups, 1],
    ['evalPrompts', evalPrompts, 0],
    ['evalRollouts', evalRollouts, 1],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < min) throw invalidArgument(k, `an integer ≥ ${min}`, v)
  }
  if (!Number.isSafeInteger(seed) || seed < 0)
    throw invalidArgument('seed', 'a non-negative integer', seed)
  if (
    !Array.isArray(kindsValue) ||
    kindsValue.some((k: unknown) => typeof k !== 'string' || !Object.hasOwn(MINER_LABEL, k))
  )
    throw invalidArgument('miners', "an array of 'frontier' | 'uniform' | 'cheater'", kinds)
  if (out !== null && (typeof out !== 'string' || out.length === 0))
    throw invalidArgument('out', 'a file path or null', out)
  if (typeof log !== 'function') throw invalidArgument('log', 'a function', log)

  await useBackend(options.backend ?? d.backend)
  const modelDir = resolve(options.modelDir ?? bundledModelDir())
  const tokenizer = await loadTokenizer(modelDir)
  const modelConfig = await loadModelConfig(modelDir)
  const environment = createTargetTokenEnvironment({
    tokenizer,
    vocabSize: modelConfig.vocabSize,
    seed,
    size: d.environmentSize,
  })
  const chain = createLocalBeaconChain({
    genesisTime: Math.floor(Date.now() / 1000) - 2 * periodSeconds,
    periodSeconds,
  })
  const profile = createDemoProfile({
    chainHash: chain.info.hash,
    genesisTime: chain.info.genesis_time,
    periodSeconds: chain.info.period,
  })
  const changes = profileChanges(e3, profile)

  const workDir = options.workDir ?? (await mkdtemp(join(tmpdir(), 'reliquary-demo-')))
  await mkdir(workDir, { recursive: true })
  const hub = await startHubServer()
  const labels = new Map<string, string>()
  const checkpoints: { windowN: number; checkpointN: number; revision: string }[] = []
  const checkpointLoads: { miner: string; checkpointN: number; revision: string }[] = []
  let currentWindow = 0
  let sealedWindow = 0
  let onSealed: (() => void) | null = null
  const label = (hk: string | null): string =>
    hk === null ? '(unparsed body)' : (labels.get(hk) ?? `${hk.slice(0, 8)}…`)

  const onEvent = (e: ValidatorEvent): void => {
    switch (e.type) {
      case 'open':
        log(
          `window ${e.windowN} open · drand round ${e.round} · randomness ${e.randomness.slice(0, 12)}… · checkpoint ${e.checkpointN}`,
        )
        break
      case 'submission': {
        const s = e.submission
        if (s.stage === 'handler' && s.accepted) break
        log(
          `  w${e.windowN} ${pad(label(s.hotkey), 18)} ${s.stage === 'worker' ? 'verdict' : `HTTP ${s.status}`}: ${s.reason}`,
        )
        break
      }
      case 'sealed':
        sealedWindow = e.windowN
        onSealed?.()
        log(
          `  w${e.windowN} sealed (${e.reason}): ${e.validSubmissions} valid submission(s), batch of ${e.batchSize}${e.trained ? '' : ' (partial: no training)'}`,
        )
        break
      case 'trained':
        log(
          `  w${e.windowN} GRPO step: loss ${fmt(e.loss, 5)} · KL ${fmt(e.kl, 6)} · lr ${e.learningRate.toExponential(2)} · ${e.rolloutsUsed} rollouts`,
        )
        break
      case 'train_failed':
        log(`  w${e.windowN} training failed: ${e.error}`)
        break
      case 'published':
        checkpoints.push({ windowN: e.windowN, checkpointN: e.checkpointN, revision: e.revision })
        log(
          `  w${e.windowN} published checkpoint ${e.checkpointN} to the local hub: ${e.repoId}@${e.revision.slice(0, 12)}… (custody manifest signed)`,
        )
        break
      case 'publish_failed':
        log(`  w${e.windowN} publish failed: ${e.error}`)
        break
      default:
        break
    }
  }

  let validator: Validator | null = null
  let baseModel: CausalLM | null = null
  const miners: {
    kind: DemoMinerKind
    label: string
    hotkey: string
    miner: Miner
    picker: PromptPicker
  }[] = []
  try {
    const validatorKey = await createHotkey(`//reliquary-demo/${seed}/validator`)
    validator = await createValidator({
      profile,
      modelDir,
      environment,
      tokenizer,
      hotkey: validatorKey,
      beacons: chain,
      hub: { hubUrl: hub.url, repoId: d.repoId, accessToken: hub.token },
      archiveDir: join(workDir, 'validator'),
      onEvent,
    })
    const v = validator
    const counts = new Map<DemoMinerKind, number>()
    for (const [i, kind] of kinds.entries()) {
      const n = (counts.get(kind) ?? 0) + 1
      counts.set(kind, n)
      const name =
        kinds.filter((k) => k === kind).length > 1
          ? `${MINER_LABEL[kind]} #${n}`
          : MINER_LABEL[kind]
      const hotkey = await createHotkey(`//reliquary-demo/${seed}/miner/${kind}/${n}`)
      labels.set(hotkey.address, name)
      const pickerSeed = seed * 1000 + i
      const picker =
        kind === 'frontier'
          ? createFrontierPicker({
              size: environment.size,
              seed: pickerSeed,
              profile,
              bootstrap: true,
            })
          : uniformPicker({ size: environment.size, seed: pickerSeed })
      const miner = createMiner({
        validatorUrl: v.url,
        hotkey,
        modelDir,
        environment,
        picker,
        profile,
        now: () => Date.now() / 1000,
        drand: { genesisTime: chain.info.genesis_time, periodSeconds: chain.info.period },
        validatorHotkey: validatorKey.address,
        hub: {
          hubUrl: hub.url,
          cacheDir: join(workDir, 'miners', `${kind}-${n}`),
          baseModel: v.baseModel,
          profileId: profile.id,
        },
        groupsPerWindow: kind === 'cheater' ? cheaterGroups : groupsPerWindow,
        seed: pickerSeed,
        strategy: kind === 'cheater' ? 'cheat' : 'honest',
        // Honest miners submit every group, so their acceptance rate shows how well they pick prompts.
        skipOutOfZone: kind === 'cheater',
        pollIntervalMs: 200,
        verdictTimeoutMs: 30_000,
        log: (entry) => {
          if (entry.event === 'checkpoint_loaded') {
            const data = entry.data ?? {}
            checkpointLoads.push({
              miner: name,
              checkpointN: Number(data.checkpointN),
              revision: String(data.revision),
            })
            log(`  ${name}: ${entry.message}`)
          } else if (verbose) log(`  [${name}] ${entry.event}: ${entry.message}`)
          else if (entry.level === 'warn')
            log(
              `  ${name}: ${entry.message}${entry.data?.error ? ` (${String(entry.data.error)})` : ''}`,
            )
        },
      })
      miners.push({ kind, label: name, hotkey: hotkey.address, miner, picker })
    }
    log(
      `reliquary demo: ${windows} windows, ${miners.length} miners (${miners.map((m) => m.label).join(', ')}), model ${modelDir}`,
    )
    log(`profile ${profile.id} = e3 except: ${changes.join('; ')}`)

    const evalSet: number[] = []
    /** Size of the evaluation set when each window was evaluated. */
    const evalSizes: number[] = []
    const baseRewards = new Map<number, number>()
    /** Per evaluated prompt: the successes of the latest policy evaluation. */
    const lastPolicy = new Map<number, number>()
    const windowRows: DemoWindowSummary[] = []
    for (let w = 1; w <= windows; w++) {
      const windowStarted = performance.now()
      const abort = new AbortController()
      const target = v.windowN + 1
      currentWindow = target
      onSealed = () => {
        if (sealedWindow === currentWindow) abort.abort(new Error('window sealed'))
      }
      const running = v.runWindow()
      running.catch(() => abort.abort(new Error('validator window failed')))
      const mine = async (): Promise<void> => {
        // The miners share this thread, so they take turns (the first one rotates each window).
        // Passes repeat while the window stays open and a miner has quota left: groups a miner
        // does not submit (collapsed rollouts) cost it no quota.
        const order = miners.map((_, i) => miners[(i + w - 1) % miners.length]!)
        const quota = profile.window.maxSubmissionsPerHotkey
        const used = new Map<string, number>()
        for (let pass = 0; pass < MAX_PASSES && !abort.signal.aborted; pass++) {
          let active = 0
          for (const m of order) {
            if (abort.signal.aborted) break
            if (quota > 0 && (used.get(m.hotkey) ?? 0) >= quota) continue
            active++
            try {
              const r = await m.miner.runWindow(abort.signal)
              used.set(m.hotkey, r.stats.submitted)
            } catch (e) {
              if (!abort.signal.aborted)
                log(
                  `  ${m.label}: window failed: ${isReliquaryError(e) ? `${e.code}: ${e.shortMessage}` : e instanceof Error ? e.message : String(e)}`,
                )
            }
          }
          if (active === 0) break
        }
        if (!abort.signal.aborted) {
          // A trigger set by the last verdicts seals at the next boundary; otherwise end the window.
          await new Promise((r) => setTimeout(r, (periodSeconds + 0.5) * 1000))
          if (!abort.signal.aborted) {
            log(`  w${target} no seal trigger after the miners' passes: closing the window`)
            v.closeWindow()
          }
        }
      }
      const [report] = await Promise.all([running, mine()])
      abort.abort()

      if (report.trained)
        for (const p of report.batchPrompts)
          if (evalSet.length < evalPrompts && !evalSet.includes(p)) evalSet.push(p)
      const evalStarted = performance.now()
      let trainedPromptReward: number | null = null
      let baseTrainedPromptReward: number | null = null
      const previous = windowRows.at(-1)
      if (!report.trained && previous && evalSizes.at(-1) === evalSet.length) {
        // No step, same weights, same seeds: the evaluation would repeat the previous one exactly.
        trainedPromptReward = previous.trainedPromptReward ?? null
        baseTrainedPromptReward = previous.baseTrainedPromptReward ?? null
      } else if (evalSet.length > 0) {
        let policySum = 0
        let baseSum = 0
        for (const idx of evalSet) {
          const k = await promptRewardSum(
            v.policy,
            tokenizer,
            profile,
            environment,
            idx,
            evalRollouts,
            seed,
          )
          lastPolicy.set(idx, k)
          policySum += k
          let b = baseRewards.get(idx)
          if (b === undefined) {
            baseModel ??= await loadModel(modelDir, { trainable: false })
            b = await promptRewardSum(
              baseModel,
              tokenizer,
              profile,
              environment,
              idx,
              evalRollouts,
              seed,
            )
            baseRewards.set(idx, b)
          }
          baseSum += b
        }
        trainedPromptReward = policySum / (evalSet.length * evalRollouts)
        baseTrainedPromptReward = baseSum / (evalSet.length * evalRollouts)
      }
      const evalSeconds = (performance.now() - evalStarted) / 1000
      const minersOfWindow: Record<string, { accepted: number; submitted: number }> = {}
      for (const m of miners) {
        const c = report.perHotkey[m.hotkey]
        minersOfWindow[m.hotkey] = { accepted: c?.accepted ?? 0, submitted: c?.submitted ?? 0 }
      }
      evalSizes.push(evalSet.length)
      windowRows.push({
        window: report.windowN,
        rewardMean: report.rewardMean,
        rewardStd: report.rewardStd,
        loss: report.loss,
        kl: report.kl,
        trainedPromptReward,
        baseTrainedPromptReward,
        miners: minersOfWindow,
      })
      const acc = miners
        .map(
          (m) =>
            `${m.label.split(' ')[0]} ${minersOfWindow[m.hotkey]!.accepted}/${minersOfWindow[m.hotkey]!.submitted}`,
        )
        .join(', ')
      log(
        `window ${report.windowN} done in ${((performance.now() - windowStarted) / 1000).toFixed(1)} s · seal ${report.sealReason} · batch ${report.batchSize} · reward ${fmt(report.rewardMean)} ± ${fmt(report.rewardStd)} · ` +
          `loss ${fmt(report.loss, 5)} · KL ${fmt(report.kl, 6)} · trained-prompt reward ${fmt(trainedPromptReward)} (base ${fmt(baseTrainedPromptReward)}, ${evalSet.length} prompts) · accepted/submitted: ${acc} · ` +
          `seconds: open ${report.seconds.open.toFixed(1)}, train ${report.seconds.train.toFixed(1)}, publish ${report.seconds.publish.toFixed(1)}, eval ${evalSeconds.toFixed(1)}`,
      )
    }

    // ---- summary --------------------------------------------------------------------------
    const ema = v.ema()
    const totals = v.hotkeyCounts()
    const minerRows = miners.map((m) => ({
      kind: m.kind,
      label: m.label,
      hotkey: m.hotkey,
      counts: totals[m.hotkey] ?? { submitted: 0, accepted: 0, rejected: {} },
      emaWeight: ema.get(m.hotkey) ?? 0,
    }))
    const reports = v.reports()
    const seconds = (performance.now() - started) / 1000
    const lines: string[] = []
    lines.push(
      '',
      `Summary: ${reports.length} windows in ${seconds.toFixed(1)} s (${(seconds / Math.max(1, reports.length)).toFixed(1)} s per window), profile ${profile.id}`,
    )
    lines.push(`  profile changes from e3: ${changes.join('; ')}`)
    lines.push(
      '',
      `  ${pad('miner', 20)}${lpad('submitted', 10)}${lpad('accepted', 10)}${lpad('rejected', 10)}${lpad('acceptance', 12)}${lpad('EMA weight', 12)}  rejected by reason`,
    )
    for (const m of minerRows) {
      const rej = rejectedTotal(m.counts)
      const reasons =
        Object.entries(m.counts.rejected)
          .sort((a, b) => b[1] - a[1])
          .map(([r, n]) => `${r} ${n}`)
          .join(', ') || '–'
      lines.push(
        `  ${pad(m.label, 20)}${lpad(String(m.counts.submitted), 10)}${lpad(String(m.counts.accepted), 10)}${lpad(String(rej), 10)}${lpad(pct(m.counts.accepted, m.counts.accepted + rej), 12)}${lpad(m.emaWeight.toFixed(6), 12)}  ${reasons}`,
      )
    }
    const rate = (k: DemoMinerKind): string => {
      const ms = minerRows.filter((m) => m.kind === k)
      const a = ms.reduce((x, m) => x + m.counts.accepted, 0)
      return pct(a, a + ms.reduce((x, m) => x + rejectedTotal(m.counts), 0))
    }
    if (kinds.includes('frontier') && kinds.includes('uniform'))
      lines.push(
        '',
        `  acceptance rate: frontier ${rate('frontier')} vs uniform ${rate('uniform')}`,
      )
    // The learning curve: windows evaluated on the complete (final) evaluation set.
    const curve = windowRows.filter(
      (r, i) => typeof r.trainedPromptReward === 'number' && evalSizes[i] === evalSet.length,
    )
    const lift = curve.length
      ? (curve.at(-1)!.trainedPromptReward as number) -
        (curve[0]!.baseTrainedPromptReward as number)
      : null
    lines.push(
      `  mean reward on ${evalSet.length} trained prompts (${evalRollouts} samples each, same seeds for every model; prompts ${evalSet.join(', ') || '–'}): ` +
        (curve.length && lift !== null
          ? `base model ${fmt(curve[0]!.baseTrainedPromptReward)} → policy ${curve.map((r) => `w${r.window} ${fmt(r.trainedPromptReward)}`).join(', ')} (${signed(lift)} over the base by window ${curve.at(-1)!.window})`
          : evalPrompts === 0
            ? '– (evaluation off)'
            : '– (no window trained)'),
    )
    if (evalSet.length > 0 && evalSet.every((p) => lastPolicy.has(p) && baseRewards.has(p))) {
      // The frontier moves: prompts the base model had in the zone become easy for the policy.
      const zone = (k: number): boolean =>
        isInZone(groupSigma(Array.from({ length: evalRollouts }, (_, j) => (j < k ? 1 : 0))), {
          profile,
        })
      const inZone = (m: Map<number, number>): number =>
        evalSet.filter((p) => zone(m.get(p)!)).length
      lines.push(
        `  the frontier moves: successes of ${evalRollouts} samples per trained prompt, base → final policy: ${evalSet.map((p) => `#${p} ${baseRewards.get(p)}→${lastPolicy.get(p)}`).join(', ')}; ` +
          `in the zone (σ ≥ ${profile.group.sigmaMin}): ${inZone(baseRewards)} of ${evalSet.length} → ${inZone(lastPolicy)}`,
      )
    }
    lines.push(
      `  checkpoints published: ${checkpoints.map((c) => `#${c.checkpointN} after window ${c.windowN} (${c.revision.slice(0, 12)}…)`).join(', ') || 'none'}`,
    )
    lines.push(
      `  checkpoint switches after custody verification: ${checkpointLoads.map((c) => `${c.miner} → #${c.checkpointN}`).join(', ') || 'none'}`,
    )
    lines.push(
      '',
      `  ${lpad('window', 6)}${lpad('seal', 9)}${lpad('batch', 7)}${lpad('reward', 9)}${lpad('σ', 8)}${lpad('loss', 12)}${lpad('KL', 12)}${lpad('trained (base)', 16)}  published`,
    )
    for (const [i, r] of reports.entries()) {
      const row = windowRows[i]
      lines.push(
        `  ${lpad(String(r.windowN), 6)}${lpad(r.sealReason, 9)}${lpad(String(r.batchSize), 7)}${lpad(fmt(r.rewardMean), 9)}${lpad(fmt(r.rewardStd), 8)}${lpad(fmt(r.loss, 5), 12)}${lpad(fmt(r.kl, 6), 12)}${lpad(`${fmt(row?.trainedPromptReward)} (${fmt(row?.baseTrainedPromptReward)})`, 16)}  ${r.published ? `#${r.published.checkpointN}` : ''}`,
      )
    }
    const text = lines.join('\n')
    log(text)

    const summary: DemoSummary = {
      title: 'Reliquary demo',
      generatedAt: new Date().toISOString(),
      config: {
        model: modelDir,
        environment: `${environment.id} (${environment.size} problems, seed ${seed})`,
        profile: profile.id,
        'changed from e3': changes.join('; '),
        windows: reports.length,
        miners: miners.map((m) => m.label).join(', '),
        'seconds (total)': Number(seconds.toFixed(1)),
        'checkpoints published':
          checkpoints.map((c) => `#${c.checkpointN} (window ${c.windowN})`).join(', ') || 'none',
        'trained-prompt evaluation': `${evalRollouts} samples × the first ${evalSet.length} trained prompts (${evalSet.join(', ')}), current policy vs base model, same seeds`,
      },
      miners: minerRows.map(
        (m): DemoMinerSummary => ({
          hotkey: m.hotkey,
          label: m.label,
          accepted: m.counts.accepted,
          rejected: { ...m.counts.rejected },
          emaWeight: m.emaWeight,
        }),
      ),
      // The learning curve keeps only windows evaluated on the final set (it fills over the first
      // trained windows); a point on fewer prompts would not be comparable.
      windows: windowRows.map((r, i) =>
        evalSizes[i] === evalSet.length
          ? r
          : { ...r, trainedPromptReward: null, baseTrainedPromptReward: null },
      ),
    }
    if (out !== null) {
      await mkdir(dirname(resolve(out)), { recursive: true })
      await writeFile(out, renderDemoReport(summary))
      log(`  HTML report: ${resolve(out)}`)
    }
    return Object.freeze({
      summary,
      reports,
      profile,
      profileChanges: changes,
      miners: minerRows,
      checkpoints,
      checkpointLoads,
      evalPrompts: Object.freeze([...evalSet]),
      text,
      seconds,
      out: out === null ? null : resolve(out),
    })
  } finally {
    for (const m of miners) m.miner.dispose()
    baseModel?.dispose()
    await validator?.dispose()
    await hub.close()
    if (!options.keepWorkDir && options.workDir === undefined)
      await rm(workDir, { recursive: true, force: true })
  }
}
