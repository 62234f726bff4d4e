import type { RejectReason } from '../../protocol/profiles.js'
import type { AdmissionRequest, CheckFailure } from './admissionTypes.js'

/** Builds a {@link CheckFailure}. */
export const fail = (
  reason: RejectReason,
  detail: string,
  extra: Omit<CheckFailure, 'reason' | 'detail'> = {},
): CheckFailure => ({ reason, detail, ...extra })

/** The round a request is ordered by: E3 `drand_round`, E1 `signed_round`. @internal */
export function requestRound(r: AdmissionRequest): number {
  return 'drand_round' in r ? r.drand_round : r.signed_round
}

/** `o[key]` when `o` is a plain object that owns `key`. */
export function own(o: unknown, key: string): unknown {
  return typeof o === 'object' && o !== null && !Array.isArray(o) && Object.hasOwn(o, key)
    ? (o as Record<string, unknown>)[key]
    : undefined
}

/** The answer of every check that needs a batcher when none is active. */
export const NO_BATCHER = fail('window_not_active', 'no_active_window', {
  refusal: 'no_active_window',
})
