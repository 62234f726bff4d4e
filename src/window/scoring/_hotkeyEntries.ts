import { invalidArgument } from '../../errors/base.js'
import type { HotkeyValues } from './hotkeyValues.js'

/** The entries of `values`, checked: hotkey strings to finite numbers ≥ 0. */
export function entriesOf(values: HotkeyValues, param: string): [string, number][] {
  if (typeof values !== 'object' || values === null)
    throw invalidArgument(param, 'a Map or record of hotkey → number', values)
  const entries =
    values instanceof Map
      ? [...(values as ReadonlyMap<string, number>)]
      : Object.entries(values as Record<string, number>)
  for (const [k, v] of entries) {
    if (typeof k !== 'string') throw invalidArgument(`${param} key`, 'a hotkey string', k)
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw invalidArgument(`${param}[${JSON.stringify(k).slice(0, 60)}]`, 'a finite number ≥ 0', v)
  }
  return entries
}

/** Orders entries by hotkey (code-unit order, as Python sorts str). */
export function byHotkey(a: [string, number], b: [string, number]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0
}
