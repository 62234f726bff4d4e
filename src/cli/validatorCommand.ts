// `reliquary validator`: thin option parsing over runValidator.
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import type { BeaconSource } from '../drand/beacon.js'
import { createHttpBeaconSource } from '../drand/httpBeaconSource.js'
import { openLocalBeaconChain } from '../drand/openLocalBeaconChain.js'
import { createDemoProfile, DEMO_PROFILE_ID } from '../demo/profile.js'
import { useBackend } from '../model/backend.js'
import type { ValidatorCompute } from '../validator/worker/startModelWorker.js'
import type { ValidatorPrecision } from '../validator/createValidatorEvaluator.js'
import { loadTokenizer } from '../model/loadTokenizer.js'
import { e3, type ProtocolProfile } from '../protocol/profiles.js'
import { withHardening } from '../protocol/withHardening.js'
import type { ValidatorEvent } from '../validator/createValidator.js'
import { backendName } from './_args.js'
import { type OptionValues, parseCommand } from './_options.js'
import {
  checkCommonOptions,
  e3OnChain,
  environmentFrom,
  hotkeyFrom,
  interruptSignal,
  modelFrom,
  profileName,
  usage,
} from './_network.js'
import { formatHelp } from './_help.js'
import { serviceLogger, transferProgress } from './_logger.js'
import type { Logger } from 'pino'
import { VALIDATOR_COMMAND } from './networkOptions.js'
import { defaultSubmitPoolSize } from '../validator/http/submitPool.js'

type ValidatorArgs = OptionValues<typeof VALIDATOR_COMMAND.options>

/** Every check of the options that needs no file or network. */
function checkValidatorOptions(values: ValidatorArgs) {
  const demo = profileName(values.profile) === DEMO_PROFILE_ID
  const { port, windows, period } = values
  const drandArg = values.drand ?? (demo ? 'local' : 'relays')
  if (drandArg !== 'local' && drandArg !== 'relays') usage('--drand must be local or relays.')
  const drandKind: 'local' | 'relays' = drandArg
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
  // The model worker runs wasm, cpu and webgpu (Dawn opens its own device in the worker thread);
  // the tensorflow backend's native models stay in-process.
  const workerBackend = backend === 'wasm' || backend === 'cpu' || backend === 'webgpu'
  const compute = values.compute ?? (workerBackend ? 'worker' : 'in-process')
  if (compute !== 'worker' && compute !== 'in-process')
    usage('--compute must be worker or in-process.')
  if (compute === 'worker' && !workerBackend)
    usage('--compute worker needs --backend wasm, cpu or webgpu.')
  const precision = values.precision
  if (precision !== undefined && precision !== 'f32' && precision !== 'f16')
    usage('--precision must be f32 or f16.')
  if (precision === 'f16' && backend !== 'webgpu') usage('--precision f16 needs --backend webgpu.')
  const stateDir = resolve(values['state-dir'] ?? values['archive-dir'])
  return {
    demo,
    port,
    windows,
    period,
    drandKind,
    hubArg,
    envName,
    hfToken,
    backend,
    compute: compute as ValidatorCompute,
    precision: precision as ValidatorPrecision | undefined,
    stateDir,
  }
}

/**
 * The profile and beacon source: a local BLS chain kept in the state directory (new: genesis two
 * rounds ago) or the quicknet relays.
 */
async function drandFor(
  demo: boolean,
  kind: 'local' | 'relays',
  o: { period: number; stateDir: string },
  relays: string[] | undefined,
): Promise<{
  profile: ProtocolProfile
  beacons: BeaconSource
  drandLine: string
  minerDrand: string
}> {
  if (kind === 'relays') {
    return {
      profile: e3,
      beacons: createHttpBeaconSource({ profile: e3, ...(relays ? { relays } : {}) }),
      drandLine: `quicknet over HTTP relays (${(relays ?? ['default list']).join(', ')}), every beacon BLS-verified`,
      minerDrand: '',
    }
  }
  const chain = await openLocalBeaconChain({
    path: join(o.stateDir, 'drand-local.json'),
    periodSeconds: o.period,
  })
  const drand = {
    genesisTime: chain.info.genesis_time,
    periodSeconds: chain.info.period,
    chainHash: chain.info.hash,
  }
  return {
    profile: demo ? createDemoProfile(drand) : e3OnChain(drand),
    beacons: chain,
    drandLine: `local BLS chain ${chain.info.hash.slice(0, 16)}…, genesis ${chain.info.genesis_time}, period ${chain.info.period} s`,
    minerDrand: ` --drand-genesis ${chain.info.genesis_time} --drand-period ${chain.info.period}`,
  }
}

