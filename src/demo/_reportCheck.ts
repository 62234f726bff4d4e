import { invalidArgument } from '../errors/base.js'
import type { DemoMinerSummary, DemoSummary } from './report.js'

function checkNumber(v: unknown, param: string, optional: boolean): void {
  if (optional && (v === undefined || v === null)) return
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw invalidArgument(param, optional ? 'a finite number or null' : 'a finite number', v)
}

/** Checks a miner's optional group outcomes (the calibration panel's input). */
function checkGroups(groups: DemoMinerSummary['groups'], param: string): void {
  if (groups === undefined) return
  if (!Array.isArray(groups)) throw invalidArgument(param, 'an array of group outcomes', groups)
  groups.forEach((g, j) => {
    if (typeof g !== 'object' || g === null)
      throw invalidArgument(`${param}[${j}]`, 'a group outcome', g)
    if (!Number.isSafeInteger(g.windowN) || !Number.isSafeInteger(g.promptIdx))
      throw invalidArgument(`${param}[${j}]`, 'integer windowN and promptIdx', g)
    if (
      g.predicted !== null &&
      !(typeof g.predicted === 'number' && g.predicted >= 0 && g.predicted <= 1)
    )
      throw invalidArgument(`${param}[${j}].predicted`, 'a probability or null', g.predicted)
    for (const k of ['finished', 'inZone', 'sent'] as const)
      if (typeof g[k] !== 'boolean') throw invalidArgument(`${param}[${j}].${k}`, 'a boolean', g[k])
  })
}

/**
 * Checks a {@link DemoSummary} before anything is drawn.
 * @internal
 * @throws {ReliquaryError} `INVALID_ARGUMENT` naming the first malformed field.
 */
export function checkSummary(summary: DemoSummary): void {
  if (typeof summary !== 'object' || summary === null)
    throw invalidArgument('summary', 'a DemoSummary object', summary)
  if (!Array.isArray(summary.miners))
    throw invalidArgument('summary.miners', 'an array', summary.miners)
  if (!Array.isArray(summary.windows))
    throw invalidArgument('summary.windows', 'an array', summary.windows)
  summary.miners.forEach((m, i) => {
    if (typeof m !== 'object' || m === null || typeof m.hotkey !== 'string')
      throw invalidArgument(`summary.miners[${i}].hotkey`, 'a string', m?.hotkey)
    checkNumber(m.accepted, `summary.miners[${i}].accepted`, false)
    checkNumber(m.emaWeight, `summary.miners[${i}].emaWeight`, false)
    if (typeof m.rejected !== 'object' || m.rejected === null)
      throw invalidArgument(`summary.miners[${i}].rejected`, 'a reason → count record', m.rejected)
    for (const [reason, n] of Object.entries(m.rejected))
      checkNumber(n, `summary.miners[${i}].rejected.${reason}`, false)
    checkNumber(m.generated, `summary.miners[${i}].generated`, true)
    if (m.keptBack !== undefined && (typeof m.keptBack !== 'object' || m.keptBack === null))
      throw invalidArgument(`summary.miners[${i}].keptBack`, 'a reason → count record', m.keptBack)
    for (const [reason, n] of Object.entries(m.keptBack ?? {}))
      checkNumber(n, `summary.miners[${i}].keptBack.${reason}`, false)
    checkGroups(m.groups, `summary.miners[${i}].groups`)
  })
  summary.windows.forEach((w, i) => {
    if (typeof w !== 'object' || w === null)
      throw invalidArgument(`summary.windows[${i}]`, 'an object', w)
    checkNumber(w.window, `summary.windows[${i}].window`, false)
    for (const k of [
      'rewardMean',
      'rewardStd',
      'loss',
      'kl',
      'trainedPromptReward',
      'baseTrainedPromptReward',
      'trainedPrompts',
    ] as const)
      checkNumber(w[k], `summary.windows[${i}].${k}`, true)
  })
}
