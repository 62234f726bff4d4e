import { mkdir, rm, stat, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import type { Validator } from '../validator/createValidator.js'
import { buildDemoSummary } from './buildDemoSummary.js'
import { startDemoChain, type DemoChain } from './chainStep.js'
import { locateLocalChain } from './startLocalSubtensor.js'
import { type DemoChainWeights, formatChainWeights } from './chainWeights.js'
import { createDemoMiners } from './createDemoMiners.js'
import { prepareDemo, type DemoContext, type DemoMiner, type DemoMiners } from './demoContext.js'
import type { RunDemoOptions, RunDemoReturnType } from './demoOptions.js'
import {
  createTrainedPromptEvaluation,
  evaluateTrainedPrompts,
  type TrainedPromptEvaluation,
} from './evaluateTrainedPrompts.js'
import { formatDemoSummary } from './formatDemoSummary.js'
import { mineDemoWindow } from './mineDemoWindow.js'
import { recordDemoWindow } from './recordDemoWindow.js'
import { renderDemoReport, type DemoWindowSummary } from './report.js'
import { reportPath } from './reportPath.js'
import { resolveDemoOptions } from './resolveDemoOptions.js'
import { startDemoValidator } from './startDemoValidator.js'

export { DEMO_DEFAULTS } from './demoOptions.js'
export type { DemoMinerKind, RunDemoOptions, RunDemoReturnType } from './demoOptions.js'

/**
 * Runs the Reliquary market end to end in one process, offline: a local BLS-signed drand chain
 * (2 s rounds), a local Hugging Face Hub server, the bundled random tiny Qwen3 model, the
 * target-token environment, an E3 validator (`createValidator`) and three miners (`createMiner`):
 * an honest one with the frontier picker, an honest one with the uniform picker, and a cheater
 * (fabricated sketches, lied rewards, replays). The miners share the validator's event loop and
 * take turns within a window (the first one rotates); when the validator seals a window their
 * remaining work is aborted.
 *
 * Each window prints live progress (open, every verdict, seal, GRPO step, publish, checkpoint
 * switches). The validator publishes its first full window and every window `n % 10 === 0` to
 * the local Hub with a signed custody manifest; the miners verify the reference manifest, the
 * custody chain and every file digest (`downloadCheckpoint`) before switching. At the end it
 * prints a summary table (per miner: accepted, rejected by reason, acceptance rate, EMA weight;
 * per window: batch reward mean and σ, loss, KL, reward on trained prompts) and writes the HTML
 * report (`renderDemoReport`) to `out` (a directory gets `reliquary-demo.html`, a name without
 * `.html` gets the extension; see `reportPath`).
 *
 * The demo profile is `createDemoProfile` (e3 with the numbers of `DEMO_PROFILE_NUMBERS`) on a local drand
 * chain; the exact list is returned as `profileChanges` and printed.
 *
 * With `chain` (`reliquary demo --chain`) a local subtensor node runs too: the validator and the
 * miners are registered on a subnet, admission checks registration, the validator sets its EMA
 * weights at each epoch's lead after a window, and the summary and the report show the weights
 * read back from the chain beside the EMA.
 *
 * @param options - {@link RunDemoOptions}
 * @returns {@link RunDemoReturnType}
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for bad options; `TFJS_NOT_AVAILABLE` when the
 *   backend cannot load; with `chain`, `CHAIN_NODE_NOT_AVAILABLE` (chopsticks not installed),
 *   `CHAIN_CLIENT_NOT_AVAILABLE` and chain errors; a validator error that aborts a window (servers are closed and the work
 *   directory removed first).
 * @example
 * ```ts
 * import { runDemo } from './src/demo/runDemo.js'
 * const { summary, seconds } = await runDemo({ windows: 12, out: 'demo.html' })
 * console.log(summary.miners.map((m) => `${m.label}: ${m.emaWeight}`), seconds)
 * ```
 */
export async function runDemo(options: RunDemoOptions = {}): Promise<RunDemoReturnType> {
  const started = performance.now()
  const config = resolveDemoOptions(options)
  // Before any set-up: an installed package without chopsticks stops here, with the install step.
  const chainAt = config.chain === true ? locateLocalChain() : config.chain || null
  const ctx = await prepareDemo(config)
  const evaluation = createTrainedPromptEvaluation()
  let validator: Validator | null = null
  let pool: DemoMiners | null = null
  let chain: DemoChain | null = null
  try {
    if (chainAt) chain = await startDemoChain(ctx, chainAt)
    const v = await startDemoValidator(ctx, chain?.registry)
    validator = v.validator
    pool = await createDemoMiners(ctx, v.validator, v.validatorHotkey)
    const miners = pool.list
    await chain?.attach(
      v.key,
      validator,
      miners.map((m) => m.hotkey),
    )
    ctx.log(
      `reliquary demo: ${config.windows} windows, ${miners.length} miners (${miners.map((m) => m.label).join(', ')}${pool.threads ? `; ${pool.threads} miner threads` : '; one thread, in turns'}), model ${ctx.modelDir}`,
    )
    ctx.log(`profile ${ctx.profile.id} = e3 except: ${ctx.changes.join('; ')}`)
    const windowRows: DemoWindowSummary[] = []
    for (let w = 1; w <= config.windows; w++) {
      const windowStarted = performance.now()
      const report = await mineDemoWindow(ctx, validator, pool, w)
      // The policy with the window's step (a model worker holds it until pulled).
      await validator.modelWorker?.pull()
      const evaluated = await evaluateTrainedPrompts(
        ctx,
        evaluation,
        validator.policy,
        report,
        windowRows.at(-1),
      )
      const windowSeconds = (performance.now() - windowStarted) / 1000
      const prompts = evaluation.evalSet.length
      windowRows.push(
        recordDemoWindow(ctx, miners, report, { ...evaluated, prompts }, windowSeconds),
      )
      await chain?.afterWindow(w)
    }
    const onChain = chain ? await chain.finish(ctx.labels) : null
    return await finishDemo(ctx, validator, miners, windowRows, evaluation, started, onChain)
  } finally {
    await chain?.close()
    await pool?.dispose()
    evaluation.baseModel?.dispose()
    await validator?.dispose()
    await ctx.hub.close()
    if (!config.keepWorkDir && config.workDir === undefined)
      await rm(ctx.workDir, { recursive: true, force: true })
  }
}

/** The last step: totals per miner, the summary table, the HTML report, the frozen result. */
async function finishDemo(
  ctx: DemoContext,
  v: Validator,
  miners: readonly DemoMiner[],
  windowRows: readonly DemoWindowSummary[],
  evaluation: TrainedPromptEvaluation,
  started: number,
  chain: DemoChainWeights | null,
): Promise<RunDemoReturnType> {
  const ema = v.ema()
  const totals = v.hotkeyCounts()
  const reports = v.reports()
  const minerRows = miners.map((m) => ({
    kind: m.kind,
    label: m.label,
    hotkey: m.hotkey,
    counts: totals[m.hotkey] ?? { submitted: 0, accepted: 0, rejected: {} },
    emaWeight: ema.get(m.hotkey) ?? 0,
    paid: reports.reduce((a, r) => a + (r.rewardsByHotkey[m.hotkey] ?? 0), 0),
    generated: ctx.minerGroups.get(m.label)?.generated ?? 0,
    keptBack: { ...ctx.minerGroups.get(m.label)?.keptBack },
    groups: [...(ctx.minerGroups.get(m.label)?.groups ?? [])],
  }))
  const seconds = (performance.now() - started) / 1000
  const text = [
    formatDemoSummary(ctx, { reports, seconds, minerRows, windowRows, evaluation }),
    ...(chain ? formatChainWeights(chain) : []),
  ].join('\n')
  ctx.log(text)
  const windows = reports.length
  const summary = {
    ...buildDemoSummary(ctx, { windows, seconds, minerRows, windowRows, evaluation }),
    ...(chain ? { chain } : {}),
  }
  const out =
    ctx.config.out === null ? null : reportPath(ctx.config.out, await isDirectory(ctx.config.out))
  if (out !== null) {
    await mkdir(dirname(resolve(out)), { recursive: true })
    await writeFile(out, renderDemoReport(summary))
    ctx.log(`  HTML report: ${resolve(out)}`)
  }
  return Object.freeze({
    summary,
    reports,
    profile: ctx.profile,
    profileChanges: ctx.changes,
    miners: minerRows,
    checkpoints: ctx.checkpoints,
    checkpointLoads: ctx.checkpointLoads,
    evalPrompts: Object.freeze([...evaluation.evalSet]),
    text,
    seconds,
    out: out === null ? null : resolve(out),
    chain,
  })
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory()
  } catch {
    return false
  }
}
