// The packed tarball as a user meets it. A fresh project installs it offline from the npm cache:
// first alone (what a verify-only user gets: no TensorFlow.js, under 30 MB), then with the TF.js
// peers and the user's own tools. It is imported from ESM and CommonJS, type-checked by tsc with
// node16 and bundler resolution and no skipLibCheck, runs the README's notebook snippet under
// ts-node and tsx, and runs every example file copied into it.
import { execFileSync } from 'node:child_process'
import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { consumerLock } from './_consumerLock.js'
import { packedTarball } from './_pack.js'

const ROOT = join(import.meta.dirname, '..')
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string
  version: string
  exports: Record<string, unknown>
  peerDependencies: Record<string, string>
  devDependencies: Record<string, string>
}
const repoLock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8'))
const PEERS = Object.keys(pkg.peerDependencies)
/** The user's own tools, in the versions this repository uses. */
const TOOLS = ['typescript', '@types/node', 'ts-node', 'tsx']
const README = readFileSync(join(ROOT, 'README.md'), 'utf8')
const EXAMPLES = readdirSync(join(ROOT, 'examples')).filter((f) => f.endsWith('.ts'))
/** What an example's output must show, where it has a definite outcome. */
const EXPECT: Record<string, RegExp> = {
  // The local validator's worker judges the miner's proofs: at least one group is accepted.
  'custom-miner.ts': /verdict [0-9a-f]{12}…: accepted/,
  // No miner: the window opens and ends on its timeout.
  'minimal-validator.ts': /window 1: timeout, batch 0, trained false/,
  // The reference judged both shipped proofs valid; the SDK agrees on every number.
  'verify-reference-proof.ts': /proof 8: valid=true passed=32\/32/,
  'sign-submission.ts': /envelope verifies: true/,
}
const MB = 1024 * 1024

/** Bytes of every file under `dir` (links not followed), as `du` would count content. */
function treeBytes(dir: string): number {
  let total = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(entry.parentPath, entry.name)
    if (entry.isDirectory()) total += treeBytes(p)
    else if (entry.isFile()) total += lstatSync(p).size
  }
  return total
}
/** The fenced block of `lang` that follows `marker` in the README. */
function readmeBlock(marker: string, lang: string): string {
  const at = README.indexOf(marker)
  expect(at, `README marker ${marker}`).toBeGreaterThan(-1)
  const start = README.indexOf(`\`\`\`${lang}\n`, at) + lang.length + 4
  return README.slice(start, README.indexOf('```', start))
}

const built = existsSync(join(ROOT, 'dist/index.js'))
const work = mkdtempSync(join(tmpdir(), 'reliquary-consumer-'))
const project = join(work, 'project')
afterAll(() => rmSync(work, { recursive: true, force: true }), 120_000)

const run = (cmd: string, args: string[], timeout = 120_000): string =>
  execFileSync(cmd, args, {
    cwd: project,
    encoding: 'utf8',
    timeout,
    env: { ...process.env, npm_config_update_notifier: 'false' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
const node = (args: string[], timeout?: number) => run(process.execPath, args, timeout)
const npm = (args: string[]) => run('npm', [...args, '--no-audit', '--no-fund'], 300_000)
/**
 * `npm ci --offline` of the tarball and `also`, from a lock cut from this repository's; `add`: the
 * same lock, but `npm install --offline` on the installed tree (it adds only what is missing).
 */
function install(tarball: string, also: readonly string[], how: 'ci' | 'add' = 'ci'): void {
  const { dependencies, lock } = consumerLock({
    repoLock,
    manifest: pkg,
    tarballSpec: `file:../${tarball.split('/').pop()}`,
    also,
    registry: run('npm', ['config', 'get', 'registry']).trim(),
  })
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies }, null, 2),
  )
  writeFileSync(join(project, 'package-lock.json'), JSON.stringify(lock, null, 2))
  npm([how === 'ci' ? 'ci' : 'install', '--offline'])
}
/** tsc's diagnostics (stdout and stderr), or '' when it passes. */
function tsc(args: string[]): string {
  try {
    return node([join(project, 'node_modules/typescript/bin/tsc'), ...args])
  } catch (e) {
    const { stdout, stderr, status } = e as { stdout?: string; stderr?: string; status?: number }
    return `exit ${status}\n${stdout ?? ''}${stderr ?? ''}` || String(e)
  }
}

