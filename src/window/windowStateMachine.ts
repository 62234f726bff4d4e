import { ReliquaryError, invalidArgument } from '../errors/base.js'

/**
 * The validator's window phase, as `/state.state` reports it (`"open" | "training" |
 * "publishing" | "ready"`).
 *
 * - Spec: docs/protocol.md §3.3, §5.1.
 */
export type WindowPhase = 'open' | 'training' | 'publishing' | 'ready'

/** The legal transitions of a window, keyed by the phase they leave from. */
export const WINDOW_TRANSITIONS: Readonly<Record<WindowPhase, readonly WindowPhase[]>> =
  /*#__PURE__*/ Object.freeze({
    ready: Object.freeze(['open'] as const),
    open: Object.freeze(['training'] as const),
    training: Object.freeze(['publishing'] as const),
    publishing: Object.freeze(['ready'] as const),
  })

/** Payload of every window event. */
export type WindowTransitionEvent = {
  /** The phase left. */
  readonly from: WindowPhase
  /** The phase entered. */
  readonly to: WindowPhase
  /** The window the transition belongs to. */
  readonly windowN: number
  /** Caller-supplied time of the transition (unix seconds), if any. The machine reads no clock. */
  readonly atSeconds: number | undefined
  /** True when the transition is an abort back to `ready` (the reference's error path). */
  readonly aborted: boolean
}

/** Event names: `transition` fires on every change, the phase names fire on entering that phase. */
export type WindowEventName = 'transition' | WindowPhase

/** A listener of {@link WindowStateMachine} events. */
export type WindowListener = (event: WindowTransitionEvent) => void

/** Options of the {@link WindowStateMachine} constructor. */
export type WindowStateMachineOptions = {
  /** The last window number already used (the next `open` must be greater). @default -1 */
  lastWindowN?: number | undefined
}

/**
 * The per-window lifecycle of an E1–E3 validator: `ready → open → training → publishing → ready`,
 * one loop per window. Illegal transitions throw `WINDOW_STATE_INVALID`; every transition emits a
 * typed `transition` event and an event named after the phase entered. Listeners run synchronously
 * after the phase has changed; if one throws, the others still run and the first error is then
 * rethrown.
 *
 * `abort()` is the reference's error path (`Window iteration failed` → READY): it returns to
 * `ready` from any other phase.
 *
 * (Named `WindowStateMachine` rather than `Window` so it does not shadow the DOM global.)
 *
 * - Spec: docs/protocol.md §5.1 (mirrors the loop of `ValidatorService.run`).
 *
 * @example
 * ```ts
 * import { WindowStateMachine } from 'reliquary/window'
 * const w = new WindowStateMachine()
 * w.on('training', (e) => console.log(`window ${e.windowN} sealed`))
 * w.open(501)
 * w.startTraining()
 * w.startPublishing()
 * w.finish()
 * w.phase // 'ready'
 * ```
 */
export class WindowStateMachine {
  #phase: WindowPhase = 'ready'
  #windowN: number
  readonly #listeners = new Map<WindowEventName, Set<WindowListener>>()

  /**
   * @param options - {@link WindowStateMachineOptions}
   * @throws {ReliquaryError} `INVALID_ARGUMENT` if `lastWindowN` is not an integer ≥ −1.
   */
  constructor(options: WindowStateMachineOptions = {}) {
    const { lastWindowN = -1 } = options
    if (!Number.isSafeInteger(lastWindowN) || lastWindowN < -1)
      throw invalidArgument('lastWindowN', 'a safe integer ≥ -1', lastWindowN)
    this.#windowN = lastWindowN
  }

  /** The current phase. */
  get phase(): WindowPhase {
    return this.#phase
  }

  /** The current (or last) window number; −1 before the first `open`. */
  get windowN(): number {
    return this.#windowN
  }

