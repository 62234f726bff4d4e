import { sleep } from '../_utils/sleep.js'
import type { Validator, WindowReport } from '../validator/createValidator.js'
import type { DemoContext, DemoMiners } from './demoContext.js'

/**
 * One window of the market: the validator opens, admits, seals, trains and publishes while the
 * miners mine it (each in its own thread, or in turns on this one). When the validator seals, or
 * its window fails, the miners' remaining work is aborted. When every miner is done before a
 * seal (a trigger set by the last verdicts seals at the next drand boundary), the window is
 * closed one drand period later. Resolves with the validator's report.
 * @internal
 * @throws the validator's error when its window fails.
 */
export async function mineDemoWindow(
  ctx: DemoContext,
  validator: Validator,
  miners: DemoMiners,
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
  const mining = (async () => {
    await miners.mineWindow(w, target, abort.signal)
    if (abort.signal.aborted) return
    await sleep((ctx.config.periodSeconds + 0.5) * 1000)
    if (abort.signal.aborted) return
    ctx.log(`  w${target} no seal trigger after the miners' passes: closing the window`)
    validator.closeWindow()
  })()
  try {
    const [report] = await Promise.all([running, mining])
    return report
  } finally {
    abort.abort()
  }
}
