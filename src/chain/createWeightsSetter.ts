import type { Hotkey } from '../crypto/sr25519.js'
import { invalidArgument, isReliquaryError } from '../errors/base.js'
import { DEFAULT_PROFILE, type ProtocolProfile } from '../protocol/profiles.js'
import { emaToWeights } from '../window/scoring/emaToWeights.js'
import { blocksUntilNextEpoch } from './blocksUntilNextEpoch.js'
import type { ChainClient } from './connectChain.js'
import type { Metagraph } from './metagraph.js'
import { readMetagraph, subtensorStorage } from './readMetagraph.js'
import { setWeights } from './setWeights.js'

/** Defaults of {@link createWeightsSetter}: the reference's `EPOCH_SUBMIT_LEAD_BLOCKS` and a block-time poll. */
export const WEIGHTS_SETTER_DEFAULTS = /*#__PURE__*/ Object.freeze({
  leadBlocks: 20,
  pollIntervalMs: 12_000,
} as const)

/** Parameters of {@link createWeightsSetter}. */
export type CreateWeightsSetterParameters = {
  client: ChainClient
  /** The validator hotkey (needs a validator permit). */
  hotkey: Hotkey
  netuid: number
  /** The EMA per hotkey, read when weights are due (the validator's `ema()`). */
  ema: () => ReadonlyMap<string, number>
  /** `scoring.burnUid` and `scoring.pool`. @default DEFAULT_PROFILE */
  profile?: ProtocolProfile | undefined
  /** Burn the EMA of deregistered hotkeys too (HEAD `83ef932`). @default false (E1–E3) */
  burnUnregistered?: boolean | undefined
  /** Submit when at most this many blocks remain in the epoch. @default 20 */
  leadBlocks?: number | undefined
  /** How often the background loop looks at the chain head. @default 12000 */
  pollIntervalMs?: number | undefined
  /** `version_key`. @default the subnet's `WeightsVersionKey` */
  versionKey?: bigint | number | undefined
  /** Metagraph source. @default readMetagraph(client, { netuid }) */
  metagraph?: (() => Promise<Metagraph>) | undefined
  /** Wait for finality instead of inclusion. @default false */
  waitForFinalization?: boolean | undefined
  /** Progress; must not throw. */
  onEvent?: ((event: WeightsSetterEvent) => void) | undefined
}

/** What one look at the chain decided. */
export type WeightsTick =
  | { readonly status: 'waiting'; readonly block: number; readonly blocksUntilEpoch: number }
  | { readonly status: 'already_set'; readonly block: number; readonly epoch: number }
  | { readonly status: 'nothing_to_set'; readonly block: number; readonly epoch: number }
  | {
      readonly status: 'set'
      readonly block: number
      readonly epoch: number
      readonly uids: readonly number[]
      readonly weights: readonly number[]
      readonly blockHash: string
    }
  | {
      readonly status: 'failed'
      readonly block: number | null
      readonly epoch: number | null
      /** `next_epoch` after a decoded chain rejection, `next_block` after a timeout or lost connection. */
      readonly retry: 'next_block' | 'next_epoch'
      readonly error: unknown
    }

/** Events of a {@link WeightsSetter}. */
export type WeightsSetterEvent =
  | { readonly type: 'weights_set'; readonly tick: Extract<WeightsTick, { status: 'set' }> }
  | { readonly type: 'weights_failed'; readonly tick: Extract<WeightsTick, { status: 'failed' }> }

/** A background, epoch-synchronised `set_weights` duty (see {@link createWeightsSetter}). */
export type WeightsSetter = {
  /** One look at the chain (what the loop runs each poll); never throws. */
  tick(): Promise<WeightsTick>
  /** Starts the background loop (idempotent). It never blocks its caller. */
  start(): void
  /** Stops the loop and waits for the look in flight. */
  stop(): Promise<void>
  /** The last `set` tick, or `null`. */
  lastSet(): Extract<WeightsTick, { status: 'set' }> | null
}

type Epoch = { block: number; epoch: number; blocksUntil: number }

/**
 * Sets the validator's weights once per subnet epoch, as the reference's weight loop does
 * (`reliquary/validator/weight_only.py`): at boot, then whenever `blocks_until_next_epoch` is at
 * most `leadBlocks` and this epoch has no successful submission yet. The weights are the EMA of
 * hotkeys present in the metagraph, the unpaid share burnt to `scoring.burnUid`, quantised to u16
 * like the Bittensor SDK (`emaToWeights`). Success is read from the chain events.
 *
 * A decoded chain rejection (no permit, rate limit) waits for the next epoch; a timeout or a lost
 * connection (the client reconnects) is retried at the next poll, i.e. the next block. The loop
 * runs on its own timer: the window loop never waits on the chain.
 *
 * - Spec: docs/protocol.md §8 "Weights", "Cadence".
 *
 * @param parameters - {@link CreateWeightsSetterParameters}
 * @returns {@link WeightsSetter}
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a bad netuid, lead or interval.
 * @example
 * ```ts
 * import { connectChain, createWeightsSetter } from 'reliquary/chain'
 * const setter = createWeightsSetter({ client, hotkey, netuid: 81, ema: () => validator.ema() })
 * setter.start()
 * ```
 */
