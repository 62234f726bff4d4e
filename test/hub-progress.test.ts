// Progress of checkpoint transfers (onProgress of publishCheckpoint and downloadCheckpoint)
// against the local Hub server (test/_hubServer.ts), and the tracker's arithmetic on a fake clock.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { cryptoWaitReady } from '@polkadot/util-crypto'
import { createHotkey, type Hotkey } from '../src/crypto/sr25519.js'
import { isReliquaryError } from '../src/errors/base.js'
import { batchDigest } from '../src/manifest/index.js'
import { downloadCheckpoint, publishCheckpoint, type TransferProgress } from '../src/hub/index.js'
import { createProgressTracker } from '../src/hub/transferProgress.js'
import { startHubServer, type HubServer } from './_hubServer.js'

const BASE = { id: 'Qwen/Qwen3-0.6B', revision: 'c0ffee'.padEnd(40, '0') }
const MiB = 1024 * 1024
const SIZES: Record<string, number> = {
  'model.safetensors': 11 * MiB, // routed to LFS by the Hub (over 10 MB)
  'config.json': 2_000,
  'tokenizer.json': 30_000,
}
const TOTAL = Object.values(SIZES).reduce((a, b) => a + b, 0)

let hub: HubServer
let tmp: string
let validator: Hotkey
beforeAll(async () => {
  await cryptoWaitReady()
  validator = await createHotkey('//Alice')
  hub = await startHubServer()
  tmp = mkdtempSync(join(tmpdir(), 'reliquary-hub-progress-'))
})
afterAll(async () => {
  await hub?.close()
  if (tmp) rmSync(tmp, { recursive: true, force: true })
})

/** Reports are well formed: loaded never decreases, ends at the total, `done` comes last. */
function checkReports(reports: TransferProgress[], direction: 'download' | 'upload'): void {
  expect(reports.length).toBeGreaterThanOrEqual(2)
  let loaded = 0
  for (const r of reports) {
    expect(r.direction).toBe(direction)
    expect(r.loaded).toBeGreaterThanOrEqual(loaded)
    expect(r.loaded).toBeLessThanOrEqual(TOTAL)
    expect(r.total).toBe(TOTAL)
    expect(r.progress).toBeCloseTo((100 * r.loaded) / TOTAL, 9)
    expect(r.bytesPerSecond).toBeGreaterThanOrEqual(0)
    if (r.status === 'progress' && r.loaded > 0) expect(r.etaSeconds).toBeGreaterThanOrEqual(0)
    loaded = r.loaded
  }
  expect(reports.filter((r) => r.status === 'done')).toHaveLength(1)
  const last = reports.at(-1)!
  expect(last).toMatchObject({ status: 'done', file: null, loaded: TOTAL, etaSeconds: 0 })
  expect(last.progress).toBe(100)
  expect(last.bytesPerSecond).toBeGreaterThan(0)
}

test('publish then download report bytes, rate and ETA to onProgress, through the local Hub', async () => {
  const dir = join(tmp, 'ckpt')
  mkdirSync(dir)
  for (const [name, size] of Object.entries(SIZES))
    writeFileSync(join(dir, name), Buffer.alloc(size, name.length))
  const uploads: TransferProgress[] = []
  const repoId = 'org/progress'
  const out = await publishCheckpoint({
    repoId,
    dir,
    checkpointN: 1,
    hotkey: validator,
    custody: {
      baseModel: BASE,
      profileId: 'e3',
      parent: null,
      windows: [{ windowN: 10, batchDigest: batchDigest(['00'.repeat(32)]) }],
    },
    hubUrl: hub.url,
    accessToken: hub.token,
    onProgress: (p) => uploads.push(p),
  })
  checkReports(uploads, 'upload')

  const downloads: TransferProgress[] = []
  const cacheDir = join(tmp, 'cache')
  const params = {
    repoId,
    revision: out.revision,
    cacheDir,
    hubUrl: hub.url,
    expected: {
      validatorHotkey: validator.address,
      baseModel: BASE,
      referenceManifest: out.referenceManifest,
    },
  }
  await downloadCheckpoint({ ...params, onProgress: (p) => downloads.push(p) })
  checkReports(downloads, 'download')
  // Every file completes with a report naming it.
  for (const name of Object.keys(SIZES))
    expect(
      downloads.some((r) => r.file === name),
      name,
    ).toBe(true)

  // A verified snapshot in the cache moves no bytes: one `done` with total 0.
  const again: TransferProgress[] = []
  const cached = await downloadCheckpoint({ ...params, onProgress: (p) => again.push(p) })
  expect(cached.cached).toBe(true)
  expect(again).toEqual([
    expect.objectContaining({ status: 'done', loaded: 0, total: 0, progress: 100 }),
  ])

  // A callback that throws aborts the download and leaves no snapshot behind.
  const other = join(tmp, 'cache-2')
  await expect(
    downloadCheckpoint({
      ...params,
      cacheDir: other,
      onProgress: () => {
        throw new Error('stop')
      },
    }),
  ).rejects.toThrow('stop')
  expect(existsSync(join(other, 'org', 'progress', out.revision))).toBe(false)
  expect(readdirSync(join(other, 'org', 'progress'))).toEqual([])

  const bad = await downloadCheckpoint({ ...params, onProgress: 'yes' as never }).catch((e) => e)
  expect(isReliquaryError(bad, 'INVALID_ARGUMENT')).toBe(true)
}, 60_000)

test('the tracker: throttled reports, average rate and ETA', () => {
  let t = 0
  const reports: TransferProgress[] = []
  const tr = createProgressTracker(
    'download',
    1000,
    (p) => reports.push(p),
    () => t,
  )
  t = 1000
  tr.add('a', 250) // first report: nothing reported yet
  t = 1050
  tr.add('a', 50) // within 100 ms of the last report: no report
  tr.set('a', 300, true) // a file completes: reported even within the interval
  t = 2000
  tr.add('b', 200)
  tr.done()
  expect(reports.map((r) => [r.status, r.file, r.loaded])).toEqual([
    ['progress', 'a', 250],
    ['progress', 'a', 300],
    ['progress', 'b', 500],
    ['done', null, 500],
  ])
  expect(reports[0]).toMatchObject({
    bytesPerSecond: 250,
    etaSeconds: 3,
    progress: 25,
    elapsedSeconds: 1,
  })
  expect(reports[2]).toMatchObject({ bytesPerSecond: 250, etaSeconds: 2, progress: 50 })
  const silent = createProgressTracker('upload', 10, undefined)
  silent.add('x', 5)
  silent.done()
})
