// The built package packed as npm publishes it (`npm pack --json --ignore-scripts`), once per test
// run: the first test file that asks packs it into the run's shared directory
// (test/_globalSetup.ts) and the others reuse the tarball and npm's JSON report. The tarball and
// its report are renamed into place, so a file running beside the packer never sees a partial one.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { inject } from 'vitest'

const ROOT = join(import.meta.dirname, '..')

/** npm's JSON report of one packed package (the fields the tests read). */
export type PackInfo = { filename: string; files: { path: string }[] }

let packing: Promise<{ tarball: string; info: PackInfo }> | null = null

/** The run's tarball (absolute path) and npm's report of it. */
export function packedTarball(): Promise<{ tarball: string; info: PackInfo }> {
  packing ??= (async () => {
    const dir = inject('runDir')
    const report = join(dir, 'pack.json')
    if (!existsSync(report)) {
      const staging = await mkdtemp(join(dir, 'pack-'))
      const { stdout } = await promisify(execFile)(
        'npm',
        ['pack', '--json', '--ignore-scripts', '--pack-destination', staging],
        { cwd: ROOT, encoding: 'utf8' },
      )
      const [packed] = JSON.parse(stdout) as PackInfo[]
      await rename(join(staging, packed!.filename), join(dir, packed!.filename))
      await writeFile(join(staging, 'pack.json'), stdout)
      await rename(join(staging, 'pack.json'), report)
      await rm(staging, { recursive: true, force: true })
    }
    const [info] = JSON.parse(await readFile(report, 'utf8')) as PackInfo[]
    return { tarball: join(dir, info!.filename), info: info! }
  })()
  return packing
}
