import { drandRoundAt } from '../../drand/round.js'
import type { AdmissionContext, HandlerContext } from './admissionContext.js'
import type { AdmissionCheck } from './admissionTypes.js'
import { NO_BATCHER, fail, requestRound } from './_checkHelpers.js'
import { verifyRequestEnvelope } from './verifyRequestEnvelope.js'

// ------------------------------------------------------------------------------------------------
// Handler checks (E3 order, docs/protocol.md §4.3 handler steps 1-12); most run at the worker too
// ------------------------------------------------------------------------------------------------

/**
 * E3 step 1: the envelope signature over (hotkey, window, prompt, merkle root, checkpoint, drand
 * round, the validator's randomness, nonce). Failing answers `Connection: close`, does not consume
 * quota, and is written to `/verdicts` at most `window.maxBadEnvelopeVerdicts` times per hotkey per
 * window. Skipped when `window.envelopeSignature` is off.
 */
export const checkEnvelope: AdmissionCheck<HandlerContext> = {
  id: 'envelope',
  run: async (ctx) => {
    const { profile } = ctx.config
    if (!profile.window.envelopeSignature) return null
    const r = ctx.request
    const randomness = ctx.batcher?.randomness ?? ''
    // Verified earlier (off the event loop) against the same randomness: that answer stands.
    const pre = ctx.envelopeChecked
    const ok =
      'drand_round' in r &&
      (pre?.randomness === randomness ? pre.ok : await verifyRequestEnvelope(r, randomness))
    if (ok) return null
    const recordVerdict = ctx.ledger.noteBadEnvelope(
      r.miner_hotkey,
      profile.window.maxBadEnvelopeVerdicts,
    )
    return fail(
      'bad_envelope_signature',
      'envelope signature does not verify against miner_hotkey and the window randomness',
      { recordVerdict },
    )
  },
}

/**
 * Registration (HEAD, only with a chain registry): the signed `miner_hotkey` must hold a uid on
 * the subnet (`hotkey_not_registered`); with no metagraph read yet the validator fails closed
 * (`registration_unavailable`). Runs after the envelope check, so only the key's owner can be
 * told, and before the quota, so strangers consume none.
 */
export const checkRegistered: AdmissionCheck<HandlerContext> = {
  id: 'registered',
  run: (ctx) => {
    const lookup = ctx.config.isRegistered
    if (lookup === undefined) return null
    let known: boolean | undefined
    try {
      known = lookup(ctx.request.miner_hotkey)
    } catch {
      known = undefined
    }
    if (known === true) return null
    return known === false
      ? fail('hotkey_not_registered', 'miner_hotkey has no uid on the subnet')
      : fail('registration_unavailable', 'the subnet metagraph has not been read yet')
  },
}

/** E3 step 2: per-hotkey quota per window; consumed by every request that gets this far. */
export const checkRateLimit: AdmissionCheck<HandlerContext> = {
  id: 'rate_limit',
  run: (ctx) => {
    const max = ctx.config.profile.window.maxSubmissionsPerHotkey
    return ctx.ledger.consume(ctx.request.miner_hotkey, max)
      ? null
      : fail('rate_limited', `hotkey already used its ${max} submissions this window`)
  },
}

/** E3 step 3: the validator must be in the `open` phase (a `window_not_active` verdict). */
export const checkWindowState: AdmissionCheck<HandlerContext> = {
  id: 'window_state',
  run: (ctx) =>
    ctx.phase === 'open' ? null : fail('window_not_active', `validator state is ${ctx.phase}`),
}

/** E3 step 4: a batcher must be active (else the request is refused: `no_active_window`). */
export const checkActiveWindow: AdmissionCheck<HandlerContext> = {
  id: 'active_window',
  run: (ctx) => (ctx.batcher ? null : NO_BATCHER),
}

function windowMatch(refusal: 'window_mismatch' | undefined): AdmissionCheck<AdmissionContext> {
  return {
    id: 'window_match',
    run: (ctx) => {
      const b = ctx.batcher
      if (!b) return NO_BATCHER
      return ctx.request.window_start === b.windowStart
        ? null
        : fail(
            'window_mismatch',
            `window_start ${ctx.request.window_start} is not the active window ${b.windowStart}`,
            { refusal },
          )
    },
  }
}

/**
 * E3 step 5 (handler): `window_start` must be the active window; a mismatch refuses the request
 * (`refusal: 'window_mismatch'`) instead of answering a verdict, as the reference does.
 */
