import { invalidArgument } from '../errors/base.js'
import { DEFAULT_PROFILE, type ProtocolProfile } from '../protocol/profiles.js'

/** Parameters of {@link shouldPublish}. */
export type ShouldPublishParameters = {
  /** The window just closed (`window_n`, the counter the validator keeps, not a block number). */
  windowN: number
  /**
   * Whether this window trained a full batch. In E3 this also requires that the training step
   * did not fail; a partial window never publishes, even at a multiple of the interval.
   */
  trained: boolean
  /** Whether the validator already holds a checkpoint manifest (false after a start without `--resume-from`). */
  hasManifest: boolean
  /** Profile whose `publishing.intervalWindows` applies. @default DEFAULT_PROFILE */
  profile?: ProtocolProfile | undefined
}

/**
 * The E1–E3 publishing cadence: publish after a window that trained a full batch, when the window
 * number is a multiple of `profile.publishing.intervalWindows` (10) **or** no manifest exists
 * yet. The interval is keyed on the window number, so a partial window at a multiple of 10 skips
 * that publish until the next multiple; a validator started without a manifest publishes on its
 * first full window.
 *
 * - Spec: docs/protocol.md §9 "Condition" [59b4718:reliquary/validator/service.py
 *   `_train_and_publish`].
 *
 * @param parameters - {@link ShouldPublishParameters}.
 * @returns `trained && (windowN % intervalWindows === 0 || !hasManifest)`.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a negative or non-integer `windowN`, non-boolean
 *   flags, or a profile without a positive integer interval.
 * @example
 * ```ts
 * import { shouldPublish } from 'reliquary/hub'
 * shouldPublish({ windowN: 20, trained: true, hasManifest: true })  // true
 * shouldPublish({ windowN: 21, trained: true, hasManifest: true })  // false
 * shouldPublish({ windowN: 21, trained: true, hasManifest: false }) // true: first manifest
 * shouldPublish({ windowN: 30, trained: false, hasManifest: true }) // false: partial window
 * ```
 */
export function shouldPublish(parameters: ShouldPublishParameters): boolean {
  if (typeof parameters !== 'object' || parameters === null)
    throw invalidArgument('parameters', 'an object', parameters)
  const { windowN, trained, hasManifest, profile = DEFAULT_PROFILE } = parameters
  if (!Number.isSafeInteger(windowN) || windowN < 0)
    throw invalidArgument('windowN', 'a non-negative integer', windowN)
  if (typeof trained !== 'boolean') throw invalidArgument('trained', 'a boolean', trained)
  if (typeof hasManifest !== 'boolean')
    throw invalidArgument('hasManifest', 'a boolean', hasManifest)
  const interval = profile?.publishing?.intervalWindows
  if (!Number.isSafeInteger(interval) || (interval as number) < 1) {
    throw invalidArgument('profile.publishing.intervalWindows', 'a positive integer', interval)
  }
  return trained && (windowN % (interval as number) === 0 || !hasManifest)
}
