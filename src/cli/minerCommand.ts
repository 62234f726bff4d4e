// `reliquary miner`: thin option parsing over createMiner, and the window-after-window loop.
import { isNetworkFailure, networkError } from './_report.js'
import { join, resolve } from 'node:path'
import { isReliquaryError } from '../errors/base.js'
import { createDemoProfile, DEMO_PROFILE_ID } from '../demo/profile.js'
import type { Miner } from '../miner/types.js'
import { useBackend } from '../model/backend.js'
import { loadTokenizer } from '../model/loadTokenizer.js'
import type { ProtocolProfile } from '../protocol/profiles.js'
import { e3 } from '../protocol/profiles.js'
import { parseState } from '../protocol/schemas.js'
import { backendName } from './_args.js'
import { type OptionValues, parseCommand } from './_options.js'
import {
  checkCommonOptions,
  e3OnChain,
  environmentFrom,
  formatReasons,
  hotkeyFrom,
  interruptSignal,
  modelFrom,
  pause,
  profileName,
  sumValues,
  usage,
} from './_network.js'
import { formatHelp } from './_help.js'
import { serviceLogger, transferProgress } from './_logger.js'
import type { Logger } from 'pino'
import { MINER_COMMAND } from './networkOptions.js'

type MinerArgs = OptionValues<typeof MINER_COMMAND.options>

