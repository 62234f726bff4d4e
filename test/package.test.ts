// The built package as a user meets it: every subpath loads from ESM and CJS, the root entry
// pulls in no TensorFlow.js, and the CLI answers --help for every command.
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, test } from 'vitest'
import { VERSION } from '../src/index.js'

const ROOT = join(import.meta.dirname, '..')
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string
  exports: Record<string, unknown>
  bin: Record<string, string>
}
const built = existsSync(join(ROOT, 'dist/index.js'))
const node = (args: string[]) =>
  execFileSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8' })

describe.skipIf(!built)('built package', () => {
  test('version constant matches package.json', () => expect(VERSION).toBe(pkg.version))

  const subpaths = Object.keys(pkg.exports).filter((k) => k !== './package.json')
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
