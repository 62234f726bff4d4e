import { describeError } from '../_utils/describeError.js'
import type { Miner } from '../miner/types.js'
import { MAX_PASSES } from './_buildDemoMiner.js'
import type { DemoMiners } from './demoContext.js'

/**
 * Miners that share one thread take turns: passes of every miner in order (the first one rotates
 * with the window's number in the run), repeated while the window stays open and a miner has
 * quota left (groups a miner does not submit cost it no quota), {@link MAX_PASSES} at most. A
 * failed pass is logged (unless the window was aborted) and the miner tries again next pass.
 * @internal
 */
export function minersInTurns(
  miners: readonly { readonly label: string; readonly miner: Miner }[],
  quota: number,
  log: (line: string) => void,
): Pick<DemoMiners, 'mineWindow' | 'dispose'> {
  return {
    async mineWindow(w, _target, signal) {
      const order = miners.map((_, i) => miners[(i + w - 1) % miners.length]!)
      const used = new Map<string, number>()
      for (let pass = 0; pass < MAX_PASSES && !signal.aborted; pass++) {
        let active = 0
        for (const m of order) {
          if (signal.aborted) break
          if (quota > 0 && (used.get(m.label) ?? 0) >= quota) continue
          active++
          try {
            used.set(m.label, (await m.miner.runWindow(signal)).stats.submitted)
          } catch (e) {
            if (!signal.aborted) log(`  ${m.label}: window failed: ${describeError(e)}`)
          }
        }
        if (active === 0) break
      }
    },
    async dispose() {
      for (const m of miners) m.miner.dispose()
    },
  }
}
