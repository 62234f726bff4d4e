import type { ErrorCode } from './codes.js'
import { ERROR_CODES } from './codes.js'
import { VERSION } from '../version.js'

const BRAND = Symbol.for('reliquary.error')

/** Optional context attached to a {@link ReliquaryError}. */
export type ReliquaryErrorParameters = {
  /** Extra detail (for example a schema issue list); shown after the hints. */
  details?: string | undefined
  /** What the caller can do about it, one line each. */
  hints?: readonly string[] | undefined
  /** The underlying error, if any. */
  cause?: unknown
  /** Machine-readable context (parameter name, expected/received values, issue paths). */
  meta?: Readonly<Record<string, unknown>> | undefined
}

/**
 * The one error class of the SDK. Every failure the SDK reports carries a stable `code` (see
 * {@link ERROR_CODES}), a short message, hints on how to fix it, and the SDK version.
 *
 * Use {@link isReliquaryError} rather than `instanceof`: the brand survives two copies of the
 * package (ESM and CJS) loaded side by side.
 *
 * @example
 * ```ts
 * import { parseSubmitRequest, isReliquaryError } from 'reliquary'
 * try { parseSubmitRequest(body) } catch (e) { if (isReliquaryError(e, 'SCHEMA_INVALID')) reply(422) }
 * ```
 */
export class ReliquaryError<C extends ErrorCode = ErrorCode> extends Error {
  override name = 'ReliquaryError'
  /** Stable machine-readable code. */
  readonly code: C
  /** One-line description without hints. */
  readonly shortMessage: string
  /** Suggestions on how to fix the problem. */
  readonly hints: readonly string[]
  /** Extra detail, if any. */
  readonly details: string | undefined
  /** Machine-readable context. */
  readonly meta: Readonly<Record<string, unknown>>
  /** The SDK version that raised the error. */
  readonly version: string = `reliquary@${VERSION}`
  readonly [BRAND] = true

  constructor(code: C, shortMessage: string, p: ReliquaryErrorParameters = {}) {
    const hints = p.hints ?? []
    super(
      [
        `[${code}] ${shortMessage}`,
        ...(hints.length ? ['', ...hints.map((h) => `- ${h}`)] : []),
        ...(p.details ? ['', `Details: ${p.details}`] : []),
        `Version: reliquary@${VERSION}`,
      ].join('\n'),
      p.cause === undefined ? undefined : { cause: p.cause },
    )
    this.code = code
    this.shortMessage = shortMessage
    this.hints = hints
    this.details = p.details
    this.meta = Object.freeze({ ...(p.meta ?? {}) })
  }

  /** A plain-object form for logs and JSON responses (no stack). */
  toJSON(): { code: C; message: string; hints: readonly string[]; details?: string } {
    return {
      code: this.code,
      message: this.shortMessage,
      hints: this.hints,
      ...(this.details !== undefined ? { details: this.details } : {}),
    }
  }
}

/**
 * True when `e` is a {@link ReliquaryError}, optionally with the given code.
 *
 * @param e - Anything caught.
 * @param code - When given, the error must also carry this code.
 */
export function isReliquaryError<C extends ErrorCode>(
  e: unknown,
  code?: C,
): e is ReliquaryError<C> {
  return (
    typeof e === 'object' &&
    e !== null &&
    (e as Record<symbol, unknown>)[BRAND] === true &&
    (code === undefined || (e as ReliquaryError).code === code)
  )
}

/** Describes an error code in words (the README's error table is generated from the same map). */
export function describeErrorCode(code: ErrorCode): string {
  return ERROR_CODES[code]
}

/**
 * Throws `INVALID_ARGUMENT` naming the parameter, what was expected and what was received.
 * @internal
 */
export function invalidArgument(
  param: string,
  expected: string,
  received: unknown,
  hints?: string[],
): ReliquaryError<'INVALID_ARGUMENT'> {
  return new ReliquaryError(
    'INVALID_ARGUMENT',
    `"${param}" expected ${expected}, received ${describeValue(received)}.`,
    {
      hints,
      meta: { param, expected },
    },
  )
}

/** A short, safe description of a value for error messages. @internal */
export function describeValue(v: unknown): string {
  if (v === null) return 'null'
  if (typeof v === 'string')
    return v.length > 40 ? `string of length ${v.length}` : JSON.stringify(v)
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v)
  if (Array.isArray(v)) return `array of length ${v.length}`
  if (ArrayBuffer.isView(v))
    return `${v.constructor.name} of length ${(v as unknown as { length: number }).length}`
  return typeof v
}