  /**
   * Whether `to` is a legal next phase from the current one.
   *
   * @param to - The phase to test.
   * @returns `true` if {@link WindowStateMachine.transition} would accept it.
   */
  canTransition(to: WindowPhase): boolean {
    return (WINDOW_TRANSITIONS[this.#phase] as readonly string[]).includes(to)
  }

  /**
   * Subscribes to an event.
   *
   * @param name - `'transition'` or a phase name.
   * @param listener - Called synchronously with the {@link WindowTransitionEvent}.
   * @returns A function that unsubscribes.
   * @throws {ReliquaryError} `INVALID_ARGUMENT` for an unknown event name or a non-function listener.
   */
  on(name: WindowEventName, listener: WindowListener): () => void {
    if (name !== 'transition' && !(name in WINDOW_TRANSITIONS))
      throw invalidArgument('name', "'transition' or a window phase", name)
    if (typeof listener !== 'function') throw invalidArgument('listener', 'a function', listener)
    let set = this.#listeners.get(name)
    if (!set) {
      set = new Set()
      this.#listeners.set(name, set)
    }
    set.add(listener)
    return () => {
      set.delete(listener)
    }
  }

  /**
   * Moves to `to` if the transition is legal.
   *
   * @param to - The next phase.
   * @param options - `windowN` is required when entering `open` (must exceed the previous window);
   *   `atSeconds` is copied into the event.
   * @throws {ReliquaryError} `WINDOW_STATE_INVALID` for an illegal transition or a non-increasing
   *   window number; the phase is then unchanged.
   */
  transition(
    to: WindowPhase,
    options: { windowN?: number | undefined; atSeconds?: number | undefined } = {},
  ): void {
    if (!this.canTransition(to)) {
      throw new ReliquaryError(
        'WINDOW_STATE_INVALID',
        `Illegal window transition ${this.#phase} → ${String(to)}.`,
        {
          hints: [
            `From "${this.#phase}" the only legal next phase is ${WINDOW_TRANSITIONS[this.#phase].map((p) => `"${p}"`).join(', ')}.`,
            'Use abort() to return to "ready" after an error.',
          ],
          meta: { from: this.#phase, to },
        },
      )
    }
    let windowN = this.#windowN
    if (to === 'open') {
      const n = options.windowN
      if (!Number.isSafeInteger(n) || (n as number) <= this.#windowN) {
        throw new ReliquaryError(
          'WINDOW_STATE_INVALID',
          `Opening window ${String(n)} after window ${this.#windowN}: window numbers must increase.`,
          {
            meta: { from: this.#phase, to, windowN: n },
          },
        )
      }
      windowN = n as number
    }
    this.#apply(to, windowN, options.atSeconds, false)
  }

  /**
   * `ready → open` for window `windowN`.
   * @param windowN - The new window number (greater than the previous one).
   * @param atSeconds - Optional time stamp for the event.
   * @throws {ReliquaryError} `WINDOW_STATE_INVALID` as {@link WindowStateMachine.transition}.
   */
  open(windowN: number, atSeconds?: number): void {
    this.transition('open', { windowN, atSeconds })
  }

  /**
   * `open → training` (the window sealed).
   * @param atSeconds - Optional time stamp for the event.
   * @throws {ReliquaryError} `WINDOW_STATE_INVALID` from any other phase.
   */
  startTraining(atSeconds?: number): void {
    this.transition('training', { atSeconds })
  }

  /**
   * `training → publishing`.
   * @param atSeconds - Optional time stamp for the event.
   * @throws {ReliquaryError} `WINDOW_STATE_INVALID` from any other phase.
   */
  startPublishing(atSeconds?: number): void {
    this.transition('publishing', { atSeconds })
  }

  /**
   * `publishing → ready` (archive written, batcher cleared).
   * @param atSeconds - Optional time stamp for the event.
   * @throws {ReliquaryError} `WINDOW_STATE_INVALID` from any other phase.
   */
  finish(atSeconds?: number): void {
    this.transition('ready', { atSeconds })
  }

  /**
   * Returns to `ready` from any phase other than `ready` (the reference's error path). A no-op in
   * `ready`.
   * @param atSeconds - Optional time stamp for the event.
   */
  abort(atSeconds?: number): void {
    if (this.#phase === 'ready') return
    this.#apply('ready', this.#windowN, atSeconds, true)
  }

  #apply(to: WindowPhase, windowN: number, atSeconds: number | undefined, aborted: boolean): void {
    const event: WindowTransitionEvent = Object.freeze({
      from: this.#phase,
      to,
      windowN,
      atSeconds,
      aborted,
    })
    this.#phase = to
    this.#windowN = windowN
    let first: { error: unknown } | undefined
    for (const name of ['transition', to] as const) {
      for (const l of [...(this.#listeners.get(name) ?? [])]) {
        try {
          l(event)
        } catch (error) {
          first ??= { error }
        }
      }
    }
    if (first) throw first.error
  }
}
