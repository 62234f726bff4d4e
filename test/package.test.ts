// The built package as a user meets it: every subpath loads from ESM and CJS, the root entry
// pulls in no TensorFlow.js, and the CLI answers --help for every command.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { VERSION } from '../src/index.js'
import { packedTarball } from './_pack.js'

const ROOT = join(import.meta.dirname, '..')
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string
  exports: Record<string, unknown>
  bin: Record<string, string>
}
const built = existsSync(join(ROOT, 'dist/index.js'))
const node = (args: string[]) =>
  execFileSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' })

/** Runs a tool from this repository's node_modules/.bin in the repository root. */
const tool = (bin: string, args: string[]) =>
  execFileSync(join(ROOT, 'node_modules/.bin', bin), args, {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 180_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  })

describe.skipIf(!built)('built package', () => {
  test('publint --strict finds nothing to report', () => {
    expect(tool('publint', ['--strict'])).not.toMatch(/Errors|Warnings|Suggestions/)
  })

  test('@arethetypeswrong/cli finds no problem in any entry point', async () => {
    // The run's tarball, packed with --ignore-scripts (test/_pack.ts; attw --pack would rebuild
    // dist/ under the other tests).
    const { tarball } = await packedTarball()
    let report = ''
    try {
      tool('attw', [tarball, '--format', 'ascii', '--profile', 'node16'])
    } catch (e) {
      report = String((e as { stdout?: string }).stdout ?? e)
    }
    expect(report).toBe('')
  })

  test('npm publish --dry-run accepts the package', async () => {
    // The tarball npm would upload (the run's pack, test/_pack.ts), not a second pack of ROOT.
    const { tarball } = await packedTarball()
    const out = execFileSync(
      'npm',
      ['publish', tarball, '--dry-run', '--ignore-scripts', '--json', '--tag', 'next'],
      { cwd: ROOT, encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    // npm 11 keys the report by package name; earlier versions print the report itself.
    const parsed = JSON.parse(out) as Record<string, unknown>
    const info = (parsed.reliquary ?? parsed) as { name: string; version: string; files: unknown[] }
    expect(info.name).toBe('reliquary')
    expect(info.version).toBe(pkg.version)
    expect(info.files.length).toBeGreaterThan(0)
  })

  test('the prepare build writes nothing to stdout (npm pack --json stays JSON)', () => {
    for (const script of ['prepare', 'prepack'] as const) {
      const cmd = (pkg as { scripts?: Record<string, string> }).scripts?.[script]
      if (cmd) expect(cmd, script).toMatch(/--silent 1>&2$/)
    }
  })

  test('version constant matches package.json', () => expect(VERSION).toBe(pkg.version))

  const subpaths = Object.keys(pkg.exports).filter((k) => !k.endsWith('.json'))
  test.each(subpaths)('%s loads from ESM and CJS with the same exports', (sub) => {
    const spec = sub === '.' ? 'reliquary' : `reliquary/${sub.slice(2)}`
    const esm = JSON.parse(
      node([
        '--input-type=module',
        '-e',
        `import * as m from '${spec}'; console.log(JSON.stringify(Object.keys(m).sort()))`,
      ]),
    ) as string[]
    const cjs = JSON.parse(
      node(['-e', `console.log(JSON.stringify(Object.keys(require('${spec}')).sort()))`]),
    ) as string[]
    expect(esm.length).toBeGreaterThan(0)
    expect(cjs).toEqual(esm)
  })

  test('the root entry works without loading TensorFlow.js', () => {
    const out = node([
      '-e',
      `const r = require('reliquary'); const tf = Object.keys(require.cache).filter((k) => k.includes('@tensorflow')); console.log(JSON.stringify({ tf, fn: typeof r.verifySketch }))`,
    ])
    expect(JSON.parse(out)).toEqual({ tf: [], fn: 'function' })
  })

  test.each([
    [],
    ['conformance'],
    ['bench'],
    ['verify'],
    ['manifest'],
    ['demo'],
    ['validator'],
    ['miner'],
  ])('reliquary %s --help', (...cmd) => {
    const out = node([join(ROOT, pkg.bin.reliquary!), ...cmd, '--help'])
    expect(out).toMatch(/Usage: reliquary/)
  })

  test('usage errors share one format with a suggestion; --version is in the help; bench lists grpo', () => {
    const run = (args: string[]) => {
      try {
        return { status: 0, out: node([join(ROOT, pkg.bin.reliquary!), ...args]) }
      } catch (e) {
        const x = e as { status: number; stderr: string }
        return { status: x.status, out: x.stderr }
      }
    }
    expect(run(['--help']).out).toMatch(/-v, --version +Print the version/)
    for (const [args, message] of [
      [['validatr'], /^\[CLI_USAGE\] Unknown command "validatr"\. Did you mean "validator"\?/],
      [
        ['validator', '--prot', '1'],
        /^\[CLI_USAGE\] Unknown option --prot .*Did you mean --port\?/,
      ],
      [['bench', 'nope'], /^\[CLI_USAGE\] .*Available: sketch, forward, generate, verify, grpo\./],
      [['miner', '--groups', 'x'], /^\[CLI_USAGE\] --groups must be an integer ≥ 1\./],
    ] as const) {
      const r = run([...args])
      expect(r.status, args.join(' ')).toBe(2)
      expect(r.out, args.join(' ')).toMatch(message)
      expect(r.out, args.join(' ')).not.toMatch(/\n\s+at /)
    }
  })

  test('unknown commands and bad options are usage errors (exit 2), not crashes', () => {
    for (const args of [
      ['frobnicate'],
      ['conformance'],
      ['bench', 'sketch', '--rows', 'x'],
      ['conformance', '.', '--nope'],
      ['miner'],
      ['miner', '--validator', 'ftp://x', '--validator-hotkey', '5F'],
      ['validator', '--port', 'x'],
      ['validator', '--profile', 'e9'],
      ['validator'],
      [
        'miner',
        '--profile',
        'e3-demo',
        '--validator',
        'http://127.0.0.1:1',
        '--validator-hotkey',
        '5F',
      ],
    ]) {
      let status = 0
      try {
        execFileSync(process.execPath, [join(ROOT, pkg.bin.reliquary!), ...args], {
          cwd: ROOT,
          stdio: 'pipe',
        })
      } catch (e) {
        status = (e as { status: number }).status
      }
      expect(status, args.join(' ')).toBe(2)
    }
  })
})
