// The chain end to end: `reliquary demo --chain` as a user runs it (the demo starts its own local
// subtensor node; a validator with a tiny model, a miner, weights set through the weights setter
// at the epoch's lead and read back from `Weights`), then, on a node the test starts, a validator
// process and a miner process that finds it through serve_axon + the metagraph, and a stranger's
// submission refused with `hotkey_not_registered`.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type ApiPromise, Keyring } from '@polkadot/api'
import type { KeyringPair } from '@polkadot/keyring/types'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createHotkey } from '../src/crypto/sr25519.js'
import { DEMO_CHAIN } from '../src/demo/chainStep.js'
import { runDemo, type RunDemoReturnType } from '../src/demo/runDemo.js'
import { buildBody } from './_admission.js'
import {
  KEY_URIS,
  SUBNET,
  adminApi,
  chainKeys,
  setupSubnet,
  startLocalChain,
  type LocalChain,
} from './_chain.js'

const ROOT = join(import.meta.dirname, '..')
const CLI = join(ROOT, 'dist/cli/main.js')
let dir: string
/** Demo windows: weights are set at boot and after each window, at the next epoch's lead. */
const WINDOWS = 2
let demo: RunDemoReturnType
const demoLines: string[] = []
const children: ChildProcess[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reliquary-chain-e2e-'))
  demo = await runDemo({
    chain: true,
    windows: WINDOWS,
    miners: ['frontier'],
    evalPrompts: 0,
    out: join(dir, 'report.html'),
    workDir: join(dir, 'demo'),
    log: (l) => demoLines.push(l),
  })
}, 420_000)

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
  if (dir) await rm(dir, { recursive: true, force: true })
})

/** Spec 103 (the genesis runtime) stores weights renormalised to sum 65535, rounding down. */
function normalisedBySpec103(weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + BigInt(b), 0n)
  return weights.map((w) => Number((BigInt(w) * 65_535n) / sum))
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => {
      s.destroy()
      resolve(true)
    })
    s.once('error', () => resolve(false))
  })
}

describe('reliquary demo --chain', () => {
  test('the demo starts its own local node, and stops it at the end', async () => {
    const started = demoLines.filter((l) => l.startsWith('chain: local subtensor started at '))
    expect(started).toHaveLength(1)
    const port = Number(/ws:\/\/127\.0\.0\.1:(\d+), subnet 1 created$/.exec(started[0]!)?.[1])
    expect(port).toBeGreaterThan(0)
    expect(await listening(port)).toBe(false)
  })

  test('the validator sets its EMA weights at the epoch lead; Weights read back equals the vector sent', () => {
    const c = demo.chain!
    expect(c).not.toBeNull()
    expect(c.specVersion).toBe(103)
    // At boot (all to the burn uid), then after each window at the next epoch's lead.
    expect(demoLines.find((l) => l.startsWith('chain: boot: weights set'))).toMatch(
      /\(uids 0; u16 65535\)$/,
    )
    expect(c.sets).toBe(WINDOWS + 1)
    const epochs: number[] = []
    for (let w = 1; w <= WINDOWS; w++) {
      const line = demoLines.find((l) => l.startsWith(`chain: window ${w}: weights set`))
      const m = /, (\d+) block\(s\) before epoch (\d+)/.exec(line ?? '')
      expect(m, `window ${w}'s weights line`).not.toBeNull()
      expect(Number(m![1])).toBeLessThanOrEqual(DEMO_CHAIN.leadBlocks)
      epochs.push(Number(m![2]))
    }
    // One set per epoch: each window's weights went out before a later epoch than the last.
    expect(epochs).toEqual([...epochs].sort((a, b) => a - b))
    expect(new Set(epochs).size).toBe(WINDOWS)
    // uids ascending: the burn uid (the validator, uid 0) and the miner (uid 1), u16 max-upscaled.
    const frontier = demo.miners[0]!
    expect(c.rows.map((r) => r.uid)).toEqual([0, 1])
    expect(c.rows[1]).toMatchObject({ hotkey: frontier.hotkey, ema: frontier.emaWeight })
    const pool = demo.profile.scoring.pool
    expect(frontier.emaWeight).toBeGreaterThan(0)
    // The Bittensor SDK's quantisation of [pool − ema, ema] (burn first): max → 65535.
    const burn = pool - frontier.emaWeight
    expect(c.rows.map((r) => r.sent)).toEqual([
      65_535,
      Math.round((frontier.emaWeight / burn) * 65_535),
    ])
    // The validator's `Weights` row, read from the chain before the node stopped.
    expect(c.rows.map((r) => r.stored)).toEqual(normalisedBySpec103(c.rows.map((r) => r.sent)))
    expect(c.matches).toBe(true)
  })

  test('the summary and the HTML report show the weights read back beside the EMA', async () => {
    expect(demo.text).toMatch(
      /weights on chain \(netuid 1, validator uid 0, read back at block \d+/,
    )
    expect(demo.text).toMatch(
      /uid 1 +frontier \(honest\) +EMA +0\.\d+ +u16 sent +\d+ +on chain +\d+/,
    )
    const html = await readFile(join(dir, 'report.html'), 'utf8')
    expect(html).toContain('<h2>Weights on chain</h2>')
    expect(html).toContain(`<td>${demo.chain!.rows[1]!.stored}</td>`)
  })
})

/** Starts the built CLI; lines go to `onLine`. */
function cli(
  args: string[],
  onLine: (line: string) => void,
  env: Record<string, string> = {},
): { done: Promise<number | null> } {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: dir,
    env: { ...process.env, RELIQUARY_HOTKEY: '', ...env },
  })
  children.push(child)
  let partial = ''
  const onData = (d: Buffer): void => {
    partial += d.toString()
    const lines = partial.split('\n')
    partial = lines.pop()!
    for (const l of lines) onLine(l)
  }
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  return { done: new Promise((resolve) => child.on('exit', (code) => resolve(code))) }
}

