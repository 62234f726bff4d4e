import { join } from 'node:path'

/** The report's file name when `out` is a directory. */
export const DEFAULT_REPORT_NAME = 'reliquary-demo.html'

/**
 * Where the demo writes its HTML report, from the `out` option: a directory (one that exists, or
 * a path ending in a separator) gets `reliquary-demo.html` inside it; a file name without an
 * `.html` / `.htm` extension gets `.html` appended, so the report always opens as a page.
 *
 * @param out - The `out` option (a file or directory path).
 * @param isDirectory - Whether `out` names an existing directory.
 * @returns The report's path (relative when `out` is).
 * @example
 * ```ts
 * reportPath('runs/', false) // 'runs/reliquary-demo.html'
 * reportPath('report', false) // 'report.html'
 * reportPath('r.HTML', false) // 'r.HTML'
 * ```
 */
export function reportPath(out: string, isDirectory: boolean): string {
  if (isDirectory || /[\\/]$/.test(out)) return join(out, DEFAULT_REPORT_NAME)
  return /\.html?$/i.test(out) ? out : `${out}.html`
}
