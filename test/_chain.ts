// A real subtensor chain for the tests: chopsticks on the 2023 test-network genesis
// (assets/chain, see PROVENANCE.md), offline, one block per extrinsic.
import { type ChildProcess, spawn } from 'node:child_process'
import { rename, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'
import { existsSync, readFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { ApiPromise, Keyring, WsProvider } from '@polkadot/api'
import type { SubmittableExtrinsic } from '@polkadot/api/types'
import type { KeyringPair } from '@polkadot/keyring/types'
import type { ProviderInterface } from '@polkadot/rpc-provider/types'
import { cryptoWaitReady } from '@polkadot/util-crypto'

const here = dirname(fileURLToPath(import.meta.url))
const SPEC_GZ = join(here, '..', 'assets', 'chain', 'raw_spec_testfinney.json.gz')
const CHOPSTICKS = join(
  here,
  '..',
  'node_modules',
  '@acala-network',
  'chopsticks',
  'chopsticks.cjs',
)

/** A running chopsticks process. */
export type LocalChain = {
  readonly url: string
  readonly port: number
  readonly pid: number
  readonly process: ChildProcess
  /** Output so far (for failure messages). */
  log(): string
  /** Ends the process (SIGKILL) and waits for it. */
  kill(): Promise<void>
}

let specFile: Promise<string> | null = null
const children = new Set<ChildProcess>()
process.once('exit', () => {
  for (const c of children) c.kill('SIGKILL')
})

function spec(): Promise<string> {
  // One gunzipped copy per spec content, reused by every run (nothing accumulates in tmp).
  specFile ??= (async () => {
    const gz = readFileSync(SPEC_GZ)
    const tag = createHash('sha256').update(gz).digest('hex').slice(0, 12)
    const file = join(tmpdir(), `reliquary-chain-spec-${tag}.json`)
    if (!existsSync(file)) {
      const part = `${file}.${process.pid}.part`
      await writeFile(part, gunzipSync(gz))
      await rename(part, file)
    }
    return file
  })()
  return specFile
}

/** Starts chopsticks on `port` (0: a free one) and resolves once it listens. */
export async function startLocalChain(options: { port?: number } = {}): Promise<LocalChain> {
  const genesis = await spec()
  const child = spawn(
    process.execPath,
    [
      CHOPSTICKS,
      '--genesis',
      genesis,
      '--build-block-mode',
      'Instant',
      '--allow-unresolved-imports',
      '--host',
      '127.0.0.1',
      '--port',
      String(options.port ?? 0),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info' } },
  )
  children.add(child)
  let out = ''
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      children.delete(child)
      resolve()
    }),
  )
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`chopsticks did not start:\n${out.slice(-2000)}`)),
      90_000,
    )
    const onData = (d: Buffer): void => {
      out = (out + d.toString()).slice(-20_000)
      const m = /RPC listening on .*ws:\/\/[^\s]*:(\d+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`chopsticks exited (${code}):\n${out.slice(-2000)}`))
    })
  })
  return {
    url: `ws://127.0.0.1:${port}`,
    port,
    pid: child.pid!,
    process: child,
    log: () => out,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGCONT')
        child.kill('SIGKILL')
      }
      await exited
    },
  }
}

/** Test keys: sudo (Alice), the validator, miners, a stranger (never registered). */
export type ChainKeys = {
  readonly sudo: KeyringPair
  readonly validator: KeyringPair
  readonly miners: readonly KeyringPair[]
  readonly stranger: KeyringPair
}

/** The dev URIs of {@link ChainKeys} (`createHotkey(uri)` gives the same keys). */
export const KEY_URIS = {
  sudo: '//Alice',
  validator: '//Validator',
  miners: ['//Miner1', '//Miner2'],
  stranger: '//Stranger',
} as const

export async function chainKeys(): Promise<ChainKeys> {
  await cryptoWaitReady()
  const k = new Keyring({ type: 'sr25519', ss58Format: 42 })
  return {
    sudo: k.addFromUri(KEY_URIS.sudo),
    validator: k.addFromUri(KEY_URIS.validator),
    miners: KEY_URIS.miners.map((u) => k.addFromUri(u)),
    stranger: k.addFromUri(KEY_URIS.stranger),
  }
}

