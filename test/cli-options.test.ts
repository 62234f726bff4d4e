// The CLI option layer (src/cli/_options.ts): one declaration per option feeds flags, RELIQUARY_*
// environment variables, --config files and help; every usage error has one format.
import { createServer } from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { formatHelp } from '../src/cli/_help.js'
import { defineCommand, parseCommand } from '../src/cli/_options.js'
import { reportError } from '../src/cli/_report.js'
import { closest, editDistance } from '../src/cli/_suggest.js'
import { MINER_COMMAND, VALIDATOR_COMMAND } from '../src/cli/networkOptions.js'
import { manifestVerifyCommand, verifyCommand } from '../src/cli/verify.js'
import { validatorCommand } from '../src/cli/validatorCommand.js'
import * as tools from '../src/cli/toolOptions.js'
import { isReliquaryError, type ReliquaryError } from '../src/errors/base.js'

const dir = mkdtempSync(join(tmpdir(), 'reliquary-cli-options-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const CMD = defineCommand({
  name: 'thing',
  usage: 'reliquary thing [options]',
  about: 'A test command.',
  positionals: 1,
  options: {
    port: { type: 'int', min: 0, max: 65_535, default: 8080, description: 'Port' },
    'archive-dir': { type: 'string', description: 'Archives' },
    backend: { type: 'string', choices: ['wasm', 'cpu'], default: 'wasm', description: 'B' },
    relay: { type: 'list', description: 'Relays' },
    json: { type: 'boolean', description: 'JSON' },
    hotkey: { type: 'string', secret: true, env: 'RELIQUARY_HOTKEY', description: 'Secret' },
    config: { type: 'string', description: 'Config file' },
  },
})

/** The error `fn` throws (fails the test when it throws nothing). */
function thrown(fn: () => unknown): ReliquaryError {
  try {
    fn()
  } catch (e) {
    if (isReliquaryError(e)) return e
    throw e
  }
  throw new Error('expected a ReliquaryError')
}

test('edit distance counts a swap of neighbours as one; suggestions stay close', () => {
  expect(editDistance('prot', 'port')).toBe(1)
  expect(editDistance('kitten', 'sitting')).toBe(3)
  expect(closest('prot', ['port', 'profile'])).toBe('port')
  expect(closest('wams', ['wasm', 'cpu'])).toBe('wasm')
  expect(closest('archive', ['archive-dir', 'port'])).toBe('archive-dir')
  expect(closest('zzz', ['port', 'profile'])).toBeUndefined()
})

test('each option comes from the flag, else its environment variable, else the config file, else its default', () => {
  const config = join(dir, 'config.json')
  writeFileSync(config, JSON.stringify({ port: 9000, 'archive-dir': '/from/config', json: true }))
  const env = { RELIQUARY_ARCHIVE_DIR: '/from/env', RELIQUARY_CONFIG: config, RELIQUARY_PORT: '' }
  const p = parseCommand(CMD, ['x', '--relay', 'a', '--relay=b', '--backend', 'cpu'], env)
  expect(p.values).toEqual({
    port: 9000,
    'archive-dir': '/from/env',
    backend: 'cpu',
    relay: ['a', 'b'],
    json: true,
    hotkey: undefined,
    config,
  })
  expect(p.sources).toMatchObject({ port: 'config', 'archive-dir': 'env', backend: 'flag' })
  expect(p.positionals).toEqual(['x'])
  const flags = parseCommand(CMD, ['--port', '1', '--archive-dir', '/flag'], env)
  expect([flags.values.port, flags.values['archive-dir']]).toEqual([1, '/flag'])
  expect(parseCommand(CMD, [], {}).values.port).toBe(8080)
  expect(parseCommand(CMD, [], { RELIQUARY_RELAY: 'u1, u2' }).values.relay).toEqual(['u1', 'u2'])
})

test('usage errors: one format, exit code 2, a suggestion for near misses', () => {
  const cases: [string[], RegExp][] = [
    [['--prot', '1'], /^Unknown option --prot for "reliquary thing"\. Did you mean --port\?$/],
    [['--port'], /^--port needs a value\.$/],
    [['--port', '--json'], /^--port needs a value\.$/],
    [['--port', 'x'], /^--port must be an integer ≥ 0 and ≤ 65535\.$/],
    [['--port', '1.5'], /^--port must be an integer/],
    [['--backend', 'wams'], /^--backend must be one of wasm, cpu\. Did you mean "wasm"\?$/],
    [['a', 'b'], /^Unexpected argument "b"/],
    [['-x'], /^Unknown option -x/],
  ]
  for (const [argv, message] of cases) {
    const e = thrown(() => parseCommand(CMD, argv, {}))
    expect(e.code, argv.join(' ')).toBe('CLI_USAGE')
    expect(e.shortMessage, argv.join(' ')).toMatch(message)
    expect(e.hints).toEqual(["Run 'reliquary thing --help'."])
    const out: string[] = []
    expect(reportError(e, { debug: false, write: (s) => out.push(s) })).toBe(2)
    expect(out.join('')).toMatch(/^\[CLI_USAGE\] /)
  }
  const env = thrown(() => parseCommand(CMD, [], { RELIQUARY_PORT: 'many' }))
  expect(env.shortMessage).toBe('RELIQUARY_PORT (--port) must be an integer ≥ 0 and ≤ 65535.')
  expect(parseCommand(CMD, ['--prot', '--help'], {}).help).toBe(true)
})

