import type { GroupRecord, MinerStats, MinerWindowStats } from './types.js'

type WindowCounters = {
  windowN: number
  submitted: number
  accepted: number
  rejected: Map<string, number>
  skipped: number
  pending: number
}

/** The miner's counters per window and its submissions still waiting for a verdict. @internal */
export type MinerLedger = {
  /** Starts counting window `windowN` (it is listed in `stats()` from now on). */
  openWindow(windowN: number): void
  /** Counts one group posted to `/submit` in window `windowN`. */
  countSubmitted(windowN: number): void
  /** Counts one generated group that was not submitted. */
  countSkipped(windowN: number): void
  /** Groups posted in window `windowN` so far. */
  submittedIn(windowN: number): number
  /** Records a final outcome for `g` (a pending group leaves the pending count). */
  settle(g: GroupRecord, accepted: boolean, reason: string): void
  /** Marks `g` as waiting for its worker verdict, found again by `${windowN}:${merkleRoot}`. */
  markPending(g: GroupRecord, merkleRoot: string): void
  /** Takes the pending group a verdict names, or undefined when none waits for it. */
  takePending(windowN: number, merkleRoot: string): GroupRecord | undefined
  /** Whether any group is still pending (in window `windowN` when given). */
  hasPending(windowN?: number): boolean
  /** Window `windowN`'s counters. */
  windowStats(windowN: number): MinerWindowStats
  /** Counters per window and in total. */
  stats(): MinerStats
}

/** A new, empty {@link MinerLedger}. @internal */
export function createMinerLedger(): MinerLedger {
  const windows = new Map<number, WindowCounters>()
  const pending = new Map<string, GroupRecord>()
  const counters = (w: number): WindowCounters => {
    let c = windows.get(w)
    if (!c) {
      c = emptyCounters(w)
      windows.set(w, c)
    }
    return c
  }
  return {
    openWindow: (w) => void counters(w),
    countSubmitted: (w) => void counters(w).submitted++,
    countSkipped: (w) => void counters(w).skipped++,
    submittedIn: (w) => windows.get(w)?.submitted ?? 0,
    settle(g, accepted, reason) {
      const c = counters(g.windowN)
      if (g.outcome === 'pending') c.pending--
      g.outcome = accepted ? 'accepted' : 'rejected'
      g.reason = reason
      if (accepted) c.accepted++
      else c.rejected.set(reason, (c.rejected.get(reason) ?? 0) + 1)
    },
    markPending(g, merkleRoot) {
      g.outcome = 'pending'
      counters(g.windowN).pending++
      pending.set(`${g.windowN}:${merkleRoot}`, g)
    },
    takePending(w, merkleRoot) {
      const key = `${w}:${merkleRoot}`
      const g = pending.get(key)
      pending.delete(key)
      return g
    },
    hasPending: (w) =>
      w === undefined ? pending.size > 0 : [...pending.values()].some((g) => g.windowN === w),
    windowStats: (w) => freezeCounters(counters(w)),
    stats() {
      const list = [...windows.values()].sort((a, b) => a.windowN - b.windowN)
      const total = emptyCounters(-1)
      for (const c of list) {
        total.submitted += c.submitted
        total.accepted += c.accepted
        total.skipped += c.skipped
        total.pending += c.pending
        for (const [r, n] of c.rejected) total.rejected.set(r, (total.rejected.get(r) ?? 0) + n)
      }
      return Object.freeze({
        windows: Object.freeze(list.map(freezeCounters)),
        total: freezeCounters(total),
      })
    },
  }
}

function emptyCounters(windowN: number): WindowCounters {
  return { windowN, submitted: 0, accepted: 0, rejected: new Map(), skipped: 0, pending: 0 }
}

function freezeCounters(c: WindowCounters): MinerWindowStats {
  const rejected = Object.fromEntries([...c.rejected].sort(([a], [b]) => (a < b ? -1 : 1)))
  const nRejected = [...c.rejected.values()].reduce((a, b) => a + b, 0)
  const decided = c.accepted + nRejected
  return Object.freeze({
    windowN: c.windowN,
    submitted: c.submitted,
    accepted: c.accepted,
    rejected: Object.freeze(rejected),
    skipped: c.skipped,
    pending: c.pending,
    acceptanceRate: decided === 0 ? null : c.accepted / decided,
  })
}
