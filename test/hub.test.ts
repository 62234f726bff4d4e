// reliquary/hub against a loopback test double of the Hugging Face Hub API (test/_hubServer.ts;
// not the real service). @huggingface/hub runs unmodified: only `hubUrl` points at the double.
import { createHash } from 'node:crypto'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { cryptoWaitReady } from '@polkadot/util-crypto'
import { createHotkey, type Hotkey } from '../src/crypto/sr25519.js'
import { isReliquaryError, type ReliquaryError } from '../src/errors/base.js'
import {
  batchDigest,
  hashSnapshotFiles,
  manifestDigest,
  verifyChain,
  verifyManifest,
  type CustodyManifest,
} from '../src/manifest/index.js'
import { DEFAULT_PROFILE, type ProtocolProfile } from '../src/protocol/profiles.js'
import {
  CUSTODY_MANIFEST_PATH,
  checkpointCommitTitle,
  downloadCheckpoint,
  parseCheckpointCommitTitle,
  publishCheckpoint,
  shouldPublish,
  type DownloadCheckpointParameters,
  type PublishCheckpointParameters,
} from '../src/hub/index.js'
import { startHubServer, type HubServer } from './_hubServer.js'

const BASE = { id: 'Qwen/Qwen3-0.6B', revision: 'c0ffee'.padEnd(40, '0') }
const MiB = 1024 * 1024
const sha256hex = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex')

let hub: HubServer
let tmp: string
let validator: Hotkey
let impostor: Hotkey

beforeAll(async () => {
  await cryptoWaitReady()
  validator = await createHotkey('//Alice')
  impostor = await createHotkey('//Bob')
  hub = await startHubServer()
  tmp = mkdtempSync(join(tmpdir(), 'reliquary-hub-'))
})
afterAll(async () => {
  await hub?.close()
  if (tmp) rmSync(tmp, { recursive: true, force: true })
})

async function rejectsWith(p: Promise<unknown>, code: string): Promise<ReliquaryError> {
  try {
    await p
  } catch (e) {
    expect(isReliquaryError(e), String(e)).toBe(true)
    expect((e as ReliquaryError).code, (e as Error).message).toBe(code)
    return e as ReliquaryError
  }
  throw new Error(`expected a rejection with ${code}`)
}

let dirCounter = 0
/** A save_pretrained-like checkpoint: two safetensors shards plus their index, config and tokenizer files. */
function checkpointDir(n: number, options: { bigShard?: boolean } = {}): string {
  const dir = join(tmp, `ckpt-${n}-${dirCounter++}`)
  mkdirSync(join(dir, 'onnx'), { recursive: true })
  mkdirSync(join(dir, '.cache/huggingface'), { recursive: true })
  const shard = (i: number, size: number) => {
    const b = Buffer.alloc(size)
    for (let k = 0; k < size; k += 4096) b.writeUInt32LE((k * 2654435761 + n * 97 + i) >>> 0, k)
    return b
  }
  writeFileSync(join(dir, 'model-00001-of-00002.safetensors'), shard(1, 40_000))
  writeFileSync(
    join(dir, 'model-00002-of-00002.safetensors'),
    shard(2, options.bigShard ? 11 * MiB : 30_000),
  )
  writeFileSync(
    join(dir, 'model.safetensors.index.json'),
    JSON.stringify({
      metadata: { total_size: 70_000 },
      weight_map: {
        'a.weight': 'model-00001-of-00002.safetensors',
        'b.weight': 'model-00002-of-00002.safetensors',
      },
    }),
  )
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ model_type: 'qwen3', checkpoint: n }))
  writeFileSync(
    join(dir, 'tokenizer.json'),
    JSON.stringify({ version: '1.0', model: { type: 'BPE' } }),
  )
  writeFileSync(join(dir, 'tokenizer_config.json'), '{}')
  writeFileSync(join(dir, 'onnx/notes.txt'), `checkpoint ${n}\n`)
  // Never published: hf download metadata and the Hub's own .gitattributes.
  writeFileSync(join(dir, '.cache/huggingface/x.metadata'), 'local only')
  writeFileSync(join(dir, '.gitattributes'), '*.bin filter=lfs\n')
  return dir
}

