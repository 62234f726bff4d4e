// `reliquary validator` and `reliquary miner`: thin option parsing over runValidator / createMiner.
import { mkdir, readFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { createHotkey, type Hotkey } from '../crypto/sr25519.js'
import type { BeaconSource } from '../drand/beacon.js'
import { createHttpBeaconSource } from '../drand/httpBeaconSource.js'
import { createLocalBeaconChain } from '../drand/localBeaconChain.js'
import { ReliquaryError, isReliquaryError } from '../errors/base.js'
import { bundledModelDir } from '../demo/bundledModel.js'
import { createTargetTokenEnvironment } from '../demo/environment.js'
import { createDemoProfile, DEMO_PROFILE_ID } from '../demo/profile.js'
import { useBackend } from '../model/backend.js'
import { sleep } from '../_utils/sleep.js'
import { backendName, intOption, usage as usageError } from './_args.js'
import { loadModelConfig } from '../model/parseModelConfig.js'
import { loadTokenizer, type ModelTokenizer } from '../model/loadTokenizer.js'
import { resolveCheckpoint } from '../model/resolveCheckpoint.js'
import { defineProfile, e3, type ProtocolProfile } from '../protocol/profiles.js'
import { createMathEnvironment } from '../reward/environment.js'
import { parseState } from '../protocol/schemas.js'
import type { RewardEnvironment } from '../reward/environment.js'
import { NETWORK_HELP } from './networkHelp.js'

const sumValues = (r: Readonly<Record<string, number>>): number =>
  Object.values(r).reduce((a, b) => a + b, 0)
const formatReasons = (r: Readonly<Record<string, number>>): string => {
  const parts = Object.entries(r).map(([k, n]) => `${k} ${n}`)
  return parts.length ? ` (${parts.join(', ')})` : ''
}

const NETWORK_HINT = "Run 'reliquary validator --help' or 'reliquary miner --help'."
function usage(msg: string): never {
  return usageError(msg, NETWORK_HINT)
}

function profileName(s: string | undefined): 'e3' | typeof DEMO_PROFILE_ID {
  const name = s ?? 'e3'
  if (name !== 'e3' && name !== DEMO_PROFILE_ID)
    usage(`--profile must be e3 or ${DEMO_PROFILE_ID}.`)
  return name
}

/**
 * Every option check that needs no file or network, run before any model code loads or a
 * checkpoint downloads: what the demo profile defaults and other profiles need, and the environment.
 * @returns The environment name.
 */
function checkCommonOptions(
  demo: boolean,
  v: {
    model?: string | undefined
    hotkey?: string | undefined
    environment?: string | undefined
    problems?: string | undefined
  },
): 'math' | 'target-token' {
  if (!demo) {
    if (v.model === undefined)
      usage('--model is required outside the demo profile (a directory or owner/name@revision).')
    if (v.hotkey === undefined && !process.env.RELIQUARY_HOTKEY)
      usage(
        '--hotkey (or the RELIQUARY_HOTKEY environment variable) is required outside the demo profile.',
      )
  }
  const env = v.environment ?? (demo ? 'target-token' : 'math')
  if (env !== 'math' && env !== 'target-token') usage('--environment must be math or target-token.')
  if (env === 'target-token' && v.problems !== undefined)
    usage('--problems applies to the math environment only.')
  return env
}

/** The profile of e3 rules on another drand chain (validator and miner derive the same id, which custody manifests carry). */
function e3OnChain(drand: {
  genesisTime: number
  periodSeconds: number
  chainHash?: string | undefined
}): ProtocolProfile {
  if (
    drand.genesisTime === e3.drand.genesisTime &&
    drand.periodSeconds === e3.drand.periodSeconds &&
    (drand.chainHash === undefined || drand.chainHash === e3.drand.chainHash)
  )
    return e3
  const { genesisTime, periodSeconds, chainHash } = drand
  return defineProfile(e3, {
    id: 'e3-custom-drand',
    drand: { genesisTime, periodSeconds, ...(chainHash !== undefined ? { chainHash } : {}) },
  })
}

/** Sleeps `ms`, ending early (without throwing) when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return sleep(ms, signal).catch(() => undefined)
}

/** A hotkey from --hotkey, else RELIQUARY_HOTKEY, else (demo only) a development key. */
async function hotkeyFrom(
  uri: string | undefined,
  demo: boolean,
  devUri: string,
  log: (s: string) => void,
): Promise<Hotkey> {
  const suri = uri ?? process.env.RELIQUARY_HOTKEY
  if (suri) return createHotkey(suri)
  if (!demo)
    usage(
      '--hotkey (or the RELIQUARY_HOTKEY environment variable) is required outside the demo profile.',
    )
  log(`hotkey: development key ${devUri} (public; pass --hotkey for anything but a local network)`)
  return createHotkey(devUri)
}

async function environmentFrom(
  env: 'math' | 'target-token',
  problems: string | undefined,
  modelDir: string,
  tokenizer: ModelTokenizer,
): Promise<RewardEnvironment> {
  if (env === 'target-token') {
    const { vocabSize } = await loadModelConfig(modelDir)
    return createTargetTokenEnvironment({ tokenizer, vocabSize })
  }
  if (problems === undefined) return createMathEnvironment()
  let rows: unknown
  try {
    rows = JSON.parse(await readFile(problems, 'utf8'))
  } catch (e) {
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      `--problems ${problems}: not a readable JSON file (${e instanceof Error ? e.message : String(e)}).`,
      {
        hints: ['Pass a JSON array of { "problem": string, "solution": string } rows.'],
      },
    )
  }
  return createMathEnvironment({ problems: rows as { problem: string; solution: string }[] })
}