describe.skipIf(!existsSync(CLI))('validator and miner processes on the chain', () => {
  const { netuid } = SUBNET
  let node: LocalChain
  let admin: ApiPromise
  let home: string
  // The validator signs with a btcli wallet under its ~/.bittensor (HOME is a temporary directory).
  let wallet: KeyringPair
  beforeAll(async () => {
    node = await startLocalChain()
    admin = await adminApi(node.url)
    const keys = await chainKeys()
    const seed = `0x${'5e'.repeat(32)}`
    wallet = new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromUri(seed)
    home = join(dir, 'home')
    const hotkeys = join(home, '.bittensor', 'wallets', 'vali', 'hotkeys')
    await mkdir(hotkeys, { recursive: true })
    await writeFile(
      join(hotkeys, 'default'),
      JSON.stringify({ secretSeed: seed, ss58Address: wallet.address }),
    )
    await setupSubnet(admin, { ...keys, validator: wallet })
  }, 150_000)
  afterAll(async () => {
    await admin?.disconnect()
    await node?.kill()
  })

  test('a miner without --validator finds the validator on chain and submits; a stranger is hotkey_not_registered', async () => {
    const vLines: string[] = []
    const mLines: string[] = []
    let url = ''
    let minerArgs: string[] | null = null
    let miner: { done: Promise<number | null> } | null = null
    const startMiner = (): void => {
      if (miner || !minerArgs || !vLines.some((l) => l.startsWith('chain: axon served'))) return
      miner = cli(minerArgs, (l) => mLines.push(l))
    }
    const validator = cli(
      [
        'validator',
        '--profile',
        'e3-demo',
        '--wallet.name',
        'vali',
        '--chain',
        node.url,
        '--netuid',
        String(netuid),
        '--axon-ip',
        '127.0.0.2',
        '--host',
        '127.0.0.2',
        '--port',
        '0',
        '--windows',
        '1',
        '--archive-dir',
        join(dir, 'validator'),
      ],
      (line) => {
        vLines.push(line)
        url ||= /listening on (http:\/\/\S+)/.exec(line)?.[1] ?? ''
        const m = /^\s+npx reliquary miner (.*)$/.exec(line)
        if (m) {
          // The printed command without --validator / --validator-hotkey: the chain provides both.
          const drand = /--drand-genesis \d+ --drand-period \d+/.exec(m[1]!)![0].split(' ')
          minerArgs = [
            'miner',
            '--profile',
            'e3-demo',
            ...drand,
            '--chain',
            node.url,
            '--netuid',
            String(netuid),
            '--hotkey',
            KEY_URIS.miners[0],
            '--groups',
            '4',
            '--windows',
            '1',
            '--cache-dir',
            join(dir, 'miner'),
          ]
        }
        startMiner()
      },
      { HOME: home },
    )
    // The miner fills the window (it seals on its trigger), then both processes exit.
    for (let i = 0; i < 1200 && !miner; i++) await new Promise((r) => setTimeout(r, 100))
    expect(miner, vLines.join('\n')).not.toBeNull()

    // A stranger's well-signed submission to the same validator, in its open window.
    let state: { window_n: number; randomness: string } | null = null
    for (let i = 0; i < 600 && !state; i++) {
      const r = await fetch(`${url}/state`)
      if (r.status === 200) state = (await r.json()) as { window_n: number; randomness: string }
      else await new Promise((ok) => setTimeout(ok, 100))
    }
    if (!state) throw new Error(`no open window:\n${vLines.join('\n')}`)
    const stranger = await createHotkey(KEY_URIS.stranger)
    const body = await buildBody({
      hotkey: stranger,
      promptIdx: 0,
      windowStart: state.window_n,
      randomness: state.randomness,
    })
    const res = await fetch(`${url}/submit`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    expect(await res.json()).toEqual({ accepted: false, reason: 'hotkey_not_registered' })

    // The miner found the validator on chain, and the validator accepts its submissions. Both
    // processes are stopped there: the window's training is the CLI network test's business.
    const minerKey = await createHotkey(KEY_URIS.miners[0])
    let verdicts: { accepted: boolean; reason: string }[] = []
    for (let i = 0; i < 2400 && !verdicts.some((v) => v.accepted); i++) {
      await new Promise((ok) => setTimeout(ok, 100))
      const r = await fetch(`${url}/verdicts/${minerKey.address}`).catch(() => null)
      if (r?.status === 200) verdicts = ((await r.json()) as { verdicts: typeof verdicts }).verdicts
    }
    const mOut = mLines.join('\n')
    expect(mOut).toMatch(
      new RegExp(
        `validator found on chain: uid 0 http://127\\.0\\.0\\.2:\\d+ \\(${wallet.address}\\)`,
      ),
    )
    expect(
      verdicts.map((v) => v.reason),
      `${mOut}\n${vLines.join('\n')}`,
    ).toContain('accepted')
    for (const c of children) c.kill('SIGKILL')
    await Promise.all([validator.done, miner!.done])
  }, 300_000)
})
