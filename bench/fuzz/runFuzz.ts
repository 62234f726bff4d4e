// Runs one fuzz target with fast-check and counts outcomes. A finding is any thrown value that is
// not a ReliquaryError, or one input that takes longer than the per-input bound.
import * as fc from 'fast-check'
import { isReliquaryError } from '../../src/errors/base.js'
import type { FuzzTarget } from './targets.js'

/** Options of {@link runFuzz}. */
export type RunFuzzOptions = {
  numRuns: number
  seed: number
  /** One input slower than this is a hang. */
  maxMsPerInput: number
}

/** Outcome counts of one target. */
export type FuzzResult = {
  name: string
  kind: 'wire' | 'file'
  runs: number
  /** Inputs parsed or verified successfully. */
  accepted: number
  rejected: Record<string, number>
  maxMs: number
  totalMs: number
  /** The shrunk counterexample and error, when the property failed. */
  finding: string | null
}

/** Fuzzes one target; never throws (a failure is reported in `finding`). */
export async function runFuzz(target: FuzzTarget, o: RunFuzzOptions): Promise<FuzzResult> {
  const res: FuzzResult = {
    name: target.name,
    kind: target.kind,
    runs: 0,
    accepted: 0,
    rejected: {},
    maxMs: 0,
    totalMs: 0,
    finding: null,
  }
  const t0 = performance.now()
  const property = fc.asyncProperty(target.arbitrary, async (input) => {
    const start = performance.now()
    let code: string | null = null
    try {
      const out = await target.run(input)
      // A verdict that says no (verifyEnvelope's false, verifyManifest's { valid: false }).
      if (
        out === false ||
        (typeof out === 'object' && out !== null && 'valid' in out && !out.valid)
      )
        code = 'refused (verdict)'
    } catch (e) {
      if (!isReliquaryError(e)) throw e
      code = e.code
    }
    const ms = performance.now() - start
    res.runs++
    res.maxMs = Math.max(res.maxMs, ms)
    if (code === null) res.accepted++
    else res.rejected[code] = (res.rejected[code] ?? 0) + 1
    if (ms > o.maxMsPerInput)
      throw new Error(`input took ${ms.toFixed(0)} ms (bound ${o.maxMsPerInput} ms)`)
  })
  const details = await fc.check(property, {
    numRuns: o.numRuns,
    seed: o.seed,
    endOnFailure: false,
  })
  if (details.failed) {
    let ce: string
    try {
      ce = JSON.stringify(details.counterexample, (_k, v) =>
        typeof v === 'bigint'
          ? `${v}n`
          : v instanceof Uint8Array
            ? `bytes:${Buffer.from(v).toString('hex').slice(0, 400)}`
            : v,
      )
    } catch {
      ce = '(counterexample too deep to print)'
    }
    res.finding = `${String(details.errorInstance).slice(0, 400)} :: ${ce.slice(0, 600)}`
  }
  res.totalMs = performance.now() - t0
  return res
}

/** Sums two runs of the same target. */
export function mergeResults(a: FuzzResult, b: FuzzResult): FuzzResult {
  const rejected = { ...a.rejected }
  for (const [k, n] of Object.entries(b.rejected)) rejected[k] = (rejected[k] ?? 0) + n
  return {
    ...a,
    runs: a.runs + b.runs,
    accepted: a.accepted + b.accepted,
    rejected,
    maxMs: Math.max(a.maxMs, b.maxMs),
    totalMs: a.totalMs + b.totalMs,
    finding: a.finding ?? b.finding,
  }
}