const custody = (n: number, parent: CustodyManifest | null) => ({
  baseModel: BASE,
  profileId: 'e3',
  parent,
  windows: [{ windowN: n * 10, batchDigest: batchDigest([sha256hex(`batch ${n}`)]) }],
})

function publish(
  repoId: string,
  n: number,
  dir: string,
  parent: CustodyManifest | null,
  extra: Partial<PublishCheckpointParameters> = {},
) {
  return publishCheckpoint({
    repoId,
    dir,
    checkpointN: n,
    hotkey: validator,
    custody: custody(n, parent),
    hubUrl: hub.url,
    accessToken: hub.token,
    ...extra,
  })
}

function download(
  repoId: string,
  revision: string,
  cacheDir: string,
  expected: Partial<DownloadCheckpointParameters['expected']> = {},
) {
  return downloadCheckpoint({
    repoId,
    revision,
    cacheDir,
    hubUrl: hub.url,
    expected: { validatorHotkey: validator.address, baseModel: BASE, profileId: 'e3', ...expected },
  })
}

const checkpointCommits = (repoId: string, n: number) =>
  hub.commits(repoId).filter((c) => c.title === checkpointCommitTitle(n))

// ---------------------------------------------------------------------------------------------

describe('shouldPublish (docs/protocol.md §9 cadence, E1-E3)', () => {
  test('trained full batch AND (window_n % 10 === 0 OR no manifest yet)', () => {
    expect(shouldPublish({ windowN: 20, trained: true, hasManifest: true })).toBe(true)
    expect(shouldPublish({ windowN: 0, trained: true, hasManifest: true })).toBe(true)
    expect(shouldPublish({ windowN: 21, trained: true, hasManifest: true })).toBe(false)
    expect(shouldPublish({ windowN: 21, trained: true, hasManifest: false })).toBe(true)
    expect(shouldPublish({ windowN: 30, trained: false, hasManifest: true })).toBe(false)
    expect(shouldPublish({ windowN: 31, trained: false, hasManifest: false })).toBe(false)
  })
  test('the interval comes from the profile', () => {
    const five: ProtocolProfile = { ...DEFAULT_PROFILE, publishing: { intervalWindows: 5 } }
    expect(DEFAULT_PROFILE.publishing.intervalWindows).toBe(10)
    expect(shouldPublish({ windowN: 15, trained: true, hasManifest: true, profile: five })).toBe(
      true,
    )
    expect(shouldPublish({ windowN: 15, trained: true, hasManifest: true })).toBe(false)
  })
  test('malformed arguments throw INVALID_ARGUMENT', () => {
    for (const bad of [
      { windowN: -1 },
      { windowN: 1.5 },
      { trained: 'yes' },
      { hasManifest: undefined },
      { profile: { publishing: { intervalWindows: 0 } } },
    ]) {
      expect(() =>
        shouldPublish({ windowN: 10, trained: true, hasManifest: true, ...bad } as never),
      ).toThrow(/INVALID_ARGUMENT/)
    }
  })
  test('commit titles', () => {
    expect(checkpointCommitTitle(7)).toBe('checkpoint 7')
    expect(parseCheckpointCommitTitle('checkpoint 12')).toBe(12)
    for (const t of [
      'checkpoint 07',
      'checkpoint -1',
      'checkpoint 1 ',
      'Checkpoint 1',
      'initial commit',
    ])
      expect(parseCheckpointCommitTitle(t)).toBeNull()
  })
})

