// `reliquary chain …`: read-only views of a subtensor chain.
import { connectChain } from '../chain/connectChain.js'
import { discoverValidator, type Metagraph } from '../chain/metagraph.js'
import { readMetagraph } from '../chain/readMetagraph.js'
import { createChainRegistry, type ChainRegistry } from '../chain/createChainRegistry.js'
import { createWeightsSetter, type WeightsSetter } from '../chain/createWeightsSetter.js'
import { serveAxon } from '../chain/serveAxon.js'
import type { Hotkey } from '../crypto/sr25519.js'
import { isReliquaryError } from '../errors/base.js'
import { intOption, usage } from './_args.js'
import { formatHelp } from './_help.js'
import { parseCommand } from './_options.js'
import { didYouMean } from './_suggest.js'
import { CHAIN_METAGRAPH_COMMAND } from './toolOptions.js'

/** Help of `reliquary chain`. */
export const CHAIN_HELP = formatHelp(CHAIN_METAGRAPH_COMMAND)

const RAO_PER_TAO = 1_000_000_000n

function tao(rao: bigint | null): string {
  if (rao === null) return '-'
  const whole = rao / RAO_PER_TAO
  const frac = (rao % RAO_PER_TAO).toString().padStart(9, '0').slice(0, 4)
  return `${whole}.${frac}`
}

/** The metagraph as a fixed-width table. */
export function formatMetagraphTable(mg: Metagraph): string {
  const rows = mg.neurons.map((n) => [
    String(n.uid),
    n.hotkey,
    n.coldkey ?? '-',
    tao(n.stakeRao),
    n.validatorPermit ? 'yes' : 'no',
    n.axon.ip === '0.0.0.0' ? '-' : `${n.axon.ip}:${n.axon.port}`,
    String(n.lastUpdate),
  ])
  const head = ['uid', 'hotkey', 'coldkey', 'stake τ', 'permit', 'axon', 'last_update']
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (r: string[]): string =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()
  const found = discoverValidator(mg)
  return [
    `netuid ${mg.netuid} at block ${mg.block}: ${mg.neurons.length} uids`,
    line(head),
    ...rows.map(line),
    found
      ? `validator for miners: uid ${found.uid} ${found.url} (${found.hotkey})`
      : 'validator for miners: none (no uid with a permit and an axon ip)',
  ].join('\n')
}

/** The metagraph as JSON-safe data (stake in rao as a string). */
export function metagraphJson(mg: Metagraph): unknown {
  return {
    netuid: mg.netuid,
    block: mg.block,
    neurons: mg.neurons.map((n) => ({
      ...n,
      stakeRao: n.stakeRao === null ? null : n.stakeRao.toString(),
    })),
    validator: discoverValidator(mg),
  }
}

/**
 * Runs `reliquary chain <sub> …`; returns the exit code.
 * @throws {ReliquaryError} `CLI_USAGE` for bad options; chain errors (`CHAIN_UNAVAILABLE`, …).
 */