async function modelFrom(ref: string | undefined, demo: boolean, hubUrl?: string): Promise<string> {
  if (ref === undefined) {
    if (!demo)
      usage('--model is required outside the demo profile (a directory or owner/name@revision).')
    return bundledModelDir()
  }
  return resolveCheckpoint(ref, hubUrl ? { hubUrl } : {})
}

/** Aborts on the first SIGINT/SIGTERM (logging `message`); a second one exits at once. */
function interruptSignal(
  log: (s: string) => void,
  message: string,
): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController()
  const onSignal = (): void => {
    if (ac.signal.aborted) process.exit(130)
    log(`${message} (Ctrl-C again to exit now)`)
    ac.abort(new Error('interrupted'))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return {
    signal: ac.signal,
    dispose: () => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    },
  }
}

/**
 * `reliquary validator`: parses the options, builds the profile, beacon source, environment and
 * Hub target, and runs {@link runValidator} until the window count or an interrupt.
 * @internal
 */
export async function validatorCommand(
  argv: string[],
  log: (line: string) => void,
): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      profile: { type: 'string' },
      model: { type: 'string' },
      environment: { type: 'string' },
      problems: { type: 'string' },
      hotkey: { type: 'string' },
      drand: { type: 'string' },
      'drand-relay': { type: 'string', multiple: true },
      period: { type: 'string' },
      hub: { type: 'string' },
      'repo-id': { type: 'string' },
      'archive-dir': { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      windows: { type: 'string' },
      backend: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    log(NETWORK_HELP.validator)
    return 0
  }
  const demo = profileName(values.profile) === DEMO_PROFILE_ID
  const port = intOption(values.port, 'port', 0) ?? 8080
  if (port > 65_535) usage('--port must be ≤ 65535.')
  const windows = intOption(values.windows, 'windows', 1)
  const period = intOption(values.period, 'period', 1) ?? 2
  const drandKind = values.drand ?? (demo ? 'local' : 'relays')
  if (drandKind !== 'local' && drandKind !== 'relays') usage('--drand must be local or relays.')
  if (demo && drandKind !== 'local')
    usage(`--profile ${DEMO_PROFILE_ID} runs on a local drand chain.`)
  const hubArg = values.hub ?? (demo ? 'local' : undefined)
  if (hubArg !== undefined && hubArg !== 'local' && !/^https?:\/\//.test(hubArg))
    usage('--hub must be local or an http(s) URL.')
  if (hubArg !== undefined && hubArg !== 'local' && !values['repo-id'])
    usage('--hub with a URL needs --repo-id.')
  const envName = checkCommonOptions(demo, values)
  const hfToken = process.env.HF_TOKEN
  if (
    ((hubArg !== undefined && hubArg !== 'local') || (hubArg === undefined && values['repo-id'])) &&
    !hfToken
  )
    usage('Publishing to a Hub needs a write token in the HF_TOKEN environment variable.')
  const backend = backendName(values.backend)
  const archiveDir = resolve(values['archive-dir'] ?? 'reliquary-validator')
  await mkdir(archiveDir, { recursive: true })
  await useBackend(backend)

  const modelDir = await modelFrom(values.model, demo)
  const tokenizer = await loadTokenizer(modelDir)
  const environment = await environmentFrom(envName, values.problems, modelDir, tokenizer)
  const hotkey = await hotkeyFrom(values.hotkey, demo, '//reliquary-dev/validator', log)

  let profile: ProtocolProfile = e3
  let beacons: BeaconSource
  let drandLine: string
  let minerDrand = ''
  if (drandKind === 'local') {
    const chain = createLocalBeaconChain({
      genesisTime: Math.floor(Date.now() / 1000) - 2 * period,
      periodSeconds: period,
    })
    const drand = {
      genesisTime: chain.info.genesis_time,
      periodSeconds: chain.info.period,
      chainHash: chain.info.hash,
    }
    profile = demo ? createDemoProfile(drand) : e3OnChain(drand)
    beacons = chain
    drandLine = `local BLS chain ${chain.info.hash.slice(0, 16)}…, genesis ${chain.info.genesis_time}, period ${chain.info.period} s`
    minerDrand = ` --drand-genesis ${chain.info.genesis_time} --drand-period ${chain.info.period}`
  } else {
    beacons = createHttpBeaconSource({
      profile,
      ...(values['drand-relay'] ? { relays: values['drand-relay'] } : {}),
    })
    drandLine = `quicknet over HTTP relays (${(values['drand-relay'] ?? ['default list']).join(', ')}), every beacon BLS-verified`
  }

  // The miner command printed for local networks repeats every option a miner must share.
  const shared = [
    values.model !== undefined ? ` --model ${values.model}` : '',
    values.environment !== undefined ? ` --environment ${values.environment}` : '',
    values.problems !== undefined ? ` --problems ${resolve(values.problems)}` : '',
  ].join('')
  let hubServer: { url: string; token: string; close(): Promise<void> } | null = null
  let hub: { hubUrl: string; repoId: string; accessToken: string } | undefined
  const interrupt = interruptSignal(log, 'stopping: sealing the open window and finishing it')
  try {
    if (hubArg === 'local') {
      const { startHubServer } = await import('../hub/localHubServer.js')
      hubServer = await startHubServer()
      hub = {
        hubUrl: hubServer.url,
        repoId: values['repo-id'] ?? 'reliquary-local/policy',
        accessToken: hubServer.token,
      }
    } else if (hubArg !== undefined || values['repo-id']) {
      hub = {
        hubUrl: hubArg ?? 'https://huggingface.co',
        repoId: values['repo-id']!,
        accessToken: hfToken!,
      }
    }
    const { runValidator } = await import('../validator/runValidator.js')
    const result = await runValidator({
      profile,
      modelDir,
      environment,
      tokenizer,
      hotkey,
      beacons,
      archiveDir,
      hub,
      server: { host: values.host ?? '127.0.0.1', port },
      windows: windows ?? Number.POSITIVE_INFINITY,
      signal: interrupt.signal,
      onStart: (v) => {
        log(
          `validator ${hotkey.address} listening on ${v.url} · profile ${profile.id} · model ${modelDir}`,
        )
        log(`drand: ${drandLine}`)
        log(
          `environment: ${environment.id} (${environment.size} problems) · archives: ${archiveDir}`,
        )
        log(
          hub
            ? `publishing to ${hub.hubUrl} ${hub.repoId}`
            : 'not publishing (no --repo-id): miners stay on the base checkpoint',
        )
        if (demo) {
          log('start a miner in another terminal:')
          log(
            `  npx reliquary miner --profile ${DEMO_PROFILE_ID} --validator ${v.url} --validator-hotkey ${hotkey.address}${minerDrand}${hub ? ` --hub-url ${hub.hubUrl}` : ''}${shared}`,
          )
          if (hubServer && values.host !== undefined && values.host !== '127.0.0.1')
            log(
              '  (the local Hub listens on 127.0.0.1 only: miners on other machines cannot download checkpoints)',
            )
        }
      },
      onEvent: (e) => {
        if (e.type === 'open')
          log(`window ${e.windowN} open · drand round ${e.round} · checkpoint ${e.checkpointN}`)
        else if (e.type === 'sealed')
          log(
            `window ${e.windowN} sealed (${e.reason}): ${e.validSubmissions} valid submission(s), batch of ${e.batchSize}`,
          )
        else if (e.type === 'trained')
          log(
            `window ${e.windowN} GRPO step: loss ${e.loss.toFixed(5)} · KL ${e.kl.toExponential(2)} · ${e.rolloutsUsed} rollouts`,
          )
        else if (e.type === 'published')
          log(
            `window ${e.windowN} published checkpoint ${e.checkpointN}: ${e.repoId}@${e.revision}`,
          )
        else if (e.type === 'train_failed' || e.type === 'publish_failed')
          log(`window ${e.windowN} ${e.type.replace('_', ' ')}: ${e.error}`)
        else if (e.type === 'submission' && e.submission.stage === 'worker')
          log(`  ${e.submission.hotkey?.slice(0, 10) ?? '?'}… ${e.submission.reason}`)
      },
    })
    const ema = [...result.ema]
      .sort((a, b) => b[1] - a[1])
      .map(([hk, w]) => `${hk.slice(0, 10)}… ${w.toFixed(4)}`)
    log(`stopped after ${result.reports.length} window(s); EMA: ${ema.join(', ') || '(none)'}`)
    return 0
  } finally {
    interrupt.dispose()
    await hubServer?.close()
  }
}