/**
 * The profile with the hardening options asked for (docs/protocol.md §4.5); the base without any.
 * @internal
 */
export function hardened(
  base: ProtocolProfile,
  v: {
    'dedupe-repeats'?: boolean | undefined
    'sketch-tolerance-base'?: number | undefined
    'sketch-challenge-k'?: number | undefined
  },
): ProtocolProfile {
  try {
    return withHardening(base, {
      dedupeRepeats: v['dedupe-repeats'],
      sketchToleranceBase: v['sketch-tolerance-base'],
      sketchChallengeK: v['sketch-challenge-k'],
    })
  } catch (e) {
    return usage(e instanceof Error ? e.message : String(e))
  }
}

type HubTarget = { hubUrl: string; repoId: string; accessToken: string }

/** Where checkpoints go: a local Hub started here, a Hub URL with HF_TOKEN, or nowhere. */
async function hubTargetFor(
  hubArg: string | undefined,
  repoId: string | undefined,
  hfToken: string | undefined,
  stateDir: string,
): Promise<{ hub: HubTarget | undefined; local: { close(): Promise<void> } | null }> {
  if (hubArg === 'local') {
    const { startHubServer } = await import('../hub/localHubServer.js')
    // Kept in the state directory: a restarted validator serves the same revisions at the same URL.
    const server = await startHubServer({ storeDir: join(stateDir, 'hub') })
    const hub = {
      hubUrl: server.url,
      repoId: repoId ?? 'reliquary-local/policy',
      accessToken: server.token,
    }
    return { hub, local: server }
  }
  if (hubArg !== undefined || repoId) {
    const hub = {
      hubUrl: hubArg ?? 'https://huggingface.co',
      repoId: repoId!,
      accessToken: hfToken!,
    }
    return { hub, local: null }
  }
  return { hub: undefined, local: null }
}

/** One log record per validator event an operator follows (the message is today's human line). */
function logEvent(logger: Logger, e: ValidatorEvent): void {
  const w = 'windowN' in e ? { event: e.type, window: e.windowN } : { event: e.type }
  if (e.type === 'resumed')
    logger.info(
      { ...w, checkpoint: e.checkpointN, trainer: e.trainerRestored, archives: e.archives },
      `resumed after window ${e.windowN} · checkpoint ${e.checkpointN} · ${e.trainerRestored ? 'trainer restored' : 'policy from the base model'} · ${e.archives} archive(s) replayed`,
    )
  else if (e.type === 'open')
    logger.info(
      { ...w, round: e.round, checkpoint: e.checkpointN },
      `window ${e.windowN} open · drand round ${e.round} · checkpoint ${e.checkpointN}`,
    )
  else if (e.type === 'sealed')
    logger.info(
      { ...w, reason: e.reason, valid: e.validSubmissions, batch: e.batchSize },
      `window ${e.windowN} sealed (${e.reason}): ${e.validSubmissions} valid submission(s), batch of ${e.batchSize}`,
    )
  else if (e.type === 'trained')
    logger.info(
      { ...w, loss: e.loss, kl: e.kl, rollouts: e.rolloutsUsed },
      `window ${e.windowN} GRPO step: loss ${e.loss.toFixed(5)} · KL ${e.kl.toExponential(2)} · ${e.rolloutsUsed} rollouts`,
    )
  else if (e.type === 'published')
    logger.info(
      { ...w, checkpoint: e.checkpointN, repo: e.repoId, revision: e.revision },
      `window ${e.windowN} published checkpoint ${e.checkpointN}: ${e.repoId}@${e.revision}`,
    )
  else if (e.type === 'train_failed' || e.type === 'publish_failed')
    logger.warn(
      { ...w, error: e.error },
      `window ${e.windowN} ${e.type.replace('_', ' ')}: ${e.error}`,
    )
  else if (e.type === 'submission' && e.submission.stage === 'worker')
    logger.info(
      { ...w, miner: e.submission.hotkey, reason: e.submission.reason },
      `  ${e.submission.hotkey?.slice(0, 10) ?? '?'}… ${e.submission.reason}`,
    )
}

/**
 * `reliquary validator`: parses the options, builds the profile, beacon source, environment and
 * Hub target, and runs `runValidator` until the window count or an interrupt.
 * @internal
 */
