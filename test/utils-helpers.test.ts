// The shared helpers of src/_utils: one abortable sleep and one error describer for the whole tree.
import { describe, expect, test } from 'vitest'
import { describeError } from '../src/_utils/describeError.js'
import { sleep } from '../src/_utils/sleep.js'
import { ReliquaryError } from '../src/errors/base.js'

describe('sleep', () => {
  test('waits, then resolves', async () => {
    const t = performance.now()
    await sleep(30)
    expect(performance.now() - t).toBeGreaterThanOrEqual(25)
  })
  test('rejects with the signal reason when aborted, before or during the wait', async () => {
    const before = new AbortController()
    before.abort(new Error('early'))
    await expect(sleep(10_000, before.signal)).rejects.toThrow('early')
    const during = new AbortController()
    const t = performance.now()
    setTimeout(() => during.abort(new Error('late')), 10)
    await expect(sleep(10_000, during.signal)).rejects.toThrow('late')
    expect(performance.now() - t).toBeLessThan(5_000)
  })
  test('a negative wait is no wait', async () => {
    await expect(sleep(-5)).resolves.toBeUndefined()
  })
})

describe('describeError', () => {
  test('a ReliquaryError as CODE: details, else its short message', () => {
    const withDetails = new ReliquaryError('INVALID_ARGUMENT', 'Bad.', { details: 'x was 3' })
    expect(describeError(withDetails)).toBe('INVALID_ARGUMENT: x was 3')
    expect(describeError(new ReliquaryError('INVALID_ARGUMENT', 'Bad.'))).toBe(
      'INVALID_ARGUMENT: Bad.',
    )
  })
  test("an Error with its cause's message (undici's fetch failed), anything else as a string", () => {
    const e = new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') })
    expect(describeError(e)).toBe('fetch failed: connect ECONNREFUSED')
    expect(describeError(new Error('plain'))).toBe('plain')
    expect(describeError(42)).toBe('42')
  })
  test('is cut at maxLength', () => {
    expect(describeError(new Error('a'.repeat(900)), 500)).toHaveLength(500)
  })
})