export function createWeightsSetter(parameters: CreateWeightsSetterParameters): WeightsSetter {
  const p = parameters
  const {
    client,
    hotkey,
    netuid,
    ema,
    profile = DEFAULT_PROFILE,
    burnUnregistered = false,
    leadBlocks = WEIGHTS_SETTER_DEFAULTS.leadBlocks,
    pollIntervalMs = WEIGHTS_SETTER_DEFAULTS.pollIntervalMs,
  } = p
  if (!Number.isSafeInteger(netuid) || netuid < 0 || netuid > 65_535)
    throw invalidArgument('netuid', 'an integer in [0, 65535]', netuid)
  if (!Number.isSafeInteger(leadBlocks) || leadBlocks < 0)
    throw invalidArgument('leadBlocks', 'a non-negative integer', leadBlocks)
  if (!(pollIntervalMs > 0))
    throw invalidArgument('pollIntervalMs', 'a positive number', pollIntervalMs)
  if (typeof ema !== 'function') throw invalidArgument('ema', 'a function', ema)
  const metagraph = p.metagraph ?? (() => readMetagraph(client, { netuid }))
  const emit = (e: WeightsSetterEvent): void => {
    try {
      p.onEvent?.(e)
    } catch {
      /* observers never break the loop */
    }
  }

  let doneEpoch: number | null = null
  let attemptedEpoch: number | null = null
  let booted = false
  let last: Extract<WeightsTick, { status: 'set' }> | null = null

  const readEpoch = (): Promise<Epoch> =>
    client.read('Reading the chain head and tempo', async (api) => {
      const header = await api.rpc.chain.getHeader()
      const block = header.number.toNumber()
      const tempoQ = subtensorStorage(api, 'tempo')
      const tempo = tempoQ ? Number((await tempoQ(netuid)).toString()) : 0
      const until = blocksUntilNextEpoch({ block, netuid, tempo }) ?? 0
      return { block, epoch: block + until, blocksUntil: until }
    })

  const submit = async (at: Epoch): Promise<WeightsTick> => {
    const mg = await metagraph()
    const w = emaToWeights(ema(), { uidOf: mg.uidOf, profile, burnUnregistered })
    if (w.uids.length === 0) return { status: 'nothing_to_set', block: at.block, epoch: at.epoch }
    const out = await setWeights(client, hotkey, {
      netuid,
      uids: w.uids,
      weights: w.weights,
      ...(p.versionKey !== undefined ? { versionKey: p.versionKey } : {}),
      ...(p.waitForFinalization ? { waitForFinalization: true } : {}),
    })
    return Object.freeze({
      status: 'set' as const,
      block: at.block,
      epoch: at.epoch,
      uids: Object.freeze([...w.uids]),
      weights: Object.freeze([...w.weights]),
      blockHash: out.blockHash,
    })
  }

  const tick = async (): Promise<WeightsTick> => {
    let at: Epoch | null = null
    try {
      at = await readEpoch()
      if (doneEpoch === at.epoch) return { status: 'already_set', block: at.block, epoch: at.epoch }
      if (attemptedEpoch === at.epoch)
        return { status: 'waiting', block: at.block, blocksUntilEpoch: at.blocksUntil }
      if (booted && at.blocksUntil > leadBlocks)
        return { status: 'waiting', block: at.block, blocksUntilEpoch: at.blocksUntil }
      const out = await submit(at)
      booted = true
      if (out.status === 'set') {
        doneEpoch = at.epoch
        last = out
        emit({ type: 'weights_set', tick: out })
      }
      return out
    } catch (e) {
      const rejected =
        isReliquaryError(e, 'CHAIN_MODULE_ERROR') || isReliquaryError(e, 'CHAIN_UNSUPPORTED')
      if (rejected && at) {
        booted = true
        attemptedEpoch = at.epoch
      }
      const out = Object.freeze({
        status: 'failed' as const,
        block: at?.block ?? null,
        epoch: at?.epoch ?? null,
        retry: rejected ? ('next_epoch' as const) : ('next_block' as const),
        error: e,
      })
      emit({ type: 'weights_failed', tick: out })
      return out
    }
  }

  let running = false
  let timer: NodeJS.Timeout | null = null
  let inflight: Promise<unknown> = Promise.resolve()
  const loop = (): void => {
    if (!running) return
    inflight = tick().finally(() => {
      if (!running) return
      timer = setTimeout(loop, pollIntervalMs)
      timer.unref?.()
    })
  }
  return Object.freeze({
    tick,
    start: () => {
      if (running) return
      running = true
      timer = setTimeout(loop, 0)
      timer.unref?.()
    },
    stop: async () => {
      running = false
      if (timer) clearTimeout(timer)
      await inflight
    },
    lastSet: () => last,
  })
}
