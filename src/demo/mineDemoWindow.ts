import { describeError } from '../_utils/describeError.js'
import { sleep } from '../_utils/sleep.js'
import type { Validator, WindowReport } from '../validator/createValidator.js'
import type { DemoContext, DemoMiner } from './demoContext.js'

/** Most passes of the miners over one window (each pass: every miner with quota left runs once). */
const MAX_PASSES = 4

/**
 * One window of the market: the validator opens, admits, seals, trains and publishes while the
 * miners take turns mining it (the first one rotates with `w`). When the validator seals, or
 * its window fails, the miners' remaining work is aborted. Resolves with the validator's report.
 * @internal
 * @throws the validator's error when its window fails.
 */
export async function mineDemoWindow(
  ctx: DemoContext,
  validator: Validator,
  miners: readonly DemoMiner[],
  w: number,
): Promise<WindowReport> {
  const abort = new AbortController()
  const target = validator.windowN + 1
  ctx.seal.current = target
  ctx.seal.onSealed = () => {
    if (ctx.seal.sealed === ctx.seal.current) abort.abort(new Error('window sealed'))
  }
  const running = validator.runWindow()
  running.catch(() => abort.abort(new Error('validator window failed')))
  const [report] = await Promise.all([
    running,
    runMinerPasses(ctx, validator, miners, { w, target, signal: abort.signal }),
  ])
  abort.abort()
  return report
}

/**
 * The miners share this thread, so they take turns. Passes repeat while the window stays open
 * and a miner has quota left: groups a miner does not submit (collapsed rollouts) cost it no
 * quota. When every miner is done before a seal, a trigger set by the last verdicts seals at
 * the next drand boundary; otherwise the window is closed.
 */
async function runMinerPasses(
  ctx: DemoContext,
  validator: Validator,
  miners: readonly DemoMiner[],
  { w, target, signal }: { w: number; target: number; signal: AbortSignal },
): Promise<void> {
  const order = miners.map((_, i) => miners[(i + w - 1) % miners.length]!)
  const quota = ctx.profile.window.maxSubmissionsPerHotkey
  const used = new Map<string, number>()
  for (let pass = 0; pass < MAX_PASSES && !signal.aborted; pass++) {
    let active = 0
    for (const m of order) {
      if (signal.aborted) break
      if (quota > 0 && (used.get(m.hotkey) ?? 0) >= quota) continue
      active++
      try {
        const r = await m.miner.runWindow(signal)
        used.set(m.hotkey, r.stats.submitted)
      } catch (e) {
        if (!signal.aborted) ctx.log(`  ${m.label}: window failed: ${describeError(e)}`)
      }
    }
    if (active === 0) break
  }
  if (signal.aborted) return
  await sleep((ctx.config.periodSeconds + 0.5) * 1000)
  if (signal.aborted) return
  ctx.log(`  w${target} no seal trigger after the miners' passes: closing the window`)
  validator.closeWindow()
}
