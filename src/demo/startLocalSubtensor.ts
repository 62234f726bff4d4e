// A local subtensor node for `reliquary demo --chain`: chopsticks on the 2023 test-network genesis
// (assets/chain, shipped with the package), offline, one block per extrinsic.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'
import { ReliquaryError } from '../errors/base.js'

/** Where the local node's program and genesis are looked for, relative to a package root. @internal */
export const LOCAL_SUBTENSOR = /*#__PURE__*/ Object.freeze({
  chopsticks: 'node_modules/@acala-network/chopsticks/chopsticks.cjs',
  chopsticksVersion: '1.5.1',
  genesis: 'assets/chain/raw_spec_testfinney.json.gz',
} as const)

/** Where the local node's program and genesis were found. @internal */
export type LocalChainFiles = { readonly chopsticks: string; readonly genesis: string }

function findUp(from: string, rel: string): string | null {
  let dir = from
  for (let i = 0; i < 12; i++) {
    if (existsSync(join(dir, rel))) return join(dir, rel)
    const up = dirname(dir)
    if (up === dir) break
    dir = up
  }
  return null
}

/**
 * Finds chopsticks and the genesis spec upwards from `from` (default: this module, then the
 * working directory). The genesis ships with the package (`assets/chain`); chopsticks is a
 * development dependency of the repository, so an installed package finds it only when the
 * project installed it too (`npm install -D @acala-network/chopsticks@1.5.1`).
 * @internal
 * @throws {ReliquaryError} `CHAIN_NODE_NOT_AVAILABLE` with the install step and the
 *   `--chain ws://…` alternative.
 */
export function locateLocalChain(
  from: readonly string[] = [dirname(fileURLToPath(import.meta.url)), process.cwd()],
): LocalChainFiles {
  const find = (rel: string): string | null =>
    from.map((d) => findUp(d, rel)).find((p) => p !== null) ?? null
  const chopsticks = find(LOCAL_SUBTENSOR.chopsticks)
  const genesis = find(LOCAL_SUBTENSOR.genesis)
  if (chopsticks && genesis) return { chopsticks, genesis }
  const v = LOCAL_SUBTENSOR.chopsticksVersion
  const spec = genesis ?? `<reliquary package>/${LOCAL_SUBTENSOR.genesis}`
  throw new ReliquaryError(
    'CHAIN_NODE_NOT_AVAILABLE',
    `reliquary demo --chain needs a local subtensor node, but ${chopsticks ? `the genesis spec (${LOCAL_SUBTENSOR.genesis})` : '@acala-network/chopsticks'} was not found.`,
    {
      hints: [
        chopsticks
          ? 'Reinstall reliquary: its package carries the genesis under assets/chain.'
          : `Install the local node next to reliquary: npm install --save-dev @acala-network/chopsticks@${v} (a repository checkout has it after npm install).`,
        `Or start a node yourself and pass its URL: gunzip -c ${spec} > genesis.json && npx @acala-network/chopsticks@${v} --genesis genesis.json --build-block-mode Instant --allow-unresolved-imports --port 8000, then reliquary demo --chain ws://127.0.0.1:8000`,
        'Or run the demo without --chain: it needs no chain.',
      ],
      meta: { searched: [...from], chopsticks, genesis },
    },
  )
}

/** A local subtensor node (chopsticks). @internal */
export type LocalSubtensor = {
  readonly url: string
  /** Ends the node and waits for it. */
  close(): Promise<void>
}

const live = new Set<ChildProcess>()
let exitHook = false

/**
 * Starts chopsticks on the genesis (unpacked into `dir`), one block per extrinsic, on a free
 * loopback port; resolves once it listens.
 * @internal
 * @throws {ReliquaryError} `CHAIN_UNAVAILABLE` when it exits or does not listen within 2 minutes.
 */
export async function startLocalSubtensor(
  files: LocalChainFiles,
  dir: string,
): Promise<LocalSubtensor> {
  await mkdir(dir, { recursive: true })
  const spec = join(dir, 'genesis.json')
  await writeFile(spec, gunzipSync(await readFile(files.genesis)))
  const args = ['--genesis', spec, '--build-block-mode', 'Instant', '--allow-unresolved-imports']
  const child = spawn(
    process.execPath,
    [files.chopsticks, ...args, '--host', '127.0.0.1', '--port', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOG_LEVEL: 'info' } },
  )
  live.add(child)
  if (!exitHook) {
    exitHook = true
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL')
    })
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  void exited.then(() => live.delete(child))
  let out = ''
  const fail = (why: string): ReliquaryError =>
    new ReliquaryError('CHAIN_UNAVAILABLE', `The local subtensor node ${why}.`, {
      hints: ['Its last output is in meta.output.'],
      meta: { output: out.slice(-2000) },
    })
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(fail('did not listen within 120 s')), 120_000)
      const onData = (d: Buffer): void => {
        out = (out + d.toString()).slice(-20_000)
        const m = /RPC listening on .*ws:\/\/[^\s]*:(\d+)/.exec(out)
        if (m) {
          clearTimeout(timer)
          resolve(Number(m[1]))
        }
      }
      child.stdout?.on('data', onData)
      child.stderr?.on('data', onData)
      child.once('exit', (code) => {
        clearTimeout(timer)
        reject(fail(`exited (${code}) before listening`))
      })
    })
    const close = async (): Promise<void> => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    }
    return { url: `ws://127.0.0.1:${port}`, close }
  } catch (e) {
    child.kill('SIGKILL')
    throw e
  }
}