describe('publishCheckpoint → downloadCheckpoint', () => {
  test('round trip: one commit "checkpoint 1" with every file and the custody manifest; the miner gets a verified directory', async () => {
    const repo = 'val/roundtrip'
    const dir = checkpointDir(1)
    const pub = await publish(repo, 1, dir, null)
    expect(pub.revision).toMatch(/^[0-9a-f]{40}$/)
    expect(pub.reused).toBe(false)
    expect(hub.commits(repo).map((c) => c.title)).toEqual(['initial commit', 'checkpoint 1'])
    const files = await hashSnapshotFiles(dir, {
      ignore: ['.cache/huggingface/', '.gitattributes'],
    })
    expect(files.map((f) => f.path)).toEqual([
      'config.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
      'model.safetensors.index.json',
      'onnx/notes.txt',
      'tokenizer.json',
      'tokenizer_config.json',
    ])
    expect(pub.custodyManifest.files).toEqual(files)
    expect(pub.custodyManifest).toMatchObject({
      checkpoint_n: 1,
      parent: null,
      signer: validator.address,
      base_model: BASE,
    })
    expect(hub.commits(repo)[1]!.paths).toEqual(
      ['.gitattributes', CUSTODY_MANIFEST_PATH, ...files.map((f) => f.path)].sort(),
    )
    expect(
      JSON.parse(hub.fileAt(repo, pub.revision, CUSTODY_MANIFEST_PATH)!.toString('utf8')),
    ).toEqual(pub.custodyManifest)
    expect(pub.referenceManifest).toMatchObject({
      checkpoint_n: 1,
      repo_id: repo,
      revision: pub.revision,
    })
    expect(
      (await verifyManifest(pub.referenceManifest, validator.address, { expectedRepoId: repo }))
        .valid,
    ).toBe(true)

    const cacheDir = join(tmp, 'cache-roundtrip')
    const got = await download(repo, pub.revision, cacheDir, {
      referenceManifest: pub.referenceManifest,
    })
    expect(got).toMatchObject({
      revision: pub.revision,
      checkpointN: 1,
      commitTitleChecked: true,
      cached: false,
      files: 7,
    })
    expect(got.chain).toEqual([manifestDigest(pub.custodyManifest)])
    expect(got.referenceManifest?.revision).toBe(pub.revision)
    expect(got.dir).toBe(join(cacheDir, 'val', 'roundtrip', pub.revision))
    for (const f of files)
      expect(
        readFileSync(join(got.dir, f.path)).equals(readFileSync(join(dir, f.path))),
        f.path,
      ).toBe(true)
    expect(readdirSync(got.dir).sort()).toEqual(
      [
        CUSTODY_MANIFEST_PATH,
        ...readdirSync(dir).filter((x) => x !== '.cache' && x !== '.gitattributes'),
      ].sort(),
    )
    expect(readdirSync(join(cacheDir, 'val', 'roundtrip'))).toEqual([pub.revision]) // no staging left behind

    // A second download finds the verified directory, checks it again, and returns it.
    const again = await download(repo, pub.revision, cacheDir, {
      referenceManifest: pub.referenceManifest,
    })
    expect(again).toMatchObject({ dir: got.dir, cached: true })
    // A cached file changed locally is caught and replaced by a fresh download.
    writeFileSync(join(got.dir, 'config.json'), '{"tampered":true}')
    const healed = await download(repo, pub.revision, cacheDir)
    expect(healed.cached).toBe(false)
    expect(
      readFileSync(join(healed.dir, 'config.json')).equals(readFileSync(join(dir, 'config.json'))),
    ).toBe(true)
  })

  test('a chain of 3 checkpoints verifies via verifyChain, and the miner walks it from the Hub history', async () => {
    const repo = 'val/chain'
    const published: Awaited<ReturnType<typeof publishCheckpoint>>[] = []
    let parent: CustodyManifest | null = null
    for (const n of [1, 2, 3]) {
      const pub = await publish(repo, n, checkpointDir(n), parent)
      published.push(pub)
      parent = pub.custodyManifest
    }
    expect(hub.commits(repo).map((c) => c.title)).toEqual([
      'initial commit',
      'checkpoint 1',
      'checkpoint 2',
      'checkpoint 3',
    ])
    const byDigest = new Map(
      published.map((p) => [manifestDigest(p.custodyManifest), p.custodyManifest]),
    )
    const chain = await verifyChain(published[2]!.custodyManifest, {
      resolveParent: (d) => byDigest.get(d),
      expectedBase: BASE,
      trustedSigners: [validator.address],
      expectedProfileId: 'e3',
    })
    expect(chain.valid).toBe(true)
    if (chain.valid) expect(chain.links.map((l) => l.checkpoint_n)).toEqual([3, 2, 1])

    const cacheDir = join(tmp, 'cache-chain')
    const head = await download(repo, published[2]!.revision, cacheDir, {
      referenceManifest: published[2]!.referenceManifest,
      minCheckpointN: 3,
    })
    expect(head.chain).toEqual([...byDigest.keys()].reverse())
    const middle = await download(repo, published[1]!.revision, cacheDir)
    expect(middle.chain).toHaveLength(2)
    // Checkpoints never go back.
    const old = await rejectsWith(
      download(repo, published[1]!.revision, cacheDir, {
        referenceManifest: published[1]!.referenceManifest,
        minCheckpointN: 3,
      }),
      'HUB_REFERENCE_MANIFEST_INVALID',
    )
    expect(old.meta.reason).toBe('checkpoint_regressed')
  })

  test('a file over 10 MB goes through LFS (batch + PUT) and still round-trips', async () => {
    const repo = 'val/lfs'
    const before = hub.requests.length
    const dir = checkpointDir(1, { bigShard: true })
    const pub = await publish(repo, 1, dir, null)
    const seen = hub.requests.slice(before)
    expect(
      seen.some(
        (r) =>
          r.method === 'POST' &&
          r.path === `/${repo}.git/info/lfs/objects/batch` &&
          r.status === 200,
      ),
    ).toBe(true)
    const puts = seen.filter((r) => r.method === 'PUT' && r.path.startsWith(`/__lfs/${repo}/`))
    expect(puts).toHaveLength(1)
    expect(puts[0]!.path).toBe(
      `/__lfs/${repo}/${sha256hex(readFileSync(join(dir, 'model-00002-of-00002.safetensors')))}`,
    )
    expect(hub.isLfs(repo, pub.revision, 'model-00002-of-00002.safetensors')).toBe(true)
    expect(hub.isLfs(repo, pub.revision, 'model-00001-of-00002.safetensors')).toBe(false)
    expect(hub.isLfs(repo, pub.revision, CUSTODY_MANIFEST_PATH)).toBe(false)
    const got = await download(repo, pub.revision, join(tmp, 'cache-lfs'), {
      referenceManifest: pub.referenceManifest,
    })
    expect(got.bytes).toBeGreaterThan(11 * MiB)
    expect(
      readFileSync(join(got.dir, 'model-00002-of-00002.safetensors')).equals(
        readFileSync(join(dir, 'model-00002-of-00002.safetensors')),
      ),
    ).toBe(true)
  })
})