/** Every check of the options that needs no file or network. */
function checkMinerOptions(values: MinerArgs) {
  const demo = profileName(values.profile) === DEMO_PROFILE_ID
  const validatorUrl = values.validator ?? usage('miner needs --validator <URL>.')
  if (!/^https?:\/\//.test(validatorUrl)) usage('--validator must be an http(s) URL.')
  const validatorHotkey =
    values['validator-hotkey'] ??
    usage('miner needs --validator-hotkey <SS58> (checkpoint manifests must be signed by it).')
  const genesis = values['drand-genesis']
  const period = values['drand-period']
  if (demo && (genesis === undefined || period === undefined))
    usage(
      `--profile ${DEMO_PROFILE_ID} needs --drand-genesis and --drand-period (the validator prints them).`,
    )
  const picker = values.picker
  if (picker !== 'frontier' && picker !== 'uniform') usage('--picker must be frontier or uniform.')
  const { groups, seed } = values
  const windows = values.windows ?? Number.POSITIVE_INFINITY
  const envName = checkCommonOptions(demo, values)
  const drand = {
    genesisTime: genesis ?? e3.drand.genesisTime,
    periodSeconds: period ?? e3.drand.periodSeconds,
  }
  const profile = demo ? createDemoProfile(drand) : e3OnChain(drand)
  const pickerKind: 'frontier' | 'uniform' = picker
  return {
    demo,
    validatorUrl,
    validatorHotkey,
    picker: pickerKind,
    groups,
    windows,
    seed,
    envName,
    profile,
  }
}
type MinerOptions = ReturnType<typeof checkMinerOptions>

/** Loads the model and environment and builds the miner (nothing is mined yet). */
async function buildMiner(
  values: MinerArgs,
  o: MinerOptions,
  logger: Logger,
): Promise<{ miner: Miner; line: string }> {
  const log = (line: string): void => logger.info(line)
  const { demo, seed, profile } = o
  const hubUrl = values['hub-url']
  const modelDir = await modelFrom(values.model, demo, hubUrl)
  const tokenizer = await loadTokenizer(modelDir)
  const environment = await environmentFrom(o.envName, values.problems, modelDir, tokenizer)
  const hotkey = await hotkeyFrom(values.hotkey, demo, `//reliquary-dev/miner/${seed}`, log)
  const { identifyBaseModel } = await import('../validator/identifyBaseModel.js')
  const { createMiner } = await import('../miner/createMiner.js')
  const { createFrontierPicker } = await import('../miner/frontier.js')
  const { uniformPicker } = await import('../miner/uniformPicker.js')
  const cacheDir = resolve(values['cache-dir'])
  const miner = createMiner({
    validatorUrl: o.validatorUrl,
    hotkey,
    modelDir,
    environment,
    profile,
    validatorHotkey: o.validatorHotkey,
    seed,
    groupsPerWindow: o.groups,
    // Demo windows start at 1 (bootstrap: the wider zone); the live network is long past bootstrap.
    picker:
      o.picker === 'frontier'
        ? createFrontierPicker({ size: environment.size, seed, profile, bootstrap: demo })
        : uniformPicker({ size: environment.size, seed }),
    now: () => Date.now() / 1000,
    drand: { genesisTime: profile.drand.genesisTime, periodSeconds: profile.drand.periodSeconds },
    hub: {
      hubUrl,
      cacheDir: join(cacheDir, 'checkpoints'),
      baseModel: await identifyBaseModel(modelDir),
      profileId: profile.id,
      onProgress: transferProgress(logger, values['log-format']),
    },
    log: (entry) =>
      logger[entry.level](
        { event: entry.event, ...entry.data },
        `${entry.event}: ${entry.message}`,
      ),
  })
  const line = `miner ${hotkey.address} → ${o.validatorUrl} · profile ${profile.id} · ${o.picker} picker · model ${modelDir}`
  return { miner, line }
}

/**
 * Mines window after window. `runWindow` mines the open window once; a window still open
 * afterwards (and quota left) is mined again, so the last of the N windows is mined until it
 * closes. A window with nothing eligible left is waited out instead of spinning.
 */
async function mineWindows(
  miner: Miner,
  o: { validatorUrl: string; windows: number; profile: ProtocolProfile },
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<void> {
  const base = o.validatorUrl.replace(/\/+$/, '')
  /** `/state`, or null when unreachable or not 200. */
  const state = async (): Promise<ReturnType<typeof parseState> | null> => {
    const res = await fetch(`${base}/state`, { signal }).catch(() => null)
    return res?.status === 200 ? parseState(await res.text()) : null
  }
  const seen = new Set<number>()
  const quota = o.profile.window.maxSubmissionsPerHotkey
  while (!signal.aborted) {
    try {
      const r = await miner.runWindow(signal)
      seen.add(r.windowN)
      const s = r.stats
      log(
        `window ${r.windowN}: submitted ${s.submitted}, accepted ${s.accepted}, rejected ${sumValues(s.rejected)}${formatReasons(s.rejected)}, skipped ${s.skipped}`,
      )
      if (seen.size >= o.windows) {
        if (quota > 0 && r.stats.submitted >= quota) break
        const now = await state()
        if (now?.state !== 'open' || now.window_n !== r.windowN) break
      }
      if (r.groups.length === 0) {
        while (!signal.aborted) {
          await pause(2000, signal)
          if ((await state())?.window_n !== r.windowN) break
        }
      }
    } catch (e) {
      if (signal.aborted) break
      // A connection cut mid-request (a validator or its hub restarting) is as transient as a
      // typed failure: the next window tries again.
      const err = isNetworkFailure(e) ? networkError('the validator or its hub', e) : e
      if (!isReliquaryError(err)) throw e
      log(`window failed: ${err.code}: ${err.shortMessage}`)
      await pause(2000, signal)
    }
  }
}

/**
 * `reliquary miner`: parses the options, builds the miner (`createMiner`) and mines window
 * after window until the window count or an interrupt.
 * @internal
 */
export async function minerCommand(argv: string[], write: (line: string) => void): Promise<number> {
  const parsed = parseCommand(MINER_COMMAND, argv)
  if (parsed.help) {
    write(formatHelp(MINER_COMMAND))
    return 0
  }
  const { values } = parsed
  const { logger, log } = serviceLogger(MINER_COMMAND, parsed, write)
  if (values.chain !== undefined && values.validator === undefined) {
    const { discoverValidatorOnChain } = await import('./chain.js')
    const found = await discoverValidatorOnChain(
      { chain: values.chain, netuid: values.netuid?.toString() },
      log,
    )
    values.validator = found.url
    values['validator-hotkey'] ??= found.hotkey
  }
  const o = checkMinerOptions(values)
  await useBackend(backendName(values.backend))
  const { miner, line } = await buildMiner(values, o, logger)
  log(line)
  const interrupt = interruptSignal(log, 'stopping')
  try {
    await mineWindows(miner, o, interrupt.signal, log)
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
