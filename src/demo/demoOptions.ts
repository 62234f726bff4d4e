// The options, defaults and result of `runDemo`, shared by its steps.
import type { BackendName } from '../model/backend.js'
import type { MinerLogEntry } from '../miner/types.js'
import type { ProtocolProfile } from '../protocol/profiles.js'
import type { HotkeyCounts, WindowReport } from '../validator/createValidator.js'
import { DEMO_PROFILE_NUMBERS } from './profile.js'
import type { DemoChainWeights } from './chainWeights.js'
import type { DemoSummary } from './report.js'

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
  /**
   * Where the HTML report is written: a file (`.html` is appended when missing) or a directory
   * (existing, or ending in `/`; the report is `reliquary-demo.html` in it); `null` writes none.
   * @default 'reliquary-demo.html'
   */
  out?: string | null | undefined
  /** Receives every progress line and the final summary table. @default console.log */
  log?: ((line: string) => void) | undefined
  /** Also log every miner log entry (group skipped, submitted, verdict, …), not only warnings and checkpoint switches. @default false */
  verbose?: boolean | undefined
  /**
   * Receives every miner log entry, all levels, with the miner's label (per group: the
   * `group_timing` entry says where its time went and which drand round it signed). It only
   * observes: the run is the same with or without it.
   */
  onMinerLog?: ((miner: string, entry: MinerLogEntry) => void) | undefined
  /** The model every participant starts from. @default the bundled `assets/qwen3-tiny-s0` */
  modelDir?: string | undefined
  /** Working directory (archives, checkpoints, the miners' verified snapshots). @default a fresh temporary directory, removed at the end */
  workDir?: string | undefined
  /** Keep `workDir` after the run. @default false */
  keepWorkDir?: boolean | undefined
  /** TensorFlow.js backend, chosen once for the whole run. @default 'wasm' */
  backend?: BackendName | undefined
  /**
   * Run each miner in its own worker thread, all mining a window at once (as separate machines
   * would); `false` runs them on the validator's thread, in turns. @default true
   */
  minerThreads?: boolean | undefined
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
  /**
   * Runs a local subtensor chain in the demo (`reliquary demo --chain`): chopsticks (a development
   * dependency; an installed package needs `@acala-network/chopsticks` 1.5.1 beside it) on the 2023
   * test-network genesis (`assets/chain`); the validator checks registration at admission and sets
   * its EMA weights at each epoch's lead, read back into the summary. `{ url }` uses a fresh
   * chopsticks node on that genesis already running there (no subnet yet) instead of starting one
   * (`reliquary demo --chain ws://…`). @default false
   */
  chain?: boolean | { readonly url: string } | undefined
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
  /**
   * Per miner: kind, hotkey, counts (validator side), EMA weight, pool shares paid over the run,
   * and (miner side) groups generated and those kept back unsent by reason.
   */
  readonly miners: readonly {
    readonly kind: DemoMinerKind
    readonly label: string
    readonly hotkey: string
    readonly counts: HotkeyCounts
    readonly emaWeight: number
    /** Sum of the miner's `rewards_by_hotkey` shares over the windows (each window pays at most 1). */
    readonly paid: number
    /** Groups the miner generated (submitted or not; a group cut short by a seal is not counted). */
    readonly generated: number
    /** Generated groups the miner did not submit, by reason (`duplicate_rollouts`: a rollout kept repeating; `out_of_zone`). */
    readonly keptBack: Readonly<Record<string, number>>
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
  /** The HTML report's absolute path (after `.html` / the directory rule), or null. */
  readonly out: string | null
  /** With `chain`: the validator's last weights, sent and read back from the chain; else `null`. */
  readonly chain: DemoChainWeights | null
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

/** How each miner kind is named in logs and the report. @internal */
export const MINER_LABEL: Readonly<Record<DemoMinerKind, string>> = {
  frontier: 'frontier (honest)',
  uniform: 'uniform (honest)',
  cheater: 'cheater',
}

/** {@link RunDemoOptions} checked, with every default filled in. @internal */
export type DemoConfig = {
  readonly windows: number
  readonly kinds: readonly DemoMinerKind[]
  readonly seed: number
  readonly out: string | null
  readonly log: (line: string) => void
  readonly verbose: boolean
  readonly onMinerLog: ((miner: string, entry: MinerLogEntry) => void) | undefined
  readonly periodSeconds: number
  readonly groupsPerWindow: number
  readonly cheaterGroups: number
  readonly evalPrompts: number
  readonly evalRollouts: number
  readonly backend: BackendName
  readonly modelDir: string | undefined
  readonly workDir: string | undefined
  readonly keepWorkDir: boolean
  /** `false`, a local chain started by the demo (`true`), or an already running node's URL. */
  readonly chain: false | true | { readonly url: string }
  readonly minerThreads: boolean
}