export async function validatorCommand(
  argv: string[],
  write: (line: string) => void,
): Promise<number> {
  const parsed = parseCommand(VALIDATOR_COMMAND, argv)
  if (parsed.help) {
    write(formatHelp(VALIDATOR_COMMAND))
    return 0
  }
  const { values } = parsed
  const { logger, log, addSecret } = serviceLogger(VALIDATOR_COMMAND, parsed, write)
  const o = checkValidatorOptions(values)
  await mkdir(o.stateDir, { recursive: true })
  await useBackend(o.backend)
  const modelDir = await modelFrom(values.model, o.demo)
  const tokenizer = await loadTokenizer(modelDir)
  const environment = await environmentFrom(o.envName, values.problems, modelDir, tokenizer)
  const hotkey =
    values['wallet.name'] !== undefined
      ? await (await import('../chain/loadWalletHotkey.js')).loadWalletHotkey({
          name: values['wallet.name'],
          hotkey: values['wallet.hotkey'],
          path: values['wallet.path'],
        })
      : await hotkeyFrom(values.hotkey, o.demo, '//reliquary-dev/validator', log)
  const link =
    values.chain === undefined
      ? null
      : await (await import('./chain.js')).openValidatorChain(
          {
            chain: values.chain,
            netuid: values.netuid?.toString(),
            axonIp: values['axon-ip'],
            hotkey,
          },
          log,
        )
  const d = await drandFor(o.demo, o.drandKind, o, values['drand-relay'])
  const profile = hardened(d.profile, values)
  // The miner command printed for local networks repeats every option a miner must share.
  const shared = [
    values.model !== undefined ? ` --model ${values.model}` : '',
    values.environment !== undefined ? ` --environment ${values.environment}` : '',
    values.problems !== undefined ? ` --problems ${resolve(values.problems)}` : '',
  ].join('')
  let localHub: { close(): Promise<void> } | null = null
  const interrupt = interruptSignal(log, 'stopping: sealing the open window and finishing it')
  try {
    const target = await hubTargetFor(o.hubArg, values['repo-id'], o.hfToken, o.stateDir)
    addSecret(target.hub?.accessToken)
    const hub = target.hub && {
      ...target.hub,
      onProgress: transferProgress(logger, values['log-format']),
    }
    localHub = target.local
    const { runValidator } = await import('../validator/runValidator.js')
    const result = await runValidator({
      profile,
      modelDir,
      environment,
      tokenizer,
      hotkey,
      beacons: d.beacons,
      stateDir: o.stateDir,
      hub,
      server: {
        host: values.host,
        port: o.port,
        submitWorkers: values['submit-workers'] ?? defaultSubmitPoolSize(),
      },
      compute: o.compute,
      precision: o.precision,
      windows: o.windows ?? Number.POSITIVE_INFINITY,
      signal: interrupt.signal,
      ...(link ? { registry: link.registry, weightsSetter: link.weightsSetter } : {}),
      onStart: (v) => {
        link?.serve(Number(new URL(v.url).port))
        log(
          `validator ${hotkey.address} listening on ${v.url} · profile ${profile.id} · model ${modelDir}`,
        )
        log(`drand: ${d.drandLine}`)
        log(`environment: ${environment.id} (${environment.size} problems) · state: ${o.stateDir}`)
        log(
          hub
            ? `publishing to ${hub.hubUrl} ${hub.repoId}`
            : 'not publishing (no --repo-id): miners stay on the base checkpoint',
        )
        if (!o.demo) return
        log('start a miner in another terminal:')
        log(
          `  npx reliquary miner --profile ${DEMO_PROFILE_ID} --validator ${v.url} --validator-hotkey ${hotkey.address}${d.minerDrand}${hub ? ` --hub-url ${hub.hubUrl}` : ''}${shared}`,
        )
        if (localHub && values.host !== '127.0.0.1')
          log(
            '  (the local Hub listens on 127.0.0.1 only: miners on other machines cannot download checkpoints)',
          )
      },
      onEvent: (e) => logEvent(logger, e),
    })
    const ema = [...result.ema]
      .sort((a, b) => b[1] - a[1])
      .map(([hk, w]) => `${hk.slice(0, 10)}… ${w.toFixed(4)}`)
    log(`stopped after ${result.reports.length} window(s); EMA: ${ema.join(', ') || '(none)'}`)
    return 0
  } finally {
    interrupt.dispose()
    await localHub?.close()
    await link?.close()
  }
}
