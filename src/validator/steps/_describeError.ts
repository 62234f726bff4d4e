import { isReliquaryError } from '../../errors/base.js'

/** One line for an event: the error's code and short message, at most 500 characters. */
export function describeError(e: unknown): string {
  return (
    isReliquaryError(e)
      ? `${e.code}: ${e.shortMessage}`
      : e instanceof Error
        ? e.message
        : String(e)
  ).slice(0, 500)
}
