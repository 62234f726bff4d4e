import { invalidArgument } from '../errors/base.js'
import { DEFAULT_PROFILE } from '../protocol/profiles.js'
import { assertRewardEnvironment } from '../reward/environment.js'
import type { MinerConfig } from './minerContext.js'
import type { CreateMinerParameters } from './types.js'

/**
 * Checks {@link CreateMinerParameters} and fills in the defaults (every check `createMiner`
 * makes before anything runs).
 * @internal
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a missing or malformed parameter, or a profile
 *   that is not E3-ordered.
 */
export function resolveMinerConfig(parameters: CreateMinerParameters): MinerConfig {
  if (typeof parameters !== 'object' || parameters === null)
    throw invalidArgument('parameters', 'an object', parameters)
  const p = parameters
  if (typeof p.validatorUrl !== 'string' || !/^https?:\/\//.test(p.validatorUrl))
    throw invalidArgument('validatorUrl', 'an http(s) URL', p.validatorUrl)
  if (typeof p.hotkey?.sign !== 'function' || typeof p.hotkey.address !== 'string')
    throw invalidArgument('hotkey', 'a Hotkey from createHotkey', p.hotkey)
  if (typeof p.modelDir !== 'string' || p.modelDir.length === 0)
    throw invalidArgument('modelDir', 'a checkpoint directory', p.modelDir)
  checkCollaborators(p)
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
  checkHub(p.hub)
  if (!Number.isSafeInteger(p.groupsPerWindow) || p.groupsPerWindow < 1)
    throw invalidArgument('groupsPerWindow', 'a positive integer', p.groupsPerWindow)
  if (!Number.isSafeInteger(p.seed)) throw invalidArgument('seed', 'a safe integer', p.seed)
  const strategy = p.strategy ?? 'honest'
  if (strategy !== 'honest' && strategy !== 'cheat')
    throw invalidArgument('strategy', "'honest' or 'cheat'", strategy)
  const fetchImpl = p.fetch ?? globalThis.fetch
  if (typeof fetchImpl !== 'function') throw invalidArgument('fetch', 'a fetch function', fetchImpl)
  const timing = {
    pollIntervalMs: p.pollIntervalMs ?? 1000,
    verdictTimeoutMs: p.verdictTimeoutMs ?? 60_000,
    roundMarginSeconds: p.roundMarginSeconds ?? 0.25,
  }
  for (const [k, v] of Object.entries(timing)) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw invalidArgument(k, 'a finite number ≥ 0', v)
  }
  const duplicateResamples = p.duplicateResamples ?? 4
  if (!Number.isSafeInteger(duplicateResamples) || duplicateResamples < 0)
    throw invalidArgument('duplicateResamples', 'an integer ≥ 0', duplicateResamples)
  return Object.freeze({
    validatorUrl: p.validatorUrl,
    hotkey: p.hotkey,
    modelDir: p.modelDir,
    environment: p.environment,
    picker: p.picker,
    profile,
    now: p.now,
    drand: { genesisTime: drand.genesisTime, periodSeconds: drand.periodSeconds },
    validatorHotkey: p.validatorHotkey,
    hub: p.hub,
    groupsPerWindow: p.groupsPerWindow,
    seed: p.seed,
    strategy,
    skipOutOfZone: p.skipOutOfZone ?? true,
    duplicateResamples,
    fetch: p.fetch,
    fetchImpl,
    ...timing,
  })
}

function checkCollaborators(p: CreateMinerParameters): void {
  assertRewardEnvironment(p.environment)
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
}

function checkHub(hub: CreateMinerParameters['hub']): void {
  if (hub === undefined) return
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
