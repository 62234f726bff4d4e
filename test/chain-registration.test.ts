// Admission with a chain registry: an unregistered miner_hotkey is rejected at the handler with
// `hotkey_not_registered` (after the envelope check, before the quota); without a registry nothing
// is checked, as in the demo.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { formatHelp } from '../src/cli/_help.js'
import { parseCommand } from '../src/cli/_options.js'
import { DEMO_COMMAND, demoChainOption } from '../src/cli/toolOptions.js'
import type { Hotkey } from '../src/crypto/sr25519.js'
import { resolveDemoOptions } from '../src/demo/resolveDemoOptions.js'
import { locateLocalChain } from '../src/demo/startLocalSubtensor.js'
import { e1, e3 } from '../src/protocol/profiles.js'
import { AdmissionPipeline } from '../src/window/admission/admissionPipeline.js'
import { WindowBatcher } from '../src/window/seal/windowBatcher.js'
import {
  RANDOMNESS,
  T_ROUND,
  WINDOW,
  buildBody,
  decode,
  hotkeys,
  makeEnvironment,
  promptTokens,
  schemaOnlyVerifier,
} from './_admission.js'
import { expectCode } from './_errors.js'

let alice: Hotkey
let bob: Hotkey
beforeAll(async () => {
  ;[alice, bob] = (await hotkeys()) as [Hotkey, Hotkey]
})

function pipelineWith(isRegistered?: (h: string) => boolean | undefined): AdmissionPipeline {
  const pipeline = new AdmissionPipeline({
    profile: e3,
    environment: makeEnvironment(),
    decode,
    promptTokens,
    verifyRollout: schemaOnlyVerifier,
    ...(isRegistered ? { isRegistered } : {}),
  })
  pipeline.setActiveBatcher(new WindowBatcher({ windowStart: WINDOW, randomness: RANDOMNESS }))
  pipeline.setPhase('open')
  return pipeline
}
const at = { arrivalSeconds: T_ROUND }

describe('registration check', () => {
  test('an unregistered hotkey is hotkey_not_registered at the handler and uses no quota', async () => {
    const p = pipelineWith((h) => h === alice.address)
    const v = await p.submit(await buildBody({ hotkey: bob, promptIdx: 3 }), at)
    expect(v).toMatchObject({
      accepted: false,
      reason: 'hotkey_not_registered',
      stage: 'handler',
      check: 'registered',
    })
    expect(p.ledger.used(bob.address)).toBe(0)
    expect(p.verdicts(bob.address).verdicts.map((x) => x.reason)).toEqual(['hotkey_not_registered'])
    const ok = await p.submit(await buildBody({ hotkey: alice, promptIdx: 3 }), at)
    expect(ok).toMatchObject({ accepted: true, reason: 'submitted' })
  })

  test('a bad envelope is still bad_envelope_signature: registration runs after the signature', async () => {
    const p = pipelineWith(() => false)
    const body = { ...(await buildBody({ hotkey: bob, promptIdx: 3 })), nonce: 'tampered' }
    expect(await p.submit(body, at)).toMatchObject({ reason: 'bad_envelope_signature' })
  })

  test('no metagraph read yet: registration_unavailable (fail closed); a throwing lookup too', async () => {
    expect(
      await pipelineWith(() => undefined).submit(
        await buildBody({ hotkey: alice, promptIdx: 3 }),
        at,
      ),
    ).toMatchObject({ accepted: false, reason: 'registration_unavailable' })
    const throwing = pipelineWith(() => {
      throw new Error('boom')
    })
    expect(
      await throwing.submit(await buildBody({ hotkey: alice, promptIdx: 4 }), at),
    ).toMatchObject({ accepted: false, reason: 'registration_unavailable' })
  })

  test('without a registry nothing is checked (demo and tests)', async () => {
    const v = await pipelineWith().submit(await buildBody({ hotkey: bob, promptIdx: 3 }), at)
    expect(v).toMatchObject({ accepted: true, reason: 'submitted' })
  })
})

test('both profiles list the registration reasons (the check runs in E1 too, first in its handler)', () => {
  for (const profile of [e1, e3])
    expect(profile.rejectReasons).toEqual(
      expect.arrayContaining(['hotkey_not_registered', 'registration_unavailable']),
    )
})

test('demo --chain: the chain option is a boolean or a ws:// URL', () => {
  expect(resolveDemoOptions({}).chain).toBe(false)
  expect(resolveDemoOptions({ chain: true }).chain).toBe(true)
  expect(resolveDemoOptions({ chain: { url: 'ws://127.0.0.1:1' } }).chain).toEqual({
    url: 'ws://127.0.0.1:1',
  })
  for (const chain of [{ url: 'http://127.0.0.1:1' }, 'yes', 1])
    expectCode(() => resolveDemoOptions({ chain: chain as never }), 'INVALID_ARGUMENT')
})

