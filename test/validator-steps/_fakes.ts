// Fakes for the validator's window steps: a virtual clock, a local drand chain on it, a real
// admission pipeline and phase machine, and models that are never called unless a test says so.
import { createLocalBeaconChain, type LocalBeaconChain } from '../../src/drand/localBeaconChain.js'
import type { GrpoTrainer } from '../../src/grpo/createTrainer.js'
import type { CausalLM } from '../../src/model/loadModel.js'
import { defineProfile, e3, type ProtocolProfile } from '../../src/protocol/profiles.js'
import { SubmissionTally } from '../../src/validator/submissionTally.js'
import type { ValidatorContext } from '../../src/validator/validatorContext.js'
import type { ValidatorEvent } from '../../src/validator/validatorEvent.js'
import {
  createValidatorState,
  type ValidatorModels,
  type ValidatorState,
} from '../../src/validator/validatorState.js'
import { AdmissionPipeline } from '../../src/window/admission/admissionPipeline.js'
import { WindowStateMachine } from '../../src/window/windowStateMachine.js'
import {
  T_ROUND,
  buildBody,
  decode,
  fakeKey,
  makeEnvironment,
  okVerifier,
  promptTokens,
  setup,
  type Setup,
} from '../_admission.js'

export const GENESIS = 1_700_000_000
export const PERIOD = 3

/** A clock that only moves when the code under test sleeps (or a test sets it). */
export type VirtualClock = { t: number; slept: number[] }

/** Models that fail loudly if a step touches them; `trainer.step` is replaceable. */
export function fakeModels(step?: GrpoTrainer['step']): ValidatorModels {
  const never = new Proxy(
    {},
    {
      get: (_, k) => {
        throw new Error(`model.${String(k)} must not be used here`)
      },
    },
  ) as CausalLM
  const trainer = {
    step:
      step ??
      (() => {
        throw new Error('trainer.step must not be called here')
      }),
  } as unknown as GrpoTrainer
  return { policy: never, verifyModel: never, trainer }
}

export type Harness = {
  clock: VirtualClock
  chain: LocalBeaconChain
  profile: ProtocolProfile
  state: ValidatorState
  ctx: ValidatorContext
  events: ValidatorEvent[]
  /** Requests the fake server reports as not yet decided. */
  pending: { n: number }
}

/**
 * A validator state at window `lastWindowN` and a context over a local drand chain (period 3 s),
 * a virtual clock starting at `startSeconds`, a real pipeline (schema-only verifier) and machine.
 */
export function harness(
  o: {
    lastWindowN?: number
    startSeconds?: number
    models?: ValidatorModels
    archiveDir?: string
    publisher?: ValidatorContext['publisher']
  } = {},
): Harness {
  const clock: VirtualClock = { t: o.startSeconds ?? GENESIS + 100.5, slept: [] }
  const chain = createLocalBeaconChain({
    genesisTime: GENESIS,
    periodSeconds: PERIOD,
    secretKey: '01'.repeat(32),
    now: () => clock.t * 1000,
  })
  const drand = { chainHash: chain.info.hash, genesisTime: GENESIS, periodSeconds: PERIOD }
  const profile = defineProfile(e3, { id: 'e3-steps', drand })
  const lastWindowN = o.lastWindowN ?? 7
  const state = createValidatorState({
    lastWindowN,
    profile,
    models: o.models ?? fakeModels(),
  })
  const pipeline = new AdmissionPipeline({
    profile,
    environment: makeEnvironment(),
    decode,
    promptTokens,
    drand: { genesisTime: GENESIS, periodSeconds: PERIOD },
    verifyRollout: okVerifier,
  })
  const machine = new WindowStateMachine({ lastWindowN })
  const events: ValidatorEvent[] = []
  machine.on('transition', (e) => {
    pipeline.setPhase(e.to)
    events.push({
      type: 'state',
      windowN: e.windowN,
      from: e.from,
      to: e.to,
      atSeconds: e.atSeconds,
    })
  })
  const pending = { n: 0 }
  const ctx: ValidatorContext = {
    profile,
    timing: { genesisTime: GENESIS, periodSeconds: PERIOD },
    chainHash: chain.info.hash,
    beacons: chain,
    now: () => clock.t,
    sleep: async (ms) => {
      clock.slept.push(ms)
      clock.t += ms / 1000
    },
    pollIntervalMs: 50,
    machine,
    pipeline,
    pendingSubmissions: () => pending.n,
    environment: makeEnvironment(),
    eosTokenId: 2,
    validatorAddress: '5ValidatorAddress',
    archiveDir: o.archiveDir ?? '/nonexistent',
    publisher: o.publisher ?? null,
    tally: new SubmissionTally(lastWindowN),
    emit: (e) => events.push(e),
  }
  return { clock, chain, profile, state, ctx, events, pending }
}

/** The event types in order, without the per-submission ones. */
export const eventTypes = (events: readonly ValidatorEvent[]): string[] =>
  events.map((e) => (e.type === 'state' ? `state:${e.to}` : e.type))

/**
 * The shared admission fixture (window WINDOW, e3 timing) with `prompts` distinct prompts admitted
 * through the worker stage, one hotkey each, all in round ROUND.
 */
export async function admittedWindow(prompts: number): Promise<Setup> {
  const s = setup({ verifier: okVerifier })
  for (let p = 0; p < prompts; p++) {
    const body = await buildBody({
      hotkey: fakeKey(`hk${p}`),
      promptIdx: p,
      unsigned: true,
      nonce: `n${p}`,
      salt: p,
    })
    const v = await s.pipeline.admitDirect(body, {
      arrivalSeconds: T_ROUND,
      nowSeconds: T_ROUND + 0.2,
    })
    if (v.reason !== 'accepted') throw new Error(`prompt ${p}: ${v.reason} ${v.detail}`)
  }
  return s
}
