// Assertions on typed errors, shared by the test files.
import { expect } from 'vitest'
import { isReliquaryError, type ReliquaryError } from '../src/errors/index.js'

/** Runs `fn` and expects a ReliquaryError with one of `codes`; returns it. */
export function expectCode(fn: () => unknown, ...codes: string[]): ReliquaryError {
  try {
    fn()
  } catch (e) {
    expect(isReliquaryError(e), String(e)).toBe(true)
    expect(codes).toContain((e as ReliquaryError).code)
    return e as ReliquaryError
  }
  throw new Error(`expected one of ${codes.join(', ')}, but nothing was thrown`)
}

/** Awaits `p` (or calls it) and expects a rejection with a ReliquaryError of one of `codes`. */
export async function expectRejectCode(
  p: Promise<unknown> | (() => unknown),
  ...codes: string[]
): Promise<ReliquaryError> {
  try {
    await (typeof p === 'function' ? p() : p)
  } catch (e) {
    expect(isReliquaryError(e), String(e)).toBe(true)
    expect(codes).toContain((e as ReliquaryError).code)
    return e as ReliquaryError
  }
  throw new Error(`expected a rejection with one of ${codes.join(', ')}`)
}

/** Expects `fn` to throw `INVALID_ARGUMENT`. */
export function expectInvalid(fn: () => unknown): void {
  expectCode(fn, 'INVALID_ARGUMENT')
}