test('reliquary demo --chain alone is a local node, --chain ws://… an existing one; anything else is a usage error', () => {
  const chainOf = (argv: string[], env: Record<string, string> = {}) =>
    demoChainOption(parseCommand(DEMO_COMMAND, argv, env).values.chain)
  expect(chainOf([])).toBe(false)
  expect(chainOf(['--chain'])).toBe(true)
  expect(chainOf(['--chain', '--windows', '2'])).toBe(true)
  expect(chainOf(['--chain', 'ws://127.0.0.1:8000'])).toEqual({ url: 'ws://127.0.0.1:8000' })
  expect(chainOf(['--chain=wss://node.example:443'])).toEqual({ url: 'wss://node.example:443' })
  expect(chainOf([], { RELIQUARY_DEMO_CHAIN: '1' })).toBe(true)
  expect(chainOf([], { RELIQUARY_DEMO_CHAIN: 'false' })).toBe(false)
  expect(chainOf([], { RELIQUARY_DEMO_CHAIN: 'ws://h:1' })).toEqual({ url: 'ws://h:1' })
  const e = expectCode(() => parseCommand(DEMO_COMMAND, ['--chain', 'http://h:1'], {}), 'CLI_USAGE')
  expect(e.shortMessage).toContain('--chain must be a ws:// or wss:// URL, or true/false')
  expect(formatHelp(DEMO_COMMAND)).toMatch(/--chain \[URL\] +Also run a subtensor chain/)
})

describe('demo --chain in an installed package (no development dependencies)', () => {
  const GENESIS = join(import.meta.dirname, '..', 'assets', 'chain', 'raw_spec_testfinney.json.gz')
  const project = mkdtempSync(join(tmpdir(), 'reliquary-installed-'))
  const pkg = join(project, 'node_modules', 'reliquary')
  // What npm installs: dist/ and assets/ (the genesis ships with the package), no chopsticks.
  mkdirSync(join(pkg, 'dist', 'demo'), { recursive: true })
  mkdirSync(join(pkg, 'assets', 'chain'), { recursive: true })
  copyFileSync(GENESIS, join(pkg, 'assets', 'chain', 'raw_spec_testfinney.json.gz'))
  const from = [join(pkg, 'dist', 'demo'), project]
  afterAll(() => rmSync(project, { recursive: true, force: true }))

  test('without chopsticks: CHAIN_NODE_NOT_AVAILABLE naming the install step and --chain ws://…', () => {
    {
      const e = expectCode(() => locateLocalChain(from), 'CHAIN_NODE_NOT_AVAILABLE')
      expect(e.shortMessage).toMatch(/@acala-network\/chopsticks was not found/)
      const hints = e.hints.join('\n')
      expect(hints).toContain('npm install --save-dev @acala-network/chopsticks@1.5.1')
      // The node a user starts must run the genesis the package ships.
      expect(hints).toContain(
        `gunzip -c ${join(pkg, 'assets', 'chain', 'raw_spec_testfinney.json.gz')}`,
      )
      expect(hints).toMatch(/reliquary demo --chain ws:\/\/127\.0\.0\.1:8000/)
      expect(hints).toMatch(/without --chain/)
    }
  })

  test('with chopsticks installed beside it: both found', () => {
    const p2 = mkdtempSync(join(tmpdir(), 'reliquary-installed-'))
    try {
      const pkg2 = join(p2, 'node_modules', 'reliquary')
      const cli = join(p2, 'node_modules', '@acala-network', 'chopsticks', 'chopsticks.cjs')
      mkdirSync(join(pkg2, 'dist'), { recursive: true })
      mkdirSync(join(pkg2, 'assets', 'chain'), { recursive: true })
      mkdirSync(join(cli, '..'), { recursive: true })
      writeFileSync(join(pkg2, 'assets', 'chain', 'raw_spec_testfinney.json.gz'), '')
      writeFileSync(cli, '')
      expect(locateLocalChain([join(pkg2, 'dist'), tmpdir()])).toEqual({
        chopsticks: cli,
        genesis: join(pkg2, 'assets', 'chain', 'raw_spec_testfinney.json.gz'),
      })
    } finally {
      rmSync(p2, { recursive: true, force: true })
    }
  })

  test('this checkout: chopsticks (a development dependency) and the genesis are found from the module', () => {
    const found = locateLocalChain()
    expect(found.chopsticks).toMatch(/node_modules\/@acala-network\/chopsticks\/chopsticks\.cjs$/)
    expect(found.genesis).toBe(GENESIS)
  })
})