/**
 * `reliquary miner`: parses the options, builds the miner ({@link createMiner}) and mines window
 * after window until the window count or an interrupt.
 * @internal
 */
export async function minerCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      validator: { type: 'string' },
      'validator-hotkey': { type: 'string' },
      profile: { type: 'string' },
      'drand-genesis': { type: 'string' },
      'drand-period': { type: 'string' },
      model: { type: 'string' },
      environment: { type: 'string' },
      problems: { type: 'string' },
      hotkey: { type: 'string' },
      'hub-url': { type: 'string' },
      'cache-dir': { type: 'string' },
      picker: { type: 'string' },
      groups: { type: 'string' },
      windows: { type: 'string' },
      seed: { type: 'string' },
      backend: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    log(NETWORK_HELP.miner)
    return 0
  }
  const demo = profileName(values.profile) === DEMO_PROFILE_ID
  const validatorUrl = values.validator ?? usage('miner needs --validator <URL>.')
  if (!/^https?:\/\//.test(validatorUrl)) usage('--validator must be an http(s) URL.')
  const validatorHotkey =
    values['validator-hotkey'] ??
    usage('miner needs --validator-hotkey <SS58> (checkpoint manifests must be signed by it).')
  const genesis = intOption(values['drand-genesis'], 'drand-genesis', 0)
  const period = intOption(values['drand-period'], 'drand-period', 1)
  if (demo && (genesis === undefined || period === undefined))
    usage(
      `--profile ${DEMO_PROFILE_ID} needs --drand-genesis and --drand-period (the validator prints them).`,
    )
  const picker = values.picker ?? 'frontier'
  if (picker !== 'frontier' && picker !== 'uniform') usage('--picker must be frontier or uniform.')
  const groups = intOption(values.groups, 'groups', 1) ?? 4
  const windows = intOption(values.windows, 'windows', 1) ?? Number.POSITIVE_INFINITY
  const seed = intOption(values.seed, 'seed', 0) ?? 0
  const envName = checkCommonOptions(demo, values)
  await useBackend(backendName(values.backend))

  const hubUrl = values['hub-url'] ?? 'https://huggingface.co'
  const modelDir = await modelFrom(values.model, demo, hubUrl)
  const environment = await environmentFrom(
    envName,
    values.problems,
    modelDir,
    await loadTokenizer(modelDir),
  )
  const hotkey = await hotkeyFrom(values.hotkey, demo, `//reliquary-dev/miner/${seed}`, log)
  const drand = {
    genesisTime: genesis ?? e3.drand.genesisTime,
    periodSeconds: period ?? e3.drand.periodSeconds,
  }
  const profile = demo ? createDemoProfile(drand) : e3OnChain(drand)
  const { identifyBaseModel } = await import('../validator/identifyBaseModel.js')
  const { createMiner } = await import('../miner/createMiner.js')
  const { createFrontierPicker, uniformPicker } = await import('../miner/frontier.js')
  const cacheDir = resolve(values['cache-dir'] ?? 'reliquary-miner')
  const miner = createMiner({
    validatorUrl,
    hotkey,
    modelDir,
    environment,
    profile,
    validatorHotkey,
    seed,
    groupsPerWindow: groups,
    // Demo windows start at 1 (bootstrap: the wider zone); the live network is long past bootstrap.
    picker:
      picker === 'frontier'
        ? createFrontierPicker({ size: environment.size, seed, profile, bootstrap: demo })
        : uniformPicker({ size: environment.size, seed }),
    now: () => Date.now() / 1000,
    drand: { genesisTime: profile.drand.genesisTime, periodSeconds: profile.drand.periodSeconds },
    hub: {
      hubUrl,
      cacheDir: join(cacheDir, 'checkpoints'),
      baseModel: await identifyBaseModel(modelDir),
      profileId: profile.id,
    },
    log: (entry) => {
      if (entry.level !== 'debug') log(`${entry.event}: ${entry.message}`)
    },
  })
  log(
    `miner ${hotkey.address} → ${validatorUrl} · profile ${profile.id} · ${picker} picker · model ${modelDir}`,
  )
  const interrupt = interruptSignal(log, 'stopping')
  const base = validatorUrl.replace(/\/+$/, '')
  /** `/state`, or null when unreachable or not 200. */
  const state = async (): Promise<ReturnType<typeof parseState> | null> => {
    const res = await fetch(`${base}/state`, { signal: interrupt.signal }).catch(() => null)
    return res?.status === 200 ? parseState(await res.text()) : null
  }
  try {
    // runWindow mines the open window once; a window still open afterwards (and quota left) is
    // mined again, so the last of the N windows is mined until it closes.
    const seen = new Set<number>()
    const quota = profile.window.maxSubmissionsPerHotkey
    while (!interrupt.signal.aborted) {
      try {
        const r = await miner.runWindow(interrupt.signal)
        seen.add(r.windowN)
        const s = r.stats
        log(
          `window ${r.windowN}: submitted ${s.submitted}, accepted ${s.accepted}, rejected ${sumValues(s.rejected)}${formatReasons(s.rejected)}, skipped ${s.skipped}`,
        )
        if (seen.size >= windows) {
          if (quota > 0 && r.stats.submitted >= quota) break
          const now = await state()
          if (now?.state !== 'open' || now.window_n !== r.windowN) break
        }
        if (r.groups.length === 0) {
          // Nothing eligible is left in this window: wait for the next one instead of spinning.
          while (!interrupt.signal.aborted) {
            await pause(2000, interrupt.signal)
            if ((await state())?.window_n !== r.windowN) break
          }
        }
      } catch (e) {
        if (interrupt.signal.aborted) break
        if (!isReliquaryError(e)) throw e
        log(`window failed: ${e.code}: ${e.shortMessage}`)
        await pause(2000, interrupt.signal)
      }
    }
    const t = miner.stats().total
    log(
      `stopped: submitted ${t.submitted}, accepted ${t.accepted}, rejected ${sumValues(t.rejected)}${formatReasons(t.rejected)}`,
    )
    return 0
  } finally {
    interrupt.dispose()
    miner.dispose()
  }
}
