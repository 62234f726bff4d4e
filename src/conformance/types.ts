/** Outcome of one conformance suite over one vector file. */
export type SuiteResult = {
  /** Suite id, e.g. `"crypto.indices"`. */
  suite: string
  /** Vector file the cases came from (relative to the directory). */
  file: string
  /** Cases checked. */
  checked: number
  /** Cases that did not reproduce the reference. */
  failed: number
  /** Cases present but not checkable by this suite (with the reason in `notes`). */
  skipped: number
  /** The worst value of the suite's metric (for exact suites: 0 when all match). */
  worst: { metric: string; value: number } | null
  /** First few failure descriptions. */
  failures: string[]
  /** Remarks (skips, profile used). */
  notes: string[]
}

/** Report of a whole conformance run. */
export type ConformanceReport = {
  dir: string
  suites: SuiteResult[]
  totals: { suites: number; checked: number; failed: number; skipped: number }
}

/** A suite: runs over one parsed vector file if the file has the section it reads. */
export type Suite = {
  id: string
  /** True if this file carries cases for this suite. */
  applies(doc: Record<string, unknown>): boolean
  run(
    doc: Record<string, unknown>,
    ctx: SuiteContext,
  ): Promise<Omit<SuiteResult, 'suite' | 'file'>> | Omit<SuiteResult, 'suite' | 'file'>
}

/** What a suite may read besides its own file. */
export type SuiteContext = { dir: string; file: string }
