import { invalidArgument } from '../errors/base.js'
import {
  createValidator,
  type CreateValidatorParameters,
  type Validator,
  type WindowReport,
} from './createValidator.js'

/** Parameters of {@link runValidator}: those of `createValidator`, plus how long to run. */
export type RunValidatorParameters = CreateValidatorParameters & {
  /** Windows to run; `Infinity` runs until `signal` aborts. @default Infinity */
  windows?: number | undefined
  /**
   * Stops the loop: an open window is closed at once (partial seal) and finished (training,
   * publishing and archiving still run), then the validator shuts down.
   */
  signal?: AbortSignal | undefined
  /** Called with the validator once it listens (its `url`, `state()`, …). */
  onStart?: ((validator: Validator) => void) | undefined
  /**
   * A background duty started beside the window loop once the validator listens, and stopped
   * before it is disposed: typically `createWeightsSetter` from `reliquary/chain` over
   * `validator.ema()`. It runs on its own timer, so the window loop never waits on it.
   */
  weightsSetter?: ((validator: Validator) => { start(): void; stop(): Promise<void> }) | undefined
}

/** Result of {@link runValidator}. */
export type RunValidatorReturnType = {
  /** Every finished window's report, oldest first. */
  readonly reports: readonly WindowReport[]
  /** The EMA per hotkey at the end. */
  readonly ema: ReadonlyMap<string, number>
  /** Whether the loop ended because `signal` aborted. */
  readonly aborted: boolean
}

/**
 * Runs an E3 validator: `createValidator`, then `runWindow()` in a loop until `windows` have run or
 * `signal` aborts, then `dispose()` (the server stops, the models are freed). The entry point of
 * `reliquary validator`. A window that throws (a drand source down, a full disk) ends the loop
 * with that error after the validator is disposed.
 *
 * - Spec: docs/protocol.md §5.1.
 *
 * @param parameters - {@link RunValidatorParameters}
 * @returns {@link RunValidatorReturnType}
 * @throws {ReliquaryError} as `createValidator` and `Validator.runWindow`; `INVALID_ARGUMENT` for
 *   a `windows` that is not a positive integer or `Infinity`.
 * @example
 * ```ts
 * import { runValidator } from './src/validator/runValidator.js'
 * const ac = new AbortController()
 * process.once('SIGINT', () => ac.abort())
 * const { reports } = await runValidator({ ...parameters, signal: ac.signal, onStart: (v) => console.log(`listening on ${v.url}`) })
 * ```
 */
export async function runValidator(
  parameters: RunValidatorParameters,
): Promise<RunValidatorReturnType> {
  if (typeof parameters !== 'object' || parameters === null)
    throw invalidArgument('parameters', 'an object', parameters)
  const { windows = Number.POSITIVE_INFINITY, signal, onStart, weightsSetter, ...rest } = parameters
  if (windows !== Number.POSITIVE_INFINITY && (!Number.isSafeInteger(windows) || windows < 1))
    throw invalidArgument('windows', 'a positive integer or Infinity', windows)
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw invalidArgument('signal', 'an AbortSignal', signal)
  const validator = await createValidator(rest)
  const close = (): void => validator.closeWindow()
  signal?.addEventListener('abort', close)
  let duty: { start(): void; stop(): Promise<void> } | undefined
  try {
    duty = weightsSetter?.(validator)
    duty?.start()
    onStart?.(validator)
    for (let i = 0; i < windows && !signal?.aborted; i++) await validator.runWindow()
    return Object.freeze({
      reports: validator.reports(),
      ema: validator.ema(),
      aborted: signal?.aborted ?? false,
    })
  } finally {
    signal?.removeEventListener('abort', close)
    await duty?.stop().catch(() => undefined)
    await validator.dispose()
  }
}
