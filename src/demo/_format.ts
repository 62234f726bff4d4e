// Number and column formatting of the demo's log lines and summary table.
import type { HotkeyCounts } from '../validator/createValidator.js'

/** A number with `digits` decimals, tiny values in exponent form, `–` when missing. @internal */
export const fmt = (v: number | null | undefined, digits = 3): string =>
  v === null || v === undefined || !Number.isFinite(v)
    ? '–'
    : Math.abs(v) !== 0 && Math.abs(v) < 1e-3
      ? v.toExponential(2)
      : v.toFixed(digits)
/** `a / b` as a percentage with one decimal, `–` when `b` is 0. @internal */
export const pct = (a: number, b: number): string =>
  b > 0 ? `${((100 * a) / b).toFixed(1)}%` : '–'
/** A signed number with 3 decimals. @internal */
export const signed = (v: number): string => `${v >= 0 ? '+' : ''}${v.toFixed(3)}`
/** All rejections of a hotkey, every reason together. @internal */
export const rejectedTotal = (c: HotkeyCounts): number =>
  Object.values(c.rejected).reduce((x, y) => x + y, 0)
/** Left-aligned in `n` columns. @internal */
export const pad = (s: string, n: number): string =>
  s.length >= n ? s : s + ' '.repeat(n - s.length)
/** Right-aligned in `n` columns. @internal */
export const lpad = (s: string, n: number): string =>
  s.length >= n ? s : ' '.repeat(n - s.length) + s

/**
 * Why acceptance is not weight, in one sentence the console and the HTML report share.
 * @internal
 */
export const PAY_RULE =
  'E3 pays a window to the first B distinct prompts by drand round and the EMA follows pay: a group kept back unsent, rejected or landing after the batch is full earns nothing, so what counts is admissible groups per second of generation'
