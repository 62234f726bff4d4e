import type * as z from 'zod'

/** One item of a FastAPI/pydantic v2 validation error (`{"detail": [item, …]}` on HTTP 422). */
export type FastApiErrorItem = {
  readonly type: string
  readonly loc: readonly (string | number)[]
  readonly msg: string
}

/** Items kept in one 422 answer (a hostile body can have thousands of issues). */
export const MAX_DETAIL_ITEMS = 20

const NUMBER_TYPES: Readonly<Record<string, string>> = {
  number: 'float_type',
  int: 'int_type',
  string: 'string_type',
  boolean: 'bool_type',
  array: 'list_type',
  object: 'dict_type',
  record: 'dict_type',
}

/**
 * Zod issues in the shape FastAPI answers a request-body validation error with: `loc` starts
 * with `"body"`, `type` is pydantic's error type where one corresponds (`missing`,
 * `extra_forbidden`, `too_short`, …; otherwise `value_error`), `msg` is zod's message.
 * An unrecognized-keys issue becomes one `extra_forbidden` item per key, as pydantic reports them.
 */
export function fastApiDetail(
  issues: readonly z.core.$ZodIssue[],
  where: 'body' | 'query' = 'body',
): FastApiErrorItem[] {
  const out: FastApiErrorItem[] = []
  for (const i of issues) {
    if (out.length >= MAX_DETAIL_ITEMS) break
    const loc = [where, ...i.path.map((p) => (typeof p === 'number' ? p : String(p)))]
    if (i.code === 'unrecognized_keys') {
      for (const k of i.keys)
        out.push({
          type: 'extra_forbidden',
          loc: [...loc, k],
          msg: 'Extra inputs are not permitted',
        })
      continue
    }
    let type = 'value_error'
    let msg = i.message
    if (i.code === 'invalid_type') {
      if (/received undefined$/.test(i.message)) {
        type = 'missing'
        msg = 'Field required'
      } else type = NUMBER_TYPES[i.expected] ?? `${i.expected}_type`
    } else if (i.code === 'too_small' || i.code === 'too_big') {
      const small = i.code === 'too_small'
      type =
        i.origin === 'array'
          ? small
            ? 'too_short'
            : 'too_long'
          : i.origin === 'string'
            ? small
              ? 'string_too_short'
              : 'string_too_long'
            : small
              ? 'greater_than_equal'
              : 'less_than_equal'
    } else if (i.code === 'invalid_format') type = 'string_pattern_mismatch'
    else if (i.code === 'invalid_value') type = 'literal_error'
    out.push({ type, loc, msg })
  }
  return out.slice(0, MAX_DETAIL_ITEMS)
}
