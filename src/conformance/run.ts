import { readFile, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { ReliquaryError } from '../errors/base.js'
import { cryptoSuites } from './suites/crypto.js'
import { e3Suites } from './suites/e3.js'
import { grailSuites } from './suites/grail.js'
import { rewardSuites } from './suites/reward.js'
import { windowSuites } from './suites/window.js'
import { modelSuites } from './suites/model.js'
import { grpoSuites } from './suites/grpo.js'
import type { ConformanceReport, Suite, SuiteResult } from './types.js'

/** Every suite this build knows, in report order. */
export const ALL_SUITES: readonly Suite[] = [
  ...cryptoSuites,
  ...e3Suites,
  ...grailSuites,
  ...rewardSuites,
  ...windowSuites,
  ...modelSuites,
  ...grpoSuites,
]

/** Options of {@link runConformance}. */
export type RunConformanceOptions = {
  /** Only suites whose id starts with one of these prefixes. */
  only?: readonly string[] | undefined
  /** Extra suites (later work registers model, reward and GRPO suites here). */
  suites?: readonly Suite[] | undefined
}

/**
 * Runs every conformance suite that finds its section in the JSON files of `dir` (a directory
 * shaped like the reference conformance set: `crypto-*.json`, `e3-*.json`, `qwen3-*.json`, …).
 * Files are recognised by their content, not their names, so any seed's set works.
 *
 * @throws {ReliquaryError} `CONFORMANCE_DIR_INVALID` if the directory is missing or no suite applies;
 *   `CONFORMANCE_FILE_INVALID` if a JSON file cannot be parsed.
 */
export async function runConformance(
  dir: string,
  options: RunConformanceOptions = {},
): Promise<ConformanceReport> {
  let names: string[]
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error('not a directory')
    names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort()
  } catch (e) {
    throw new ReliquaryError(
      'CONFORMANCE_DIR_INVALID',
      `Conformance directory "${dir}" cannot be read.`,
      { cause: e },
    )
  }
  const suites = [...ALL_SUITES, ...(options.suites ?? [])].filter(
    (s) => !options.only || options.only.some((p) => s.id.startsWith(p)),
  )
  const results: SuiteResult[] = []
  for (const file of names) {
    let doc: Record<string, unknown>
    try {
      doc = JSON.parse(await readFile(join(dir, file), 'utf8')) as Record<string, unknown>
    } catch (e) {
      throw new ReliquaryError(
        'CONFORMANCE_FILE_INVALID',
        `Vector file "${file}" is not valid JSON.`,
        { cause: e },
      )
    }
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) continue
    for (const s of suites) {
      if (!s.applies(doc)) continue
      try {
        results.push({ suite: s.id, file, ...(await s.run(doc, { dir, file })) })
      } catch (e) {
        results.push({
          suite: s.id,
          file,
          checked: 1,
          failed: 1,
          skipped: 0,
          worst: null,
          failures: [`suite crashed: ${(e as Error)?.message?.split('\n')[0]}`],
          notes: [],
        })
      }
    }
  }
  if (results.length === 0) {
    throw new ReliquaryError(
      'CONFORMANCE_DIR_INVALID',
      `No conformance suite applies to the files in "${dir}".`,
      {
        hints: [
          'Point at a directory shaped like shared/conformance (crypto-*.json, e3-*.json, qwen3-*.json, …).',
        ],
      },
    )
  }
  const totals = results.reduce(
    (t, r) => ({
      suites: t.suites + 1,
      checked: t.checked + r.checked,
      failed: t.failed + r.failed,
      skipped: t.skipped + r.skipped,
    }),
    { suites: 0, checked: 0, failed: 0, skipped: 0 },
  )
  return { dir, suites: results, totals }
}

/** Human-readable table of a report. */
export function formatConformanceReport(r: ConformanceReport): string {
  const lines = [`Conformance: ${r.dir}`, '']
  const w = Math.max(...r.suites.map((s) => s.suite.length), 5)
  const fw = Math.max(...r.suites.map((s) => s.file.length), 4)
  lines.push(`${'suite'.padEnd(w)}  ${'file'.padEnd(fw)}  checked  failed  skipped  worst`)
  for (const s of r.suites) {
    const worst = s.worst ? `${s.worst.metric}=${s.worst.value}` : '-'
    lines.push(
      `${s.suite.padEnd(w)}  ${s.file.padEnd(fw)}  ${String(s.checked).padStart(7)}  ${String(s.failed).padStart(6)}  ${String(s.skipped).padStart(7)}  ${worst}`,
    )
    for (const f of s.failures) lines.push(`    ✗ ${f}`)
    for (const n of s.notes) lines.push(`    · ${n}`)
  }
  lines.push(
    '',
    `${r.totals.suites} suites, ${r.totals.checked} cases checked, ${r.totals.failed} failed, ${r.totals.skipped} skipped`,
  )
  return lines.join('\n')
}
