// Install sizes, measured as a user meets them: the packed tarball installed offline (from the
// npm cache) into an empty project, alone and with the runtime's optional peers; baseline in the
// same run: the dependency set of an earlier revision (default 1f05387, which depended on the
// @tensorflow/tfjs umbrella) installed the same way.
//
//   npx tsx bench/install-size.ts [--baseline REV]
//
// Needs dist/ (npm run build) and a warm npm cache (npm ci). Sizes are the bytes of every file
// under node_modules (apparent size; `du` also counts block overhead).
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, lstatSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { consumerLock } from '../test/_consumerLock.js'
import { benchArgs } from './_args.js'

const values = benchArgs({ baseline: { type: 'string', default: '1f05387' } })
const ROOT = join(import.meta.dirname, '..')
const sh = (cmd: string, args: string[], cwd = ROOT) =>
  execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
const treeBytes = (dir: string): number =>
  readdirSync(dir, { withFileTypes: true }).reduce((n, e) => {
    const p = join(dir, e.name)
    return n + (e.isDirectory() ? treeBytes(p) : e.isFile() ? lstatSync(p).size : 0)
  }, 0)
const MB = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MB`

const work = mkdtempSync(join(tmpdir(), 'reliquary-install-size-'))
const registry = sh('npm', ['config', 'get', 'registry']).trim()
function installInto(
  name: string,
  manifest: Parameters<typeof consumerLock>[0]['manifest'],
  repoLock: Parameters<typeof consumerLock>[0]['repoLock'],
  tarball: string,
  also: string[],
): { bytes: number; packages: number; seconds: number } {
  const project = join(work, name)
  mkdirSync(project)
  const { dependencies, lock } = consumerLock({
    repoLock,
    manifest,
    tarballSpec: `file:${tarball}`,
    also,
    registry,
  })
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name, private: true, dependencies }),
  )
  writeFileSync(join(project, 'package-lock.json'), JSON.stringify(lock))
  const t0 = performance.now()
  sh('npm', ['ci', '--offline', '--no-audit', '--no-fund'], project)
  const seconds = (performance.now() - t0) / 1000
  const packages = Object.keys((lock as { packages: object }).packages).length - 1
  return { bytes: treeBytes(join(project, 'node_modules')), packages, seconds }
}

try {
  const manifest = JSON.parse(sh('cat', ['package.json']))
  const lock = JSON.parse(sh('cat', ['package-lock.json']))
  const [packed] = JSON.parse(
    sh('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work]),
  )
  const tarball = join(work, packed.filename)
  const peers = Object.keys(manifest.peerDependencies ?? {})
  const rows: [string, ReturnType<typeof installInto>][] = [
    ['reliquary alone (protocol)', installInto('alone', manifest, lock, tarball, [])],
    ['reliquary + runtime peers', installInto('runtime', manifest, lock, tarball, peers)],
  ]
  // Baseline: the earlier revision's manifest and lock, with the same tarball standing in for the
  // package itself (its own files are a few MB either way; the dependencies are the difference).
  const oldManifest = JSON.parse(sh('git', ['show', `${values.baseline}:package.json`]))
  const oldLock = JSON.parse(sh('git', ['show', `${values.baseline}:package-lock.json`]))
  rows.push([
    `dependencies of ${values.baseline} (@tensorflow/tfjs umbrella)`,
    installInto('baseline', oldManifest, oldLock, tarball, []),
  ])
  console.log(
    `tarball: ${packed.filename}, ${MB(packed.size)} packed, ${MB(packed.unpackedSize)} unpacked, ${packed.entryCount} files`,
  )
  console.log('| install | node_modules | packages | npm ci --offline |')
  console.log('|---|---|---|---|')
  for (const [label, r] of rows)
    console.log(`| ${label} | ${MB(r.bytes)} | ${r.packages} | ${r.seconds.toFixed(1)} s |`)
} finally {
  rmSync(work, { recursive: true, force: true })
}