test('a bad config file names the file and the bad key', () => {
  const write = (name: string, text: string): string => {
    const f = join(dir, name)
    writeFileSync(f, text)
    return f
  }
  const cases: [string, RegExp][] = [
    [
      write('typo.json', '{"prot": 1}'),
      /Unknown key "prot" in the config file ".*typo\.json"\. Did you mean "port"\?/,
    ],
    [
      write('bad.json', '{"port": "high"}'),
      /"port" in the config file ".*bad\.json" must be an integer ≥ 0/,
    ],
    [
      write('choice.json', '{"backend": "gpu"}'),
      /"backend" in the config file .* must be one of wasm, cpu/,
    ],
    [write('list.json', '[1]'), /must hold a JSON object/],
    [write('broken.json', '{port: 1}'), /is not JSON/],
    [join(dir, 'missing.json'), /Cannot read the config file/],
  ]
  for (const [file, message] of cases) {
    const e = thrown(() => parseCommand(CMD, ['--config', file], {}))
    expect(e.code, file).toBe('CLI_CONFIG_INVALID')
    expect(e.shortMessage, file).toMatch(message)
  }
})

test('help lists every declared option, its default and its environment variable', () => {
  const commands = [
    VALIDATOR_COMMAND,
    MINER_COMMAND,
    ...Object.values(tools).filter((c) => typeof c === 'object' && 'options' in c),
  ]
  expect(commands.length).toBeGreaterThanOrEqual(8)
  for (const c of commands) {
    const help = formatHelp(c)
    expect(help).toMatch(/^Usage: reliquary /)
    for (const name of Object.keys(c.options))
      expect(help, `${c.name} --${name}`).toContain(`--${name}`)
  }
  expect(formatHelp(VALIDATOR_COMMAND)).toMatch(
    /--port P +Listen port \(0 for any\) \(default: 8080\)/,
  )
  expect(formatHelp(VALIDATOR_COMMAND)).toMatch(/env RELIQUARY_HOTKEY/)
})

describe('typed failures of the commands', () => {
  test('verify without --randomness on a commit without a beacon is a usage error, checked before the model loads', async () => {
    const f = join(dir, 'bare.json')
    writeFileSync(f, JSON.stringify({ tokens: [1, 2], commitments: [] }))
    const e = await verifyCommand({ file: f, model: join(dir, 'no-model') }).catch((x) => x)
    expect(isReliquaryError(e, 'CLI_USAGE')).toBe(true)
    expect((e as ReliquaryError).shortMessage).toMatch(/no beacon randomness and no --randomness/)
  })

  test('validator: --precision f16 needs webgpu; --compute worker refuses the tensorflow backend', async () => {
    for (const [argv, message] of [
      [['--precision', 'f16', '--backend', 'wasm'], /--precision f16 needs --backend webgpu/],
      [
        ['--compute', 'worker', '--backend', 'tensorflow'],
        /--compute worker needs --backend wasm, cpu or webgpu/,
      ],
    ] as const) {
      const e = await validatorCommand(
        ['--profile', 'e3-demo', '--state-dir', join(dir, 'state'), ...argv],
        () => undefined,
      ).catch((x) => x)
      expect(isReliquaryError(e, 'CLI_USAGE'), argv.join(' ')).toBe(true)
      expect((e as ReliquaryError).shortMessage).toMatch(message)
    }
  })

  test('manifest verify on an unreachable URL or an error status is NETWORK_REQUEST_FAILED (exit 1, no stack)', async () => {
    const server = createServer((_, res) => res.writeHead(404).end('nope'))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const { port } = server.address() as { port: number }
    const status = await manifestVerifyCommand({
      source: `http://127.0.0.1:${port}/m`,
      validator: '5F',
    }).catch((x) => x)
    await new Promise((r) => server.close(r))
    expect(isReliquaryError(status, 'NETWORK_REQUEST_FAILED')).toBe(true)
    expect((status as ReliquaryError).shortMessage).toMatch(/answered HTTP 404/)
    const down = await manifestVerifyCommand({
      source: `http://127.0.0.1:${port}/m`,
      validator: '5F',
    }).catch((x) => x)
    expect(isReliquaryError(down, 'NETWORK_REQUEST_FAILED')).toBe(true)
    expect((down as ReliquaryError).shortMessage).toMatch(/ECONNREFUSED/)
    const out: string[] = []
    expect(reportError(down, { debug: false, write: (s) => out.push(s) })).toBe(1)
    expect(out.join('')).not.toMatch(/\n\s+at /)
    out.length = 0
    expect(reportError(new Error('boom'), { debug: false, write: (s) => out.push(s) })).toBe(3)
    expect(out.join('')).toMatch(/Unexpected error[\s\S]*\n\s+at /)
  })
})
