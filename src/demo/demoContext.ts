// What every step of a demo run shares: the configuration, the offline infrastructure (local
// drand chain, local Hub, work directory), the model's tokenizer and environment, and what the
// run records as it goes.
import { mkdir, mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createLocalBeaconChain, type LocalBeaconChain } from '../drand/localBeaconChain.js'
import { startHubServer, type HubServer } from '../hub/localHubServer.js'
import { useBackend } from '../model/backend.js'
import type { ModelTokenizer } from '../model/loadTokenizer.js'
import { e3, type ProtocolProfile } from '../protocol/profiles.js'
import type { RewardEnvironment } from '../reward/environment.js'
import { bundledModelDir } from './bundledModel.js'
import { DEMO_DEFAULTS, type DemoConfig, type DemoMinerKind } from './demoOptions.js'
import { loadDemoEnvironment } from './loadDemoEnvironment.js'
import { profileChanges } from './profileChanges.js'
import type { DemoGroupOutcome } from './report.js'
import { createDemoProfile } from './profile.js'

/** One miner of the demo. @internal */
export type DemoMiner = {
  readonly kind: DemoMinerKind
  readonly label: string
  readonly hotkey: string
}

/** The demo's miners and how a window is mined (see `createDemoMiners`). @internal */
export type DemoMiners = {
  readonly list: readonly DemoMiner[]
  /** Worker threads the miners run in (0: they share the validator's thread). */
  readonly threads: number
  /** Mines window `target` (the `w`-th of the run) until the miners are done or `signal` aborts. */
  mineWindow(w: number, target: number, signal: AbortSignal): Promise<void>
  /** Ends every miner (and its thread). */
  dispose(): Promise<void>
}

/** The shared state of one demo run. @internal */
export type DemoContext = {
  readonly config: DemoConfig
  readonly log: (line: string) => void
  readonly modelDir: string
  readonly tokenizer: ModelTokenizer
  readonly environment: RewardEnvironment
  readonly chain: LocalBeaconChain
  readonly profile: ProtocolProfile
  /** Every number of the demo profile that differs from e3, as `path: e3 → demo`. */
  readonly changes: readonly string[]
  readonly workDir: string
  readonly hub: HubServer
  /** Hotkey address → miner label, for the validator's log lines. */
  readonly labels: Map<string, string>
  readonly checkpoints: { windowN: number; checkpointN: number; revision: string }[]
  readonly checkpointLoads: { miner: string; checkpointN: number; revision: string }[]
  /**
   * Per miner label: groups generated (a `group_timing` entry each) and those kept back unsent,
   * by the miner's reason (`duplicate_rollouts`, …), and each group's forecast and outcome, from
   * the miners' own log entries.
   */
  readonly minerGroups: Map<
    string,
    { generated: number; keptBack: Record<string, number>; groups: DemoGroupOutcome[] }
  >
  /** The window the miners work on, the last sealed one, and who to tell on a seal. */
  readonly seal: { current: number; sealed: number; onSealed: (() => void) | null }
}

/**
 * Sets up a demo run: picks the backend, loads the tokenizer, builds the target-token
 * environment, starts a local drand chain (genesis two rounds ago) and the demo profile on it,
 * creates the work directory and starts the local Hub. Nothing of the market runs yet.
 * @internal
 */
export async function prepareDemo(config: DemoConfig): Promise<DemoContext> {
  await useBackend(config.backend)
  const modelDir = resolve(config.modelDir ?? bundledModelDir())
  const { tokenizer, environment } = await loadDemoEnvironment(modelDir, {
    seed: config.seed,
    size: DEMO_DEFAULTS.environmentSize,
  })
  const chain = createLocalBeaconChain({
    genesisTime: Math.floor(Date.now() / 1000) - 2 * config.periodSeconds,
    periodSeconds: config.periodSeconds,
  })
  const profile = createDemoProfile({
    chainHash: chain.info.hash,
    genesisTime: chain.info.genesis_time,
    periodSeconds: chain.info.period,
  })
  const workDir = config.workDir ?? (await mkdtemp(join(tmpdir(), 'reliquary-demo-')))
  await mkdir(workDir, { recursive: true })
  const hub = await startHubServer()
  return {
    config,
    log: config.log,
    modelDir,
    tokenizer,
    environment,
    chain,
    profile,
    changes: profileChanges(e3, profile),
    workDir,
    hub,
    labels: new Map(),
    checkpoints: [],
    checkpointLoads: [],
    minerGroups: new Map(),
    seal: { current: 0, sealed: 0, onSealed: null },
  }
}
