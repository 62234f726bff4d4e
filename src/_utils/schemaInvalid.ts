import type * as z from 'zod'
import { ReliquaryError } from '../errors/base.js'

/**
 * The `SCHEMA_INVALID` error of a failed zod parse of `what`: the issue count in the message, the
 * first 20 issues (`path: message`) in the details and in `meta.issues`, the zod error as cause.
 * @internal
 */
export function schemaInvalid(
  what: string,
  error: z.ZodError,
  hints?: readonly string[],
): ReliquaryError {
  const n = error.issues.length
  const issues = error.issues
    .slice(0, 20)
    .map((i) => ({ path: i.path.map(String).join('.'), message: i.message }))
  return new ReliquaryError(
    'SCHEMA_INVALID',
    `${what} failed its schema (${n} issue${n === 1 ? '' : 's'}).`,
    {
      details: issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; '),
      ...(hints ? { hints: [...hints] } : {}),
      meta: { issues },
      cause: error,
    },
  )
}
