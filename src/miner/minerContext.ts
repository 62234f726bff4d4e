// What every step of the miner's window receives: the validated configuration, the validator
// client, the log, the ledger of submissions, and the state that lives across windows.
import type { Hotkey } from '../crypto/sr25519.js'
import type { CausalLM } from '../model/loadModel.js'
import type { ModelTokenizer } from '../model/loadTokenizer.js'
import type { ProtocolProfile } from '../protocol/profiles.js'
import type { RewardEnvironment } from '../reward/environment.js'
import type { PromptPicker } from './promptPicker.js'
import type { MinerLedger } from './minerLedger.js'
import type { ValidatorClient } from './validatorClient.js'
import type { MinerHubOptions, MinerLogEntry, MinerStrategy, ReplayMaterial } from './types.js'

/** {@link CreateMinerParameters} checked and defaulted by `resolveMinerConfig`. @internal */
export type MinerConfig = {
  readonly validatorUrl: string
  readonly hotkey: Hotkey
  readonly modelDir: string
  readonly environment: RewardEnvironment
  readonly picker: PromptPicker
  readonly profile: ProtocolProfile
  readonly now: () => number
  readonly drand: { readonly genesisTime: number; readonly periodSeconds: number }
  readonly validatorHotkey: string | Uint8Array
  readonly hub: MinerHubOptions | undefined
  readonly groupsPerWindow: number
  readonly seed: number
  readonly strategy: MinerStrategy
  readonly skipOutOfZone: boolean
  readonly duplicateResamples: number
  /** The caller's `fetch`, passed on to the Hub download (undefined: the Hub's default). */
  readonly fetch: typeof fetch | undefined
  /** The `fetch` every request uses (the caller's, else `globalThis.fetch`). */
  readonly fetchImpl: typeof fetch
  readonly pollIntervalMs: number
  readonly verdictTimeoutMs: number
  readonly roundMarginSeconds: number
}

/** A structured log call that never throws (a failing logger never stops mining). @internal */
export type MinerLog = (
  level: MinerLogEntry['level'],
  event: string,
  message: string,
  data?: Record<string, unknown>,
) => void

/** What survives from one window to the next. @internal */
export type MinerState = {
  /** The bootstrap load in progress or done (null before the first window, or after a failed load). */
  loading: Promise<void> | null
  model: CausalLM | null
  tokenizer: ModelTokenizer | null
  /** The checkpoint the model is on (n 0 = the bootstrap directory). */
  checkpoint: { n: number; revision: string; dir: string }
  /** Groups generated so far (part of each rollout's sampling seed). */
  groupCounter: number
  /** Position in the cheater's rotation of {@link CHEAT_KINDS}. */
  cheatCycle: number
  /** Honest in-zone groups the cheater keeps for a later replay (oldest first). */
  replayStash: ReplayMaterial[]
  /** Prompts generated in window `windowN` (only the latest window is kept). */
  tried: { windowN: number; prompts: Set<number> }
}

/** The dependencies and state a miner's steps share. @internal */
export type MinerContext = {
  readonly config: MinerConfig
  readonly http: ValidatorClient
  readonly log: MinerLog
  readonly ledger: MinerLedger
  readonly state: MinerState
}

/** The wire `checkpoint_hash`: `""` on the bootstrap model, the revision verbatim afterwards. @internal */
export function wireCheckpointHash(state: MinerState): string {
  return state.checkpoint.n === 0 ? '' : state.checkpoint.revision
}

/** A {@link MinerLog} over the caller's optional log sink. @internal */
export function createMinerLog(sink: ((entry: MinerLogEntry) => void) | undefined): MinerLog {
  return (level, event, message, data) => {
    if (!sink) return
    try {
      sink(Object.freeze({ level, event, message, ...(data ? { data } : {}) }))
    } catch {
      // A failing logger never stops mining.
    }
  }
}
