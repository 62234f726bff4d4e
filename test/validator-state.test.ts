// The pieces of the validator's crash-safe state directory: atomic and write-once files and
// directories (src/_utils/atomicWrite.ts), the state file (src/validator/validatorStore.ts), the
// local Hub's store on disk (startHubServer({ storeDir })), and a validator that resumes its window
// number from its state directory and refuses one written by another hotkey; the local drand
// chain kept in a file. The full
// kill-and-restart test is test/validator-crash.test.ts.
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { commit, createRepo } from '@huggingface/hub'
import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createHotkey } from '../src/crypto/sr25519.js'
import { createTargetTokenEnvironment } from '../src/demo/environment.js'
import { createLocalBeaconChain } from '../src/drand/localBeaconChain.js'
import { openLocalBeaconChain } from '../src/drand/openLocalBeaconChain.js'
import { startHubServer } from '../src/hub/localHubServer.js'
import { useBackend } from '../src/model/backend.js'
import { loadTokenizer } from '../src/model/loadTokenizer.js'
import { defineProfile, e3 } from '../src/protocol/profiles.js'
import { createValidator, type ValidatorEvent } from '../src/validator/createValidator.js'
import { createValidatorStore, VALIDATOR_STATE_FILE } from '../src/validator/validatorStore.js'
import {
  moveDirOnce,
  setWriteHook,
  writeFileAtomic,
  writeFileOnce,
} from '../src/_utils/atomicWrite.js'
import { expectRejectCode } from './_errors.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reliquary-state-'))
})
afterAll(async () => {
  setWriteHook(null)
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('atomic writes', () => {
  test('writeFileAtomic: the old content stays visible until the rename; no temporary file is left', async () => {
    const path = join(dir, 'a', 'state.json')
    await writeFileAtomic(path, 'old')
    const seen: string[] = []
    setWriteHook(async (point, p) => {
      seen.push(`${point}:${await readFile(p, 'utf8')}`)
    })
    try {
      await writeFileAtomic(path, 'new content')
    } finally {
      setWriteHook(null)
    }
    expect(seen).toEqual(['file-partial:old', 'file-staged:old'])
    expect(await readFile(path, 'utf8')).toBe('new content')
    expect(await readdir(join(dir, 'a'))).toEqual(['state.json'])
  })

  test('writeFileOnce: written, then the same bytes are a no-op and other bytes a STATE_CONFLICT', async () => {
    const path = join(dir, 'archives', 'window-1.json.gz')
    expect(await writeFileOnce(path, Buffer.from('one'))).toBe('written')
    expect(await writeFileOnce(path, Buffer.from('one'))).toBe('unchanged')
    await expectRejectCode(writeFileOnce(path, Buffer.from('two'), 'Archive'), 'STATE_CONFLICT')
    expect(await readFile(path, 'utf8')).toBe('one')
    expect(await readdir(join(dir, 'archives'))).toEqual(['window-1.json.gz'])
  })

  test('moveDirOnce: moved in place; an identical copy is dropped; a different one is refused', async () => {
    const staged = async (name: string, body: string): Promise<string> => {
      const d = join(dir, 'stage', name)
      await mkdir(join(d, 'sub'), { recursive: true })
      await writeFile(join(d, 'sub', 'w.bin'), body)
      return d
    }
    const to = join(dir, 'checkpoints', 'ckpt_1')
    await moveDirOnce(await staged('x', 'weights'), to)
    expect(await readFile(join(to, 'sub', 'w.bin'), 'utf8')).toBe('weights')
    await moveDirOnce(await staged('y', 'weights'), to)
    expect(await readdir(join(dir, 'stage'))).toEqual([])
    await expectRejectCode(
      moveDirOnce(await staged('z', 'other'), to, 'Checkpoint'),
      'STATE_CONFLICT',
    )
    expect(await readFile(join(to, 'sub', 'w.bin'), 'utf8')).toBe('weights')
  })
})

test('the state file: a torn or edited file is STATE_INVALID, never a silent fresh start', async () => {
  const stateDir = join(dir, 'store')
  const store = createValidatorStore({ stateDir, archiveDir: stateDir, checkpointDir: stateDir })
  expect(await store.read()).toBeNull()
  await mkdir(stateDir, { recursive: true })
  await writeFile(join(stateDir, VALIDATOR_STATE_FILE), '{"format":"reliquary.validator.st')
  await expectRejectCode(store.read(), 'STATE_INVALID')
  await writeFile(
    join(stateDir, VALIDATOR_STATE_FILE),
    JSON.stringify({ format: 'reliquary.validator.state', version: 1, windowN: -1 }),
  )
  await expectRejectCode(store.read(), 'STATE_INVALID')
})

test('the local Hub on a store directory serves the same commits and bytes after a restart', async () => {
  const storeDir = join(dir, 'hub')
  const first = await startHubServer({ storeDir })
  const repo = { type: 'model' as const, name: 'local/policy' }
  const big = new Uint8Array(64 * 1024).map((_, i) => i % 251)
  try {
    await createRepo({ repo, hubUrl: first.url, accessToken: first.token })
    await commit({
      repo,
      hubUrl: first.url,
      accessToken: first.token,
      title: 'checkpoint 1',
      operations: [
        { operation: 'addOrUpdate', path: 'config.json', content: new Blob(['{"a":1}']) },
        { operation: 'addOrUpdate', path: 'model.safetensors', content: new Blob([big]) },
      ],
    })
  } finally {
    await first.close()
  }
  const commits = first.commits('local/policy')
  // Let the client drop its pooled connections to the closed server before the URL is reused.
  await new Promise((r) => setTimeout(r, 200))
  const second = await startHubServer({ storeDir, lfsThresholdBytes: 1024 })
  try {
    expect(second.url).toBe(first.url)
    expect(second.commits('local/policy')).toEqual(commits)
    const head = commits.at(-1)!.oid
    expect(second.fileAt('local/policy', head, 'config.json')?.toString()).toBe('{"a":1}')
    expect(new Uint8Array(second.fileAt('local/policy', head, 'model.safetensors')!)).toEqual(big)
    await commit({
      repo,
      hubUrl: second.url,
      accessToken: second.token,
      title: 'checkpoint 2',
      operations: [{ operation: 'addOrUpdate', path: 'config.json', content: new Blob(['{}']) }],
    })
    const after = second.commits('local/policy')
    expect(after.map((c) => c.title)).toEqual(['initial commit', 'checkpoint 1', 'checkpoint 2'])
  } finally {
    await second.close()
  }
})

test('the local drand chain kept in a file: the same key, genesis and hash after a restart', async () => {
  const path = join(dir, 'drand', 'drand-local.json')
  const first = await openLocalBeaconChain({ path, periodSeconds: 2 })
  expect((await stat(path)).mode & 0o777).toBe(0o600)
  const second = await openLocalBeaconChain({ path, periodSeconds: 2 })
  expect(second.info).toEqual(first.info)
  expect(second.rawBeacon(5)).toEqual(first.rawBeacon(5))
  await expectRejectCode(openLocalBeaconChain({ path, periodSeconds: 3 }), 'STATE_INVALID')
  const fresh = await openLocalBeaconChain({
    path: join(dir, 'drand', 'other.json'),
    periodSeconds: 2,
  })
  expect(fresh.info.hash).not.toBe(first.info.hash)
})

describe('createValidator with a stateDir', () => {
  const modelDir = 'test/fixtures/reference/qwen3-tiny-s0'
  const chain = createLocalBeaconChain({
    genesisTime: Math.floor(Date.now() / 1000) - 5,
    periodSeconds: 1,
  })
  const profile = defineProfile(e3, {
    id: 'e3-state-test',
    drand: {
      chainHash: chain.info.hash,
      genesisTime: chain.info.genesis_time,
      periodSeconds: chain.info.period,
    },
  })

  test('a restarted validator resumes after its last window; another hotkey is refused', async () => {
    await useBackend('wasm')
    const tensors = tf.memory().numTensors
    const stateDir = join(dir, 'validator')
    const tokenizer = await loadTokenizer(modelDir)
    const environment = createTargetTokenEnvironment({ tokenizer, vocabSize: 459, size: 16 })
    const hotkey = await createHotkey('//ValidatorStateTest')
    const base = { profile, modelDir, environment, tokenizer, hotkey, beacons: chain, stateDir }
    const first = await createValidator({ ...base, lastWindowN: 6 })
    try {
      const running = first.runWindow()
      while (first.phase !== 'open') await new Promise((r) => setTimeout(r, 20))
      first.closeWindow()
      expect((await running).windowN).toBe(7)
    } finally {
      await first.dispose()
    }
    const events: ValidatorEvent[] = []
    const second = await createValidator({ ...base, onEvent: (e) => events.push(e) })
    try {
      expect(second.windowN).toBe(7)
      expect(events).toContainEqual({
        type: 'resumed',
        windowN: 7,
        checkpointN: 0,
        trainerRestored: false,
        archives: 1,
      })
    } finally {
      await second.dispose()
    }
    const other = await createHotkey('//SomeoneElse')
    await expectRejectCode(createValidator({ ...base, hotkey: other }), 'STATE_INVALID')
    expect(tf.memory().numTensors).toBe(tensors)
  }, 60_000)
})
