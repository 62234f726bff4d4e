import { invalidArgument } from '../errors/base.js'
import { defineProfile, e3, type ProtocolProfile } from '../protocol/profiles.js'

/**
 * The numbers of the demo profile, on top of e3 (everything else is e3's). Each one is there so
 * that a dozen windows of a 2-layer random model fit in minutes on two CPU cores:
 * - `group.batchSize` 4: fewer groups to generate, verify and train per window;
 * - `sampling.maxNewTokensCap` 74: every rollout reaches the cap (the tiny model rarely emits
 *   EOS), leaving 33–49 completion tokens for the 25–41-token prompts (≥ 32 = `CHALLENGE_K`);
 * - `window.windowTimeoutSeconds` 120: a window without a trigger ends in minutes, not hours;
 * - `window.drandBackwardTolerance` 1: validator and miners may share one event loop, so a request
 *   can be stamped a few hundred ms after it was signed (the reference ran 1, then 10, through
 *   its environment override on 2026-05-16, docs/protocol.md §5.4);
 * - `training.learningRate` 1e-5 and `training.warmupWindows` 0: ten steps raise the reward on
 *   trained prompts from 0.41 to 0.84 while 3e-5 diverges (KL above 10 by step 3); e3's warm-up
 *   would spend ten of the demo's windows ramping up. Measured with `bench/demo-learning.ts`
 *   (BENCHMARKS.md, "Demo learning");
 * - `drand`: a local chain (its own key and hash, a short period).
 */
export const DEMO_PROFILE_NUMBERS = /*#__PURE__*/ Object.freeze({
  batchSize: 4,
  maxNewTokensCap: 74,
  windowTimeoutSeconds: 120,
  drandBackwardTolerance: 1,
  learningRate: 1e-5,
  warmupWindows: 0,
} as const)

/** The demo profile's id. */
export const DEMO_PROFILE_ID = 'e3-demo'

/** The drand chain a demo profile runs on (a local chain's info, or only its timing for a miner). */
export type DemoProfileDrand = {
  /** Unix time of round 1. */
  readonly genesisTime: number
  /** Seconds per round. */
  readonly periodSeconds: number
  /** Chain hash (hex); e3's (quicknet) is kept when omitted — miners only use the timing. */
  readonly chainHash?: string | undefined
}

/**
 * The `e3-demo` profile: e3 with the numbers of {@link DEMO_PROFILE_NUMBERS} and the given drand
 * chain. Every rule stays e3's; `reliquary demo`, `reliquary validator --profile e3-demo` and
 * `reliquary miner --profile e3-demo` use it so a network of the bundled tiny model runs on a
 * laptop.
 *
 * @param drand - The chain's timing (and hash, for a validator).
 * @returns A frozen profile with id {@link DEMO_PROFILE_ID}.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a non-finite genesis or a period that is not a positive integer.
 * @example
 * ```ts
 * import { createLocalBeaconChain } from 'reliquary/drand'
 * import { createDemoProfile } from 'reliquary/demo'
 * const chain = createLocalBeaconChain({ genesisTime: Math.floor(Date.now() / 1000), periodSeconds: 2 })
 * const profile = createDemoProfile({ genesisTime: chain.info.genesis_time, periodSeconds: chain.info.period, chainHash: chain.info.hash })
 * ```
 */
export function createDemoProfile(drand: DemoProfileDrand): ProtocolProfile {
  if (typeof drand !== 'object' || drand === null)
    throw invalidArgument('drand', '{ genesisTime, periodSeconds, chainHash? }', drand)
  if (!Number.isSafeInteger(drand.genesisTime) || drand.genesisTime < 0)
    throw invalidArgument(
      'drand.genesisTime',
      'a non-negative integer (unix seconds)',
      drand.genesisTime,
    )
  if (!Number.isSafeInteger(drand.periodSeconds) || drand.periodSeconds < 1)
    throw invalidArgument('drand.periodSeconds', 'a positive integer', drand.periodSeconds)
  if (
    drand.chainHash !== undefined &&
    (typeof drand.chainHash !== 'string' || !/^[0-9a-f]{64}$/i.test(drand.chainHash))
  ) {
    throw invalidArgument('drand.chainHash', '64 hex characters', drand.chainHash)
  }
  const n = DEMO_PROFILE_NUMBERS
  return defineProfile(e3, {
    id: DEMO_PROFILE_ID,
    description:
      'reliquary demo: e3 rules with a small batch, short completions and a local drand chain',
    group: { batchSize: n.batchSize },
    sampling: { maxNewTokensCap: n.maxNewTokensCap },
    window: {
      windowTimeoutSeconds: n.windowTimeoutSeconds,
      drandBackwardTolerance: n.drandBackwardTolerance,
    },
    training: { learningRate: n.learningRate, warmupWindows: n.warmupWindows },
    drand: {
      genesisTime: drand.genesisTime,
      periodSeconds: drand.periodSeconds,
      ...(drand.chainHash ? { chainHash: drand.chainHash.toLowerCase() } : {}),
    },
  })
}
