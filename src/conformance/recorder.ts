import type { Suite, SuiteResult } from './types.js'

const MAX_FAILURES = 10

/** Accumulates case outcomes for one suite. @internal */
export class Recorder {
  checked = 0
  failed = 0
  skipped = 0
  failures: string[] = []
  notes: string[] = []
  worst: { metric: string; value: number } | null = null

  constructor(metric?: string) {
    if (metric) this.worst = { metric, value: 0 }
  }

  /** Records a case; `ok` false adds a failure line built lazily. */
  check(ok: boolean, describe: () => string): void {
    this.checked++
    if (!ok) {
      this.failed++
      if (this.failures.length < MAX_FAILURES) this.failures.push(describe())
    }
  }

  /** Runs `fn` as one case; an exception counts as a failure. */
  guard(label: string, fn: () => boolean | string): void {
    try {
      const r = fn()
      if (typeof r === 'string') this.check(false, () => `${label}: ${r}`)
      else this.check(r, () => `${label}: mismatch`)
    } catch (e) {
      this.check(
        false,
        () => `${label}: threw ${(e as Error)?.message?.split('\n')[0] ?? String(e)}`,
      )
    }
  }

  metric(value: number): void {
    if (this.worst && (value > this.worst.value || Number.isNaN(value))) this.worst.value = value
  }

  skip(note: string): void {
    this.skipped++
    if (!this.notes.includes(note)) this.notes.push(note)
  }

  result(): Omit<SuiteResult, 'suite' | 'file'> {
    return {
      checked: this.checked,
      failed: this.failed,
      skipped: this.skipped,
      worst: this.worst,
      failures: this.failures,
      notes: this.notes,
    }
  }
}

/** Reads a vector number ("nan", "inf", "-inf" strings included). @internal */
export function vnum(x: unknown): number {
  if (typeof x === 'number') return x
  if (x === 'nan' || x === 'NaN') return Number.NaN
  if (x === 'inf' || x === 'Infinity') return Number.POSITIVE_INFINITY
  if (x === '-inf' || x === '-Infinity') return Number.NEGATIVE_INFINITY
  throw new TypeError(`not a vector number: ${String(x)}`)
}

/** Array equality for plain values. @internal */
export function sameArray(a: ArrayLike<unknown>, b: ArrayLike<unknown>): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Section of a document as an array of records, or [] if absent. @internal */
export function cases(doc: Record<string, unknown>, key: string): Record<string, any>[] {
  const v = doc[key]
  return Array.isArray(v) ? (v as Record<string, any>[]) : []
}

/**
 * A suite over the array `doc[key]` of a vector file: applies when the section is present; `run`
 * records every row's outcome (and may read the whole document); `metric` names the worst-case
 * metric the result reports. @internal
 */
export function section(
  id: string,
  key: string,
  run: (rows: Record<string, any>[], rec: Recorder, doc: Record<string, unknown>) => void,
  metric?: string,
): Suite {
  return {
    id,
    applies: (doc) => Array.isArray(doc[key]),
    run: (doc) => {
      const rec = new Recorder(metric)
      run(cases(doc, key), rec, doc)
      return rec.result()
    },
  }
}
