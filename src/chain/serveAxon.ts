import type { Hotkey } from '../crypto/sr25519.js'
import { invalidArgument } from '../errors/base.js'
import { ipToInt } from './_ip.js'
import type { ChainClient } from './connectChain.js'
import { submitExtrinsic, type SubmitExtrinsicOptions } from './submitExtrinsic.js'

/** Parameters of {@link serveAxon}. */
export type ServeAxonParameters = {
  netuid: number
  /** Public IPv4 or IPv6 address miners can reach (not 0.0.0.0 or 127.0.0.1: the chain refuses them). */
  ip: string
  port: number
  /** Axon `protocol` field. @default 4 (the Bittensor SDK's value) */
  protocol?: number | undefined
  /** Axon `version` field. @default 0 */
  version?: number | undefined
} & SubmitExtrinsicOptions

/**
 * Announces the validator's HTTP address on the subnet (`SubtensorModule.serve_axon`), so miners
 * find it through the metagraph ({@link discoverValidator}). Success is read from the chain events.
 *
 * - Spec: docs/protocol.md §3 "Discovery", §8 "On-chain writes".
 *
 * @param client - {@link ChainClient}
 * @param hotkey - The validator hotkey (must be registered on `netuid`).
 * @param parameters - {@link ServeAxonParameters}
 * @returns The block hash of inclusion.
 * @throws {ReliquaryError} `CHAIN_MODULE_ERROR` (`InvalidIpAddress`, `NotRegistered`,
 *   `ServingRateLimitExceeded`, …), `CHAIN_EXTRINSIC_INVALID`, `CHAIN_TIMEOUT`,
 *   `CHAIN_UNAVAILABLE`; `INVALID_ARGUMENT`.
 * @example
 * ```ts
 * import { serveAxon } from 'reliquary/chain'
 * await serveAxon(client, hotkey, { netuid: 81, ip: '203.0.113.7', port: 8888 })
 * ```
 */
export async function serveAxon(
  client: ChainClient,
  hotkey: Hotkey,
  parameters: ServeAxonParameters,
): Promise<{ blockHash: string }> {
  const { netuid, ip, port, protocol = 4, version = 0, ...submit } = parameters
  if (!Number.isSafeInteger(netuid) || netuid < 0 || netuid > 65_535)
    throw invalidArgument('netuid', 'an integer in [0, 65535]', netuid)
  if (!Number.isSafeInteger(port) || port < 1 || port > 65_535)
    throw invalidArgument('port', 'an integer in [1, 65535]', port)
  const addr = ipToInt(ip)
  const out = await submitExtrinsic(
    client,
    hotkey,
    (api) =>
      api.tx.subtensorModule!.serveAxon!(
        netuid,
        version,
        addr.ip,
        port,
        addr.ipType,
        protocol,
        0,
        0,
      ),
    `serve_axon on netuid ${netuid}`,
    submit,
  )
  return { blockHash: out.blockHash }
}
