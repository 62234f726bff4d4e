import { ReliquaryError, describeValue } from '../errors/base.js'

/** Upper bound on a rollout length accepted by any SDK function (protocol cap is 8192 new tokens). */
export const MAX_ROLLOUT_TOKENS = 1 << 17

/**
 * Asserts `tokens` is a bounded array of non-negative safe integers.
 * @internal
 */
export function assertTokenIds(
  tokens: unknown,
  param: string,
  opts: { allowEmpty?: boolean } = {},
): asserts tokens is ArrayLike<number> {
  if (
    tokens === null ||
    typeof tokens !== 'object' ||
    typeof (tokens as ArrayLike<number>).length !== 'number'
  ) {
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      `"${param}" expected an array of token ids, received ${describeValue(tokens)}.`,
      { meta: { param } },
    )
  }
  const arr = tokens as ArrayLike<unknown>
  if (arr.length > MAX_ROLLOUT_TOKENS) {
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      `"${param}" has ${arr.length} tokens; at most ${MAX_ROLLOUT_TOKENS} are accepted.`,
      { meta: { param } },
    )
  }
  if (arr.length === 0 && !opts.allowEmpty) {
    throw new ReliquaryError('INVALID_ARGUMENT', `"${param}" must not be empty.`, {
      meta: { param },
    })
  }
  for (let i = 0; i < arr.length; i++) {
    const t = arr[i]
    if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0) {
      throw new ReliquaryError(
        'INVALID_ARGUMENT',
        `"${param}[${i}]" expected a non-negative integer token id, received ${describeValue(t)}.`,
        {
          meta: { param, index: i },
        },
      )
    }
  }
}
