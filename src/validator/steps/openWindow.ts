import type { VerifiedBeacon } from '../../drand/beacon.js'
import { drandRoundAt, drandRoundTime } from '../../drand/round.js'
import { windowRandomnessFromBeacon } from '../../drand/windowRandomnessFromBeacon.js'
import { isReliquaryError } from '../../errors/base.js'
import { WindowBatcher } from '../../window/seal/windowBatcher.js'
import type { ValidatorContext } from '../validatorContext.js'
import type { ValidatorState } from '../validatorState.js'

/** The window {@link openWindow} opened. */
export type OpenedWindow = {
  readonly windowN: number
  /** The drand round whose beacon gave the randomness. */
  readonly round: number
  readonly randomness: string
  /** When the window opened (unix seconds). */
  readonly openedAt: number
  /** The open window's admission state (also `state.batcher`). */
  readonly batcher: WindowBatcher
}

type Clock = Pick<ValidatorContext, 'now' | 'sleep'>

/** Sleeps until `tSeconds` on the context's clock, one second at a time at most. */
export async function sleepUntil(ctx: Clock, tSeconds: number): Promise<void> {
  for (;;) {
    const ms = (tSeconds - ctx.now()) * 1000
    if (ms <= 0) return
    await ctx.sleep(Math.min(ms, 1000))
  }
}

/**
 * The verified beacon of `round`, retrying while the source has not produced it yet
 * (`DRAND_UNAVAILABLE`) for up to five periods plus ten seconds after the round's start.
 */
export async function beaconAt(
  ctx: Pick<ValidatorContext, 'now' | 'sleep' | 'beacons' | 'timing'>,
  round: number,
): Promise<VerifiedBeacon> {
  const { timing } = ctx
  const deadline = drandRoundTime(round, timing) + 5 * timing.periodSeconds + 10
  for (;;) {
    try {
      return await ctx.beacons.beacon(round)
    } catch (e) {
      if (!isReliquaryError(e, 'DRAND_UNAVAILABLE') || ctx.now() > deadline) throw e
      await ctx.sleep(Math.min(250, timing.periodSeconds * 250))
    }
  }
}

/**
 * Step 1, open: waits for the next drand boundary, derives the window randomness from that
 * round's verified beacon, and opens window `state.windowN + 1`: a fresh batcher (sharing the
 * cooldown and hash dedup) becomes the pipeline's active window and the phase moves to `open`.
 *
 * - Spec: docs/protocol.md §5.1 (E3 loop, step OPEN).
 *
 * @param state - Updated: `windowN`, `batcher`.
 * @param ctx - The clock, beacons, pipeline, phase and tally are used.
 * @returns The {@link OpenedWindow}.
 * @throws {ReliquaryError} a drand error once the retry deadline passes (nothing is opened then).
 */
export async function openWindow(
  state: ValidatorState,
  ctx: ValidatorContext,
): Promise<OpenedWindow> {
  const windowN = state.windowN + 1
  const round = drandRoundAt(ctx.now(), ctx.timing) + 1
  await sleepUntil(ctx, drandRoundTime(round, ctx.timing))
  const beacon = await beaconAt(ctx, round)
  const randomness = windowRandomnessFromBeacon(beacon, { chainHash: ctx.chainHash })
  const openedAt = ctx.now()
  state.windowN = windowN
  ctx.tally.startWindow(windowN)
  const batcher = new WindowBatcher({
    windowStart: windowN,
    randomness,
    checkpointHash: state.checkpoint.manifest?.revision ?? '',
    cooldown: state.cooldown,
    hashDedup: state.hashDedup,
    profile: ctx.profile,
    drand: ctx.timing,
    openedAtSeconds: openedAt,
  })
  state.batcher = batcher
  ctx.pipeline.setActiveBatcher(batcher)
  ctx.machine.open(windowN, openedAt)
  ctx.emit({ type: 'open', windowN, round, randomness, checkpointN: state.checkpoint.n })
  return { windowN, round, randomness, openedAt, batcher }
}
