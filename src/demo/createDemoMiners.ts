import { join } from 'node:path'
import { createHotkey } from '../crypto/sr25519.js'
import { createFrontierPicker, uniformPicker } from '../miner/frontier.js'
import { createMiner } from '../miner/createMiner.js'
import type { MinerLogEntry } from '../miner/types.js'
import type { Validator } from '../validator/createValidator.js'
import type { DemoContext, DemoMiner } from './demoContext.js'
import { MINER_LABEL } from './demoOptions.js'

/**
 * One miner per configured kind: the frontier and uniform pickers mine honestly and submit every
 * group (so their acceptance rates show how well they pick prompts); the cheater rotates its
 * cheats and skips out-of-zone groups. Hotkeys and seeds derive from the demo seed; repeated
 * kinds are numbered.
 * @internal
 */
export async function createDemoMiners(
  ctx: DemoContext,
  validator: Validator,
  validatorHotkey: string,
): Promise<DemoMiner[]> {
  const { config, profile, environment, chain } = ctx
  const miners: DemoMiner[] = []
  const counts = new Map<string, number>()
  for (const [i, kind] of config.kinds.entries()) {
    const n = (counts.get(kind) ?? 0) + 1
    counts.set(kind, n)
    const repeated = config.kinds.filter((k) => k === kind).length > 1
    const label = repeated ? `${MINER_LABEL[kind]} #${n}` : MINER_LABEL[kind]
    const hotkey = await createHotkey(`//reliquary-demo/${config.seed}/miner/${kind}/${n}`)
    ctx.labels.set(hotkey.address, label)
    const pickerSeed = config.seed * 1000 + i
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
      validatorUrl: validator.url,
      hotkey,
      modelDir: ctx.modelDir,
      environment,
      picker,
      profile,
      now: () => Date.now() / 1000,
      drand: { genesisTime: chain.info.genesis_time, periodSeconds: chain.info.period },
      validatorHotkey,
      hub: {
        hubUrl: ctx.hub.url,
        cacheDir: join(ctx.workDir, 'miners', `${kind}-${n}`),
        baseModel: validator.baseModel,
        profileId: profile.id,
      },
      groupsPerWindow: kind === 'cheater' ? config.cheaterGroups : config.groupsPerWindow,
      seed: pickerSeed,
      strategy: kind === 'cheater' ? 'cheat' : 'honest',
      // Honest miners submit every group, so their acceptance rate shows how well they pick prompts.
      skipOutOfZone: kind === 'cheater',
      pollIntervalMs: 200,
      verdictTimeoutMs: 30_000,
      log: (entry) => logMinerEntry(ctx, label, entry),
    })
    miners.push({ kind, label, hotkey: hotkey.address, miner, picker })
  }
  return miners
}

/** A miner's log entry in the demo: checkpoint switches always, warnings, everything when verbose. */
function logMinerEntry(ctx: DemoContext, name: string, entry: MinerLogEntry): void {
  const { log } = ctx
  if (entry.event === 'checkpoint_loaded') {
    const data = entry.data ?? {}
    ctx.checkpointLoads.push({
      miner: name,
      checkpointN: Number(data.checkpointN),
      revision: String(data.revision),
    })
    log(`  ${name}: ${entry.message}`)
  } else if (ctx.config.verbose) log(`  [${name}] ${entry.event}: ${entry.message}`)
  else if (entry.level === 'warn')
    log(`  ${name}: ${entry.message}${entry.data?.error ? ` (${String(entry.data.error)})` : ''}`)
}