/** An admin connection (test-only; the SDK's own client is under test elsewhere). */
export async function adminApi(url: string): Promise<ApiPromise> {
  return ApiPromise.create({
    provider: new WsProvider(url) as unknown as ProviderInterface,
    noInitWarn: true,
  })
}

/**
 * Signs as `who` with an immortal era (dev_setStorage rewrites the head block, which a mortal era
 * would reference: badProof), submits, and resolves at finality with the event names; rejects on a
 * dispatch error.
 */
export function sendAndFinalize(
  tx: SubmittableExtrinsic<'promise'>,
  who: KeyringPair,
  nonce = -1,
): Promise<string[]> {
  return new Promise((resolve, reject) => {
    tx.signAndSend(who, { era: 0, nonce }, (r) => {
      if (!r.status.isFinalized) return
      const names = r.events.map((e) => `${e.event.section}.${e.event.method}`)
      const sudid = r.events.find((e) => e.event.method === 'Sudid')
      const failed = sudid && JSON.stringify(sudid.event.data.toJSON()).includes('err')
      if (r.dispatchError || failed)
        reject(
          new Error(`failed: ${names.join(' ')} ${JSON.stringify(sudid?.event.data.toJSON())}`),
        )
      else resolve(names)
    }).catch(reject)
  })
}

/** Runs `calls` as sudo, one block each. */
export async function sudo(
  api: ApiPromise,
  keys: ChainKeys,
  ...calls: SubmittableExtrinsic<'promise'>[]
): Promise<void> {
  // The nonce is counted here: right after a block the node's next-index can still be stale.
  const account = (await api.query.system!.account!(keys.sudo.address)).toJSON() as {
    nonce: number
  }
  let n = account.nonce
  for (const c of calls) await sendAndFinalize(api.tx.sudo!.sudo!(c), keys.sudo, n++)
}

/** Builds `count` empty blocks. */
export async function newBlocks(api: ApiPromise, count: number): Promise<void> {
  await api.rpc('dev_newBlock', { count })
}

/** Head block number. */
export async function headBlock(api: ApiPromise): Promise<number> {
  return (await api.rpc.chain.getHeader()).number.toNumber()
}

/** Subnet settings of {@link setupSubnet}. */
export const SUBNET = { netuid: 1, tempo: 10, validatorStakeRao: 1_000_000_000_000 } as const

/**
 * Makes Alice sudo (dev_setStorage), creates subnet 1 (tempo 10, one validator slot, one weight
 * minimum, no weight cap, no rate limit), registers the validator with stake and the miners
 * without, then builds blocks up to the first epoch so the validator gets its permit.
 */
export async function setupSubnet(api: ApiPromise, keys: ChainKeys): Promise<void> {
  await api.rpc('dev_setStorage', {
    Sudo: { Key: keys.sudo.address },
    System: {
      Account: [[[keys.sudo.address], { providers: 1, data: { free: '1000000000000000000' } }]],
    },
  })
  const st = api.tx.subtensorModule!
  const { netuid, tempo } = SUBNET
  await sudo(
    api,
    keys,
    st.sudoAddNetwork!(netuid, tempo, 0),
    st.sudoSetMinAllowedWeights!(netuid, 1),
    st.sudoSetMaxWeightLimit!(netuid, 65_535),
    st.sudoSetMaxAllowedValidators!(netuid, 1),
    st.sudoSetServingRateLimit!(netuid, 0),
    st.sudoRegister!(
      netuid,
      keys.validator.address,
      keys.sudo.address,
      SUBNET.validatorStakeRao,
      1e12,
    ),
    ...keys.miners.map((m) => st.sudoRegister!(netuid, m.address, keys.sudo.address, 0, 1e12)),
  )
  // Permits are handed out at the subnet's epoch: (block + netuid + 1) % (tempo + 1) === 0.
  const head = await headBlock(api)
  const toEpoch = tempo - ((head + netuid + 1) % (tempo + 1))
  await newBlocks(api, toEpoch + 1)
}
