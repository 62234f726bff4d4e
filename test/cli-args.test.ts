// The CLI's one integer option parser (src/cli/_args.ts), used by every command.
import { expect, test } from 'vitest'
import { intOption } from '../src/cli/_args.js'
import { isReliquaryError } from '../src/errors/base.js'

test('intOption: absent is undefined; an integer ≥ min is returned; anything else is CLI_USAGE', () => {
  expect(intOption(undefined, 'rows', 1)).toBeUndefined()
  expect(intOption('12', 'rows', 1)).toBe(12)
  expect(intOption('0', 'seed', 0)).toBe(0)
  for (const [s, min] of [
    ['0', 1],
    ['1.5', 1],
    ['abc', 0],
    ['-1', 0],
    ['1e400', 0],
  ] as const) {
    let e: unknown
    try {
      intOption(s, 'windows', min)
    } catch (x) {
      e = x
    }
    expect(isReliquaryError(e, 'CLI_USAGE'), s).toBe(true)
    expect((e as Error).message).toContain(`--windows must be an integer ≥ ${min}.`)
  }
})