export const checkHandlerWindowMatch: AdmissionCheck<AdmissionContext> =
  /*#__PURE__*/ windowMatch('window_mismatch')
/** Worker step 2: `window_start` must be the batcher's window (`window_mismatch` verdict). */
export const checkWindowMatch: AdmissionCheck<AdmissionContext> =
  /*#__PURE__*/ windowMatch(undefined)

/**
 * E3 step 6 / worker pre-check: the window's admission is closed (`batch_filled`): E3 closes at
 * the seal, E1 as soon as the batch fills. (The check keeps the reference's id `sealed`.)
 */
export const checkSealed: AdmissionCheck<AdmissionContext> = {
  id: 'sealed',
  run: (ctx) => {
    const b = ctx.batcher
    if (!b) return NO_BATCHER
    return b.isClosed
      ? fail('batch_filled', `window ${b.windowStart} is closed to admission`)
      : null
  },
}

/** E3 step 7 / worker step 3: `checkpoint_hash` must equal the current revision (gate off while it is `""`). */
export const checkCheckpoint: AdmissionCheck<AdmissionContext> = {
  id: 'checkpoint',
  run: (ctx) => {
    const b = ctx.batcher
    if (!b) return NO_BATCHER
    if (b.checkpointHash === '' || ctx.request.checkpoint_hash === b.checkpointHash) return null
    return fail('wrong_checkpoint', 'checkpoint_hash is not the current checkpoint revision')
  },
}

/**
 * E3 step 8: the drand gate on the arrival time. With `cur = 1 + (t_arrival − genesis) // period`,
 * `drand_round > cur` is `future_round` and `drand_round < cur − window.drandBackwardTolerance` is
 * `stale_round`. Decided only here, never in the worker.
 */
export const checkDrandRound: AdmissionCheck<HandlerContext> = {
  id: 'drand_round',
  run: (ctx) => {
    const { drand, profile } = ctx.config
    const round = requestRound(ctx.request)
    const cur = drandRoundAt(ctx.arrivalSeconds, {
      genesisTime: drand.genesisTime,
      periodSeconds: drand.periodSeconds,
    })
    if (round > cur)
      return fail('future_round', `drand_round ${round} is after the arrival round ${cur}`)
    const tol = profile.window.drandBackwardTolerance
    if (round < cur - tol)
      return fail(
        'stale_round',
        `drand_round ${round} is older than the arrival round ${cur} minus tolerance ${tol}`,
      )
    return null
  },
}

/** E3 step 9 / worker step 1: once the seal trigger round R is known, rounds after R get `batch_filled`. */
export const checkSealTrigger: AdmissionCheck<AdmissionContext> = {
  id: 'seal_trigger',
  run: (ctx) => {
    const b = ctx.batcher
    if (!b) return NO_BATCHER
    const trigger = b.sealTriggerRound
    const round = requestRound(ctx.request)
    return trigger !== null && round > trigger
      ? fail('batch_filled', `drand_round ${round} is after the seal trigger round ${trigger}`)
      : null
  },
}

/** E3 step 10 / worker step 4: `prompt_idx` must index the environment. */
export const checkPromptIdx: AdmissionCheck<AdmissionContext> = {
  id: 'prompt_idx',
  run: (ctx) => {
    const size = ctx.config.environment.size
    return ctx.request.prompt_idx < size
      ? null
      : fail('bad_prompt_idx', `prompt_idx ${ctx.request.prompt_idx} ≥ environment size ${size}`)
  },
}

/** E3 step 11 / worker step 5: the prompt must not be in cooldown. */
export const checkCooldown: AdmissionCheck<AdmissionContext> = {
  id: 'cooldown',
  run: (ctx) => {
    const b = ctx.batcher
    if (!b) return NO_BATCHER
    return b.isInCooldown(ctx.request.prompt_idx)
      ? fail('prompt_in_cooldown', `prompt ${ctx.request.prompt_idx} is in cooldown`)
      : null
  },
}

/** E3 step 12 / worker step 6: at most `window.maxSubmissionsPerPrompt` valid submissions per prompt (0 = no cap). */
export const checkPromptFull: AdmissionCheck<AdmissionContext> = {
  id: 'prompt_full',
  run: (ctx) => {
    const b = ctx.batcher
    if (!b) return NO_BATCHER
    const max = ctx.config.profile.window.maxSubmissionsPerPrompt
    const n = b.promptSubmissionCount(ctx.request.prompt_idx)
    return max > 0 && n >= max
      ? fail('prompt_full', `prompt ${ctx.request.prompt_idx} already has ${n} valid submissions`)
      : null
  },
}