describe('a publish that fails midway', () => {
  test('fails on the Nth request, for every N: no checkpoint commit, no manifest; the retry succeeds', async () => {
    const dir = checkpointDir(1, { bigShard: true })
    // Count the requests of a clean publish into a fresh repo.
    const before = hub.requests.length
    await publish('val/fault-count', 1, dir, null)
    const steps = hub.requests.slice(before)
    expect(steps.map((r) => `${r.method} ${r.path.replace(/[0-9a-f]{64}$/, '<oid>')}`)).toEqual([
      'GET /api/models/val/fault-count',
      'POST /api/repos/create',
      'GET /api/models/val/fault-count/commits/main',
      'POST /api/models/val/fault-count/preupload/main',
      'POST /val/fault-count.git/info/lfs/objects/batch',
      'PUT /__lfs/val/fault-count/<oid>',
      'POST /api/models/val/fault-count/commit/main',
    ])
    for (let nth = 1; nth <= steps.length; nth++) {
      const repo = `val/fault-${nth}`
      hub.injectFault({ nth, mode: nth % 2 ? 'status' : 'reset', status: 503 })
      const e = await rejectsWith(publish(repo, 1, dir, null), 'HUB_REQUEST_FAILED')
      expect(e.meta.step, `fault on request ${nth}`).toBeTypeOf('string')
      expect(checkpointCommits(repo, 1), `fault on request ${nth}`).toHaveLength(0)
      expect(
        hub.fileAt(repo, 'main', CUSTODY_MANIFEST_PATH),
        `fault on request ${nth}`,
      ).toBeUndefined()

      const retryFrom = hub.requests.length
      const retry = await publish(repo, 1, dir, null)
      expect(checkpointCommits(repo, 1).map((c) => c.oid)).toEqual([retry.revision])
      // Once the LFS object is on the Hub (the fault hit the commit itself), the retry does not upload it again.
      const putAgain = hub.requests.slice(retryFrom).some((r) => r.method === 'PUT')
      expect(putAgain, `fault on request ${nth}`).toBe(nth < steps.length)
      const got = await download(repo, retry.revision, join(tmp, `cache-fault-${nth}`), {
        referenceManifest: retry.referenceManifest,
      })
      expect(got.checkpointN).toBe(1)
    }
  })

  test('a commit that landed but whose response was lost is reused by the retry, not committed twice', async () => {
    const repo = 'val/lost-response'
    const dir = checkpointDir(1)
    hub.injectFault({
      nth: 1,
      match: (r) => r.method === 'POST' && r.path.endsWith('/commit/main'),
      mode: 'lose-response',
    })
    await rejectsWith(publish(repo, 1, dir, null), 'HUB_REQUEST_FAILED')
    const landed = checkpointCommits(repo, 1)
    expect(landed).toHaveLength(1)
    const retry = await publish(repo, 1, dir, null)
    expect(retry).toMatchObject({ reused: true, revision: landed[0]!.oid })
    expect(checkpointCommits(repo, 1)).toHaveLength(1)
    await download(repo, retry.revision, join(tmp, 'cache-lost'), {
      referenceManifest: retry.referenceManifest,
    })
    // Other content under the same number is a conflict, not a second "checkpoint 1".
    await rejectsWith(publish(repo, 1, checkpointDir(2), null), 'HUB_CHECKPOINT_CONFLICT')
    expect(checkpointCommits(repo, 1)).toHaveLength(1)
  })

  test('bad parameters and an aborted signal fail before any request', async () => {
    let before = hub.requests.length
    await rejectsWith(
      publish('val/x', 1, checkpointDir(1), null, { accessToken: 'not-a-token' }),
      'INVALID_ARGUMENT',
    )
    await rejectsWith(publish('not a repo', 1, checkpointDir(1), null), 'INVALID_ARGUMENT')
    const parent = (await publish('val/parent-guard', 2, checkpointDir(2), null)).custodyManifest
    const guardFrom = hub.requests.length
    await rejectsWith(publish('val/parent-guard', 2, checkpointDir(3), parent), 'INVALID_ARGUMENT') // n must exceed the parent's
    expect(hub.requests.length).toBe(guardFrom)
    before = hub.requests.length
    const ac = new AbortController()
    ac.abort(new Error('stop'))
    await expect(
      publish('val/x', 1, checkpointDir(1), null, { signal: ac.signal }),
    ).rejects.toThrow('stop')
    expect(hub.requests.length).toBe(before)
  })
})