describe.skipIf(!built)('the packed package in a fresh project', () => {
  let tarball = ''
  const sizes = { verifyOnly: 0, withTfjs: 0 }

  test('npm pack --json prints only JSON, and the tarball holds each source once', async () => {
    mkdirSync(project)
    // With scripts: the `prepare` build must keep stdout clean (CI runs `npm pack --json`
    // with scripts once, in .ci/run; here the build is already done). The run's one pack
    // (test/_pack.ts) parses npm's stdout as JSON.
    const packed = await packedTarball()
    tarball = join(work, packed.info.filename)
    copyFileSync(packed.tarball, tarball)
    const paths = packed.info.files.map((f) => f.path)
    expect(paths).toContain('LICENSE')
    expect(paths).toContain('CHANGELOG.md')
    expect(paths).toContain('assets/vectors/qwen3-proofs.json')
    expect(paths.filter((p) => /\.test\.ts$|^test\//.test(p))).toEqual([])
    // The code ships once: dist/ only, no source maps, no src/.
    expect(paths.filter((p) => p.endsWith('.map') || p.startsWith('src/'))).toEqual([])
  })

  test('installed alone (offline) it brings no TensorFlow.js and stays under 30 MB', () => {
    install(tarball, [])
    expect(existsSync(join(project, 'node_modules/@tensorflow'))).toBe(false)
    expect(existsSync(join(project, 'node_modules/@huggingface/hub'))).toBe(false)
    sizes.verifyOnly = treeBytes(join(project, 'node_modules'))
    console.log(`verify-only install: ${(sizes.verifyOnly / MB).toFixed(1)} MB`)
    expect(sizes.verifyOnly).toBeLessThan(30 * MB)
  })

  test('the root entry works from ESM and CommonJS without TF.js', () => {
    const esm = node([
      '--input-type=module',
      '-e',
      "import { verifySketch, e3 } from 'reliquary'; console.log(typeof verifySketch, e3.id)",
    ])
    expect(esm.trim()).toBe('function e3')
    const cjs = node(['-e', "const r = require('reliquary'); console.log(typeof r.computeSketch)"])
    expect(cjs.trim()).toBe('function')
  })

  const TF_HUB = 'npm install @tensorflow/tfjs-core@^4.22.0'
  test.each([
    ['reliquary/model', 'import', 'TFJS_NOT_AVAILABLE', TF_HUB],
    ['reliquary/grpo', 'import', 'TFJS_NOT_AVAILABLE', TF_HUB],
    ['reliquary/model', 'require', 'TFJS_NOT_AVAILABLE', TF_HUB],
    ['reliquary/hub', 'import', 'HUB_NOT_AVAILABLE', TF_HUB],
    ['reliquary/hub', 'require', 'HUB_NOT_AVAILABLE', TF_HUB],
    ['reliquary/chain', 'import', 'CHAIN_CLIENT_NOT_AVAILABLE', 'npm install @polkadot/api@^16'],
  ])(
    '%s without its optional peers (%s) throws %s with the install command',
    (spec, how, expected, command) => {
      const load = how === 'import' ? `await import('${spec}')` : `require('${spec}')`
      const out = node([
        ...(how === 'import' ? ['--input-type=module'] : []),
        '-e',
        `try { ${load}; console.log('loaded') } catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })) }`,
      ])
      const { code, message } = JSON.parse(out) as { code: string; message: string }
      expect(code).toBe(expected)
      expect(message).toContain(command)
    },
  )

  test('with the runtime peers every entry point loads from ESM and CommonJS', () => {
    install(tarball, PEERS)
    sizes.withTfjs = treeBytes(join(project, 'node_modules'))
    console.log(
      `with the runtime peers: ${(sizes.withTfjs / MB).toFixed(1)} MB (+${((sizes.withTfjs - sizes.verifyOnly) / MB).toFixed(1)} MB)`,
    )
    // reliquary/chain is left out: @polkadot/api-derive 16.5.6's own declarations name lookup types
    // that only its runtime augmentation defines, so it fails without skipLibCheck whatever imports
    // it (the README's chain section says so).
    const subpaths = Object.keys(pkg.exports).filter(
      (k) => !/package\.json$|\.json$/.test(k) && k !== './chain',
    )
    const specs = subpaths.map((s) => (s === '.' ? 'reliquary' : `reliquary/${s.slice(2)}`))
    const esm = node([
      '--input-type=module',
      '-e',
      `for (const s of ${JSON.stringify(specs)}) { const m = await import(s); if (Object.keys(m).length === 0) throw new Error(s) }; console.log('ok')`,
    ])
    expect(esm.trim()).toBe('ok')
    const cjs = node([
      '-e',
      `for (const s of ${JSON.stringify(specs)}) { if (Object.keys(require(s)).length === 0) throw new Error(s) }; console.log('ok')`,
    ])
    expect(cjs.trim()).toBe('ok')
    // The user's tools beside the peers (the tree stays what `npm ci` of the whole lock gives).
    install(tarball, [...PEERS, ...TOOLS], 'add')
  })

  test.each([
    ['node16', { module: 'node16', moduleResolution: 'node16' }],
    ['bundler', { module: 'esnext', moduleResolution: 'bundler' }],
  ])('tsc with %s resolution and no skipLibCheck type-checks every entry point', (_, mode) => {
    // reliquary/chain is left out: @polkadot/api-derive 16.5.6's own declarations name lookup types
    // that only its runtime augmentation defines, so it fails without skipLibCheck whatever imports
    // it (the README's chain section says so).
    const subpaths = Object.keys(pkg.exports).filter(
      (k) => !/package\.json$|\.json$/.test(k) && k !== './chain',
    )
    writeFileSync(
      join(project, 'entries.ts'),
      subpaths
        .map(
          (s, i) =>
            `import * as m${i} from '${s === '.' ? 'reliquary' : `reliquary/${s.slice(2)}`}'`,
        )
        .concat(`export const all = [${subpaths.map((_s, i) => `m${i}`).join(', ')}]`)
        .join('\n'),
    )
    const tsconfig = {
      compilerOptions: {
        ...mode,
        target: 'es2022',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
      },
      files: ['entries.ts'],
    }
    writeFileSync(join(project, 'tsconfig.check.json'), JSON.stringify(tsconfig))
    expect(tsc(['-p', 'tsconfig.check.json'])).toBe('')
  })

  test('the README notebook snippet runs under ts-node (ESM, the README tsconfig) and tsx', () => {
    writeFileSync(join(project, 'tsconfig.json'), readmeBlock('<!-- notebook-tsconfig -->', 'json'))
    writeFileSync(join(project, 'notebook.ts'), readmeBlock('<!-- notebook-snippet -->', 'ts'))
    // As the README says: `node --loader ts-node/esm` (the ts-node binary fails on Node 20 ESM).
    const tsNode = node(['--loader', 'ts-node/esm', 'notebook.ts'])
    const tsx = node([join(project, 'node_modules/tsx/dist/cli.mjs'), 'notebook.ts'])
    expect(tsNode).toMatch(/sketch verifies: true/)
    expect(tsx).toBe(tsNode)
  })

  test.each(EXAMPLES)('examples/%s runs as copied into the project', (file) => {
    copyFileSync(join(ROOT, 'examples', file), join(project, file))
    const out = node([join(project, 'node_modules/tsx/dist/cli.mjs'), file], 180_000)
    expect(out.length).toBeGreaterThan(0)
    if (EXPECT[file]) expect(out).toMatch(EXPECT[file])
  })
})
