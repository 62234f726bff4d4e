import { invalidArgument } from '../errors/base.js'
import type { ChainClient } from './connectChain.js'
import type { Metagraph } from './metagraph.js'
import { readMetagraph } from './readMetagraph.js'

/** Parameters of {@link createChainRegistry}. */
export type CreateChainRegistryParameters = {
  client: ChainClient
  netuid: number
  /** How often the metagraph is re-read in the background. @default 60000 (about 5 blocks) */
  refreshIntervalMs?: number | undefined
  /** Refresh failures (the last good metagraph stays in use); must not throw. */
  onError?: ((error: unknown) => void) | undefined
}

/**
 * The validator's view of who is registered: the last metagraph read, refreshed on a cadence in
 * the background, with synchronous lookups for the admission path (no chain call per submission).
 */
export type ChainRegistry = {
  readonly netuid: number
  /** `true`/`false` from the last metagraph; `undefined` before any metagraph was read. */
  isRegistered(hotkey: string): boolean | undefined
  /** The uid of `hotkey` in the last metagraph. */
  uidOf(hotkey: string): number | undefined
  /** The last metagraph read, or `null`. */
  metagraph(): Metagraph | null
  /** Reads the metagraph now (and keeps it). */
  refresh(): Promise<Metagraph>
  /** Starts the background refresh (idempotent). */
  start(): void
  /** Stops it and waits for an in-flight read. */
  stop(): Promise<void>
}

/**
 * Creates a {@link ChainRegistry} over a chain client. Nothing is read until `refresh()` or
 * `start()`.
 *
 * @param parameters - {@link CreateChainRegistryParameters}
 * @returns {@link ChainRegistry}
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a bad netuid or interval.
 * @example
 * ```ts
 * import { connectChain, createChainRegistry } from 'reliquary/chain'
 * const registry = createChainRegistry({ client: connectChain({ url }), netuid: 81 })
 * await registry.refresh(); registry.start()
 * registry.isRegistered('5F…')
 * ```
 */
export function createChainRegistry(parameters: CreateChainRegistryParameters): ChainRegistry {
  const { client, netuid, refreshIntervalMs = 60_000, onError } = parameters
  if (!Number.isSafeInteger(netuid) || netuid < 0 || netuid > 65_535)
    throw invalidArgument('netuid', 'an integer in [0, 65535]', netuid)
  if (!(refreshIntervalMs > 0))
    throw invalidArgument('refreshIntervalMs', 'a positive number', refreshIntervalMs)
  let last: Metagraph | null = null
  let timer: NodeJS.Timeout | null = null
  let inflight: Promise<unknown> = Promise.resolve()
  let running = false

  const refresh = async (): Promise<Metagraph> => {
    const mg = await readMetagraph(client, { netuid })
    if (last === null || mg.block >= last.block) last = mg
    return mg
  }
  const loop = (): void => {
    if (!running) return
    inflight = refresh()
      .catch((e: unknown) => {
        try {
          onError?.(e)
        } catch {
          /* observers never break the loop */
        }
      })
      .finally(() => {
        if (!running) return
        timer = setTimeout(loop, refreshIntervalMs)
        timer.unref?.()
      })
  }
  return Object.freeze({
    netuid,
    isRegistered: (h: string) => (last === null ? undefined : last.uidOf(h) !== undefined),
    uidOf: (h: string) => last?.uidOf(h),
    metagraph: () => last,
    refresh,
    start: () => {
      if (running) return
      running = true
      timer = setTimeout(loop, last === null ? 0 : refreshIntervalMs)
      timer.unref?.()
    },
    stop: async () => {
      running = false
      if (timer) clearTimeout(timer)
      await inflight
    },
  })
}
