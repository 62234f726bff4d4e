import { createHotkey } from '../crypto/sr25519.js'
import type { Miner, MinerLogEntry } from '../miner/types.js'
import { groupSigma, isInZone } from '../reward/groups.js'
import type { Validator } from '../validator/createValidator.js'
import { buildDemoMiner, type DemoMinerShared, type DemoMinerSpec } from './_buildDemoMiner.js'
import { minerWorkerEntry, startMinerThread, type MinerThread } from './_minerThreads.js'
import type { DemoContext, DemoMiner, DemoMiners } from './demoContext.js'
import { DEMO_DEFAULTS, MINER_LABEL } from './demoOptions.js'
import { minersInTurns } from './minersInTurns.js'

/**
 * One miner per configured kind (hotkeys and seeds derive from the demo seed; repeated kinds are
 * numbered). With `minerThreads` (the default) each miner runs in its own worker thread and all
 * of them mine a window at once, racing for the batch as separate machines would; otherwise they
 * share the validator's thread and take turns (the first one rotates with the window).
 * @internal
 * @throws {ReliquaryError} `DEMO_MINER_THREAD_FAILED` when a miner thread cannot start.
 */
export async function createDemoMiners(
  ctx: DemoContext,
  validator: Validator,
  validatorHotkey: string,
): Promise<DemoMiners> {
  const { config, chain } = ctx
  const specs: DemoMinerSpec[] = []
  const counts = new Map<string, number>()
  for (const [index, kind] of config.kinds.entries()) {
    const n = (counts.get(kind) ?? 0) + 1
    counts.set(kind, n)
    const repeated = config.kinds.filter((k) => k === kind).length > 1
    const label = repeated ? `${MINER_LABEL[kind]} #${n}` : MINER_LABEL[kind]
    const hotkeyUri = `//reliquary-demo/${config.seed}/miner/${kind}/${n}`
    const { address } = await createHotkey(hotkeyUri)
    ctx.labels.set(address, label)
    const groupsPerWindow = kind === 'cheater' ? config.cheaterGroups : config.groupsPerWindow
    specs.push({ kind, n, label, index, hotkeyUri, hotkey: address, groupsPerWindow })
  }
  const shared: DemoMinerShared = {
    seed: config.seed,
    modelDir: ctx.modelDir,
    workDir: ctx.workDir,
    validatorUrl: validator.url,
    validatorHotkey,
    hubUrl: ctx.hub.url,
    baseModel: validator.baseModel,
    genesisTime: chain.info.genesis_time,
    periodSeconds: chain.info.period,
  }
  const list: DemoMiner[] = specs.map(({ kind, label, hotkey }) => ({ kind, label, hotkey }))
  const entry = config.minerThreads ? minerWorkerEntry() : null
  if (config.minerThreads && entry === null)
    ctx.log('  miner threads: the worker module was not found; the miners share one thread')
  return entry === null
    ? await sharedThreadMiners(ctx, specs, shared, list)
    : await threadedMiners(ctx, specs, shared, list, entry)
}

/** Every miner in its own worker thread; a window is mined by all of them at once. */
async function threadedMiners(
  ctx: DemoContext,
  specs: readonly DemoMinerSpec[],
  shared: DemoMinerShared,
  list: readonly DemoMiner[],
  entry: { file: string; eval: boolean },
): Promise<DemoMiners> {
  const started = await Promise.allSettled(
    specs.map((spec) =>
      startMinerThread(
        entry,
        {
          spec,
          shared,
          backend: ctx.config.backend,
          chainHash: ctx.chain.info.hash,
          environmentSize: DEMO_DEFAULTS.environmentSize,
        },
        (e) => logMinerEntry(ctx, spec.label, e),
        (message) => ctx.log(`  ${spec.label}: ${message}`),
      ),
    ),
  )
  const threads = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []))
  const failed = started.find((s) => s.status === 'rejected')
  if (failed) {
    await Promise.all(threads.map((t) => t.stop()))
    throw failed.reason
  }
  return {
    list,
    threads: threads.length,
    async mineWindow(_w, target, signal) {
      await Promise.all(threads.map((t: MinerThread) => t.mine(target, signal)))
    },
    async dispose() {
      await Promise.all(threads.map((t) => t.stop()))
    },
  }
}

/** The miners on the validator's thread, taking turns (see {@link minersInTurns}). */
async function sharedThreadMiners(
  ctx: DemoContext,
  specs: readonly DemoMinerSpec[],
  shared: DemoMinerShared,
  list: readonly DemoMiner[],
): Promise<DemoMiners> {
  const miners: { label: string; miner: Miner }[] = []
  for (const spec of specs) {
    const miner = await buildDemoMiner(spec, shared, {
      profile: ctx.profile,
      environment: ctx.environment,
      log: (e) => logMinerEntry(ctx, spec.label, e),
    })
    miners.push({ label: spec.label, miner })
  }
  const quota = ctx.profile.window.maxSubmissionsPerHotkey
  return { list, threads: 0, ...minersInTurns(miners, quota, ctx.log) }
}

/** Counts one generated group of miner `name` (and why it was kept back, if it was). */
function countGroup(ctx: DemoContext, name: string, entry: MinerLogEntry): void {
  const c = ctx.minerGroups.get(name) ?? { generated: 0, keptBack: {}, groups: [] }
  c.generated++
  const d = entry.data ?? {}
  const skipped = d.skipped
  if (typeof skipped === 'string') c.keptBack[skipped] = (c.keptBack[skipped] ?? 0) + 1
  const rewards = Array.isArray(d.rewards) ? d.rewards.filter(Number.isFinite) : []
  const finished =
    skipped !== 'given_up' &&
    skipped !== 'duplicate_rollouts' &&
    rewards.length === ctx.profile.group.rolloutsPerGroup
  c.groups.push({
    windowN: Number(d.windowN),
    promptIdx: Number(d.promptIdx),
    predicted: typeof d.predicted === 'number' ? d.predicted : null,
    finished,
    inZone: finished && isInZone(groupSigma(rewards), { bootstrap: true, profile: ctx.profile }),
    sent: skipped === null && d.response !== null,
  })
  ctx.minerGroups.set(name, c)
}

/** A miner's log entry in the demo: checkpoint switches always, warnings, everything when verbose. */
function logMinerEntry(ctx: DemoContext, name: string, entry: MinerLogEntry): void {
  const { log } = ctx
  try {
    ctx.config.onMinerLog?.(name, entry)
  } catch {
    // An observer that throws never stops the demo.
  }
  if (entry.event === 'group_timing') countGroup(ctx, name, entry)
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