describe('the miner refuses before loading', () => {
  test('a file tampered on the Hub after publishing: typed error, no directory returned or left behind', async () => {
    const repo = 'val/tamper'
    const pub = await publish(repo, 1, checkpointDir(1, { bigShard: true }), null)
    const flip = (b: Buffer) => {
      const i = b.length >> 1
      b.writeUInt8(b.readUInt8(i) ^ 0x01, i)
      return b
    }
    for (const path of ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']) {
      const cacheDir = join(tmp, `cache-tamper-${path.slice(6, 11)}`)
      hub.tamper(repo, pub.revision, path, flip)
      const e = await rejectsWith(
        download(repo, pub.revision, cacheDir, { referenceManifest: pub.referenceManifest }),
        'MANIFEST_FILES_MISMATCH',
      )
      expect(e.meta.mismatched).toEqual([path])
      expect(existsSync(join(cacheDir, 'val', 'tamper', pub.revision))).toBe(false)
      expect(readdirSync(join(cacheDir, 'val', 'tamper'))).toEqual([]) // staging removed
      hub.tamper(repo, pub.revision, path, flip) // restore
    }
    // Restored, it verifies again.
    await download(repo, pub.revision, join(tmp, 'cache-tamper-ok'), {
      referenceManifest: pub.referenceManifest,
    })
    // A resized file is refused from the file list, before anything is downloaded.
    hub.tamper(repo, pub.revision, 'config.json', (b) => Buffer.concat([b, Buffer.from(' ')]))
    const before = hub.requests.length
    const e = await rejectsWith(
      download(repo, pub.revision, join(tmp, 'cache-tamper-size')),
      'MANIFEST_FILES_MISMATCH',
    )
    expect(e.meta.mismatched).toEqual(['config.json'])
    expect(
      hub.requests
        .slice(before)
        .some((r) => r.path.endsWith(`/resolve/${pub.revision}/model-00002-of-00002.safetensors`)),
    ).toBe(false)
  })

  test('a wrong validator hotkey is refused (reference manifest, or custody signer without one)', async () => {
    const repo = 'val/wrong-key'
    const pub = await publish(repo, 1, checkpointDir(1), null)
    const cacheDir = join(tmp, 'cache-wrong-key')
    const e1 = await rejectsWith(
      download(repo, pub.revision, cacheDir, {
        referenceManifest: pub.referenceManifest,
        validatorHotkey: impostor.address,
      }),
      'HUB_REFERENCE_MANIFEST_INVALID',
    )
    expect(e1.meta.reason).toBe('signature_mismatch')
    const e2 = await rejectsWith(
      download(repo, pub.revision, cacheDir, { validatorHotkey: impostor.address }),
      'HUB_CUSTODY_INVALID',
    )
    expect(e2.meta).toMatchObject({ field: 'signer', index: 0 })
    // A checkpoint published by another key is refused under the real validator's key too.
    const forged = await publish('val/forged', 1, checkpointDir(1), null, { hotkey: impostor })
    await rejectsWith(
      download('val/forged', forged.revision, cacheDir, {
        referenceManifest: forged.referenceManifest,
      }),
      'HUB_REFERENCE_MANIFEST_INVALID',
    )
    await rejectsWith(download('val/forged', forged.revision, cacheDir), 'HUB_CUSTODY_INVALID')
    expect(existsSync(cacheDir)).toBe(false)
  })

  test('the commit title must be "checkpoint {n}" when the Hub serves it; the pinned revision must match', async () => {
    const repo = 'val/title'
    const pub = await publish(repo, 1, checkpointDir(1), null)
    const cacheDir = join(tmp, 'cache-title')
    hub.retitle(repo, pub.revision, 'checkpoint 2')
    await rejectsWith(
      download(repo, pub.revision, cacheDir, { referenceManifest: pub.referenceManifest }),
      'HUB_COMMIT_TITLE_MISMATCH',
    )
    hub.retitle(repo, pub.revision, 'checkpoint 1')
    hub.disableCommitsApi(true)
    try {
      const got = await download(repo, pub.revision, cacheDir, {
        referenceManifest: pub.referenceManifest,
        resolveParent: () => null,
      })
      expect(got.commitTitleChecked).toBe(false)
      await rejectsWith(
        download(repo, pub.revision, cacheDir, {
          requireCommitTitle: true,
          resolveParent: () => null,
        }),
        'HUB_COMMIT_TITLE_MISMATCH',
      )
    } finally {
      hub.disableCommitsApi(false)
    }
    const other = await publish(repo, 2, checkpointDir(2), pub.custodyManifest)
    const e = await rejectsWith(
      download(repo, pub.revision, cacheDir, { referenceManifest: other.referenceManifest }),
      'HUB_REFERENCE_MANIFEST_INVALID',
    )
    expect(e.meta.reason).toBe('revision_mismatch')
    await rejectsWith(download(repo, 'main', cacheDir), 'INVALID_ARGUMENT')
    // Another base model breaks the chain.
    const e2 = await rejectsWith(
      download(repo, other.revision, cacheDir, {
        baseModel: { id: 'Qwen/Qwen3-8B', revision: BASE.revision },
      }),
      'HUB_CUSTODY_INVALID',
    )
    expect(e2.meta.field).toBe('base_model')
  })
})
