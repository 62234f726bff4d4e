import { invalidArgument } from '../errors/base.js'
import {
  DEMO_DEFAULTS,
  MINER_LABEL,
  type DemoConfig,
  type DemoMinerKind,
  type RunDemoOptions,
} from './demoOptions.js'

/**
 * Checks {@link RunDemoOptions} and fills in {@link DEMO_DEFAULTS}, before anything loads.
 * @internal
 * @throws {ReliquaryError} `INVALID_ARGUMENT` naming the first bad option.
 */
export function resolveDemoOptions(options: RunDemoOptions): DemoConfig {
  if (typeof options !== 'object' || options === null)
    throw invalidArgument('options', 'an object', options)
  const d = DEMO_DEFAULTS
  const kinds: readonly DemoMinerKind[] = options.miners ?? d.miners
  const kindsValue: unknown = kinds
  const config: DemoConfig = {
    windows: options.windows ?? d.windows,
    kinds,
    seed: options.seed ?? d.seed,
    out: options.out === undefined ? d.out : options.out,
    log: options.log ?? ((line: string) => console.log(line)),
    verbose: options.verbose ?? false,
    onMinerLog: options.onMinerLog,
    periodSeconds: options.periodSeconds ?? d.periodSeconds,
    groupsPerWindow: options.groupsPerWindow ?? d.groupsPerWindow,
    cheaterGroups: options.cheaterGroupsPerWindow ?? d.cheaterGroupsPerWindow,
    evalPrompts: options.evalPrompts ?? d.evalPrompts,
    evalRollouts: options.evalRollouts ?? d.evalRollouts,
    backend: options.backend ?? d.backend,
    modelDir: options.modelDir,
    workDir: options.workDir,
    keepWorkDir: options.keepWorkDir ?? false,
    chain: options.chain ?? false,
    minerThreads: options.minerThreads ?? true,
  }
  for (const [k, v, min] of [
    ['windows', config.windows, 1],
    ['periodSeconds', config.periodSeconds, 1],
    ['groupsPerWindow', config.groupsPerWindow, 1],
    ['cheaterGroupsPerWindow', config.cheaterGroups, 1],
    ['evalPrompts', config.evalPrompts, 0],
    ['evalRollouts', config.evalRollouts, 1],
  ] as const) {
    if (!Number.isSafeInteger(v) || v < min) throw invalidArgument(k, `an integer ≥ ${min}`, v)
  }
  if (!Number.isSafeInteger(config.seed) || config.seed < 0)
    throw invalidArgument('seed', 'a non-negative integer', config.seed)
  if (
    !Array.isArray(kindsValue) ||
    kindsValue.some((k: unknown) => typeof k !== 'string' || !Object.hasOwn(MINER_LABEL, k))
  )
    throw invalidArgument('miners', "an array of 'frontier' | 'uniform' | 'cheater'", kinds)
  const { out, log } = config
  if (out !== null && (typeof out !== 'string' || out.length === 0))
    throw invalidArgument('out', 'a file path or null', out)
  if (typeof log !== 'function') throw invalidArgument('log', 'a function', log)
  if (config.onMinerLog !== undefined && typeof config.onMinerLog !== 'function')
    throw invalidArgument('onMinerLog', 'a function', config.onMinerLog)
  const { chain } = config
  if (
    typeof chain !== 'boolean' &&
    !(typeof chain === 'object' && chain !== null && /^wss?:\/\//.test(String(chain.url)))
  )
    throw invalidArgument('chain', "a boolean or { url: 'ws://…' }", chain)
  return Object.freeze(config)
}