export async function chainCommand(argv: string[], log: (line: string) => void): Promise<number> {
  const [sub, ...rest] = argv
  if (sub === undefined || sub === '--help' || sub === '-h' || rest.includes('--help')) {
    log(CHAIN_HELP)
    return 0
  }
  if (sub !== 'metagraph')
    usage(
      `Unknown chain command "${sub}".${didYouMean(sub, ['metagraph'])}`,
      "Run 'reliquary chain --help'.",
    )
  const { values } = parseCommand(CHAIN_METAGRAPH_COMMAND, rest)
  const url = values.chain ?? usage('chain metagraph needs --chain <ws://…>.')
  if (!/^wss?:\/\//.test(url)) usage('--chain must be a ws:// or wss:// URL.')
  const netuid = values.netuid ?? usage('chain metagraph needs --netuid <N>.')
  const timeout = values['timeout-ms']
  const client = connectChain({
    url,
    ...(timeout !== undefined ? { readTimeoutMs: timeout, connectTimeoutMs: timeout } : {}),
  })
  try {
    const mg = await readMetagraph(client, { netuid })
    log(values.json ? JSON.stringify(metagraphJson(mg), null, 2) : formatMetagraphTable(mg))
    return 0
  } finally {
    await client.disconnect()
  }
}

/**
 * `reliquary miner --chain … --netuid …` without `--validator`: the validator URL and hotkey found
 * on the metagraph exactly as the reference miner finds them ({@link discoverValidator}).
 * @throws {ReliquaryError} `CLI_USAGE` when `--netuid` is missing or no uid qualifies; chain errors.
 */
export async function discoverValidatorOnChain(
  o: { chain: string; netuid: string | undefined; timeoutMs?: number | undefined },
  log: (line: string) => void,
): Promise<{ url: string; hotkey: string }> {
  if (!/^wss?:\/\//.test(o.chain)) usage('--chain must be a ws:// or wss:// URL.')
  const netuid = intOption(o.netuid, 'netuid', 0) ?? usage('--chain needs --netuid <N>.')
  if (netuid > 65_535) usage('--netuid must be at most 65535.')
  const client = connectChain({
    url: o.chain,
    ...(o.timeoutMs !== undefined
      ? { readTimeoutMs: o.timeoutMs, connectTimeoutMs: o.timeoutMs }
      : {}),
  })
  try {
    const mg = await readMetagraph(client, { netuid })
    const found =
      discoverValidator(mg) ??
      usage(
        `No validator on netuid ${netuid} at block ${mg.block}: no uid has a validator permit and an axon ip.`,
        'Pass --validator <URL> and --validator-hotkey <SS58>, or wait for the validator to serve its axon.',
      )
    log(`validator found on chain: uid ${found.uid} ${found.url} (${found.hotkey})`)
    return { url: found.url, hotkey: found.hotkey }
  } finally {
    await client.disconnect()
  }
}

/** What `reliquary validator --chain …` adds to the validator: registry, weights, axon. */
export type ValidatorChainLink = {
  readonly registry: ChainRegistry
  readonly weightsSetter: (v: { ema(): ReadonlyMap<string, number> }) => WeightsSetter
  /** Announces `ip:port` with serve_axon in the background (logs the outcome). */
  serve(port: number): void
  close(): Promise<void>
}

/**
 * Connects a CLI validator to the chain: reads the metagraph once (so admission knows who is
 * registered from the first window), then refreshes it in the background; sets weights once per
 * epoch from the validator's EMA; serves the axon when `axonIp` is given. Failures are logged,
 * never thrown into the window loop.
 * @throws {ReliquaryError} `CLI_USAGE` for bad options; chain errors of the first metagraph read.
 */
export async function openValidatorChain(
  o: { chain: string; netuid: string | undefined; axonIp: string | undefined; hotkey: Hotkey },
  log: (line: string) => void,
): Promise<ValidatorChainLink> {
  if (!/^wss?:\/\//.test(o.chain)) usage('--chain must be a ws:// or wss:// URL.')
  const netuid = intOption(o.netuid, 'netuid', 0) ?? usage('--chain needs --netuid <N>.')
  if (netuid > 65_535) usage('--netuid must be at most 65535.')
  const describe = (e: unknown): string =>
    isReliquaryError(e) ? `${e.code}: ${e.shortMessage}` : String(e)
  const client = connectChain({ url: o.chain })
  const registry = createChainRegistry({
    client,
    netuid,
    onError: (e) => log(`chain: metagraph refresh failed (${describe(e)}); keeping the last one`),
  })
  const mg = await registry.refresh().catch(async (e: unknown) => {
    await client.disconnect()
    throw e
  })
  const uid = mg.uidOf(o.hotkey.address)
  log(
    `chain: netuid ${netuid} at block ${mg.block}, ${mg.neurons.length} uids; this hotkey is ${uid === undefined ? 'NOT registered' : `uid ${uid}`}`,
  )
  registry.start()
  let setter: WeightsSetter | null = null
  return {
    registry,
    weightsSetter: (v) => {
      setter = createWeightsSetter({
        client,
        hotkey: o.hotkey,
        netuid,
        ema: () => v.ema(),
        metagraph: async () => registry.metagraph() ?? (await registry.refresh()),
        onEvent: (e) =>
          log(
            e.type === 'weights_set'
              ? `chain: weights set for epoch ${e.tick.epoch} (uids ${e.tick.uids.join(',')}; u16 ${e.tick.weights.join(',')})`
              : `chain: set_weights failed (${describe(e.tick.error)}); retry at the ${e.tick.retry.replace('_', ' ')}`,
          ),
      })
      return setter
    },
    serve: (port) => {
      if (o.axonIp === undefined) return
      serveAxon(client, o.hotkey, { netuid, ip: o.axonIp, port }).then(
        () => log(`chain: axon served at ${o.axonIp}:${port}`),
        (e: unknown) => log(`chain: serve_axon failed (${describe(e)})`),
      )
    },
    close: async () => {
      await (setter as WeightsSetter | null)?.stop()
      await registry.stop()
      await client.disconnect()
    },
  }
}
