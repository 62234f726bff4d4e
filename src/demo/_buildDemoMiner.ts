// One demo miner, built the same way on the validator's thread and in a miner thread: the spec
// (kind, label, hotkey URI, seeds) is plain data, everything else is rebuilt from it.
import { join } from 'node:path'
import { createHotkey } from '../crypto/sr25519.js'
import { createFrontierPicker } from '../miner/frontier.js'
import { uniformPicker } from '../miner/uniformPicker.js'
import { createMiner } from '../miner/createMiner.js'
import type { Miner, MinerLogEntry } from '../miner/types.js'
import type { ProtocolProfile } from '../protocol/profiles.js'
import type { RewardEnvironment } from '../reward/environment.js'
import type { DemoMinerKind } from './demoOptions.js'
import { parseTargetRule } from './environment.js'

/** Most passes of a miner over one window (each pass mines up to its groups per window). @internal */
export const MAX_PASSES = 4

/** What identifies one demo miner; structured-cloneable, so it crosses into a miner thread. @internal */
export type DemoMinerSpec = {
  readonly kind: DemoMinerKind
  /** 1-based number among the miners of the same kind. */
  readonly n: number
  readonly label: string
  /** Position in the configured miner list (seeds derive from it). */
  readonly index: number
  /** The sr25519 secret URI of the hotkey (a development derivation from the demo seed). */
  readonly hotkeyUri: string
  readonly hotkey: string
  readonly groupsPerWindow: number
}

/** What every miner of a run shares; structured-cloneable. @internal */
export type DemoMinerShared = {
  readonly seed: number
  readonly modelDir: string
  readonly workDir: string
  readonly validatorUrl: string
  readonly validatorHotkey: string
  readonly hubUrl: string
  readonly baseModel: { readonly id: string; readonly revision: string }
  readonly genesisTime: number
  readonly periodSeconds: number
}

/**
 * What the demo's frontier picker reads of a target-token problem without generating: ln(number
 * of target characters), ln(search window). More targets and a longer window make a hit likelier.
 * @internal
 */
export function targetRuleFeatures(groundTruth: string): number[] {
  const rule = parseTargetRule(groundTruth)
  return [Math.log(rule.targets.length), Math.log(rule.window)]
}

/**
 * A demo miner: the frontier and uniform pickers mine honestly and submit every group (so their
 * acceptance rates show how well they pick prompts); the cheater rotates its cheats and skips
 * out-of-zone groups.
 * @internal
 */
export async function buildDemoMiner(
  spec: DemoMinerSpec,
  shared: DemoMinerShared,
  deps: {
    profile: ProtocolProfile
    environment: RewardEnvironment
    log: (entry: MinerLogEntry) => void
  },
): Promise<Miner> {
  const { kind } = spec
  const { profile, environment } = deps
  const hotkey = await createHotkey(spec.hotkeyUri)
  const pickerSeed = shared.seed * 1000 + spec.index
  const picker =
    kind === 'frontier'
      ? createFrontierPicker({
          size: environment.size,
          seed: pickerSeed,
          profile,
          bootstrap: true,
          promptFeatures: (i) => targetRuleFeatures(environment.getProblem(i).groundTruth),
        })
      : uniformPicker({ size: environment.size, seed: pickerSeed })
  return createMiner({
    validatorUrl: shared.validatorUrl,
    hotkey,
    modelDir: shared.modelDir,
    environment,
    picker,
    profile,
    now: () => Date.now() / 1000,
    drand: { genesisTime: shared.genesisTime, periodSeconds: shared.periodSeconds },
    validatorHotkey: shared.validatorHotkey,
    hub: {
      hubUrl: shared.hubUrl,
      cacheDir: join(shared.workDir, 'miners', `${kind}-${spec.n}`),
      baseModel: shared.baseModel,
      profileId: profile.id,
    },
    groupsPerWindow: spec.groupsPerWindow,
    seed: pickerSeed,
    strategy: kind === 'cheater' ? 'cheat' : 'honest',
    // Honest miners submit every group, so their acceptance rate shows how well they pick prompts.
    skipOutOfZone: kind === 'cheater',
    pollIntervalMs: 200,
    verdictTimeoutMs: 30_000,
    log: deps.log,
  })
}

/**
 * One miner's passes over a window: passes repeat while the window stays open and the miner has
 * quota left (groups it does not submit cost it no quota), {@link MAX_PASSES} at most. A failed
 * pass is reported to `onError` (unless the window was aborted) and the next pass tries again.
 * @internal
 */
export async function runMinerPasses(
  miner: Miner,
  quota: number,
  signal: AbortSignal,
  onError: (e: unknown) => void,
): Promise<void> {
  for (let pass = 0; pass < MAX_PASSES && !signal.aborted; pass++) {
    try {
      const r = await miner.runWindow(signal)
      if (quota > 0 && r.stats.submitted >= quota) return
    } catch (e) {
      if (!signal.aborted) onError(e)
    }
  }
}
