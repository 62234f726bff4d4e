// Loading a pinned Hub revision: snapshot download (whole repo, standard cache layout) from the
// local Hub-compatible server, then the same forward as from the local directory.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { createRepo, uploadFiles } from '@huggingface/hub'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { isReliquaryError } from '../src/errors/index.js'
import { startHubServer, type HubServer } from '../src/hub/index.js'
import { loadModel, resolveCheckpoint, useBackend } from '../src/model/index.js'
import { filesWith, modelDir } from './_vectors.js'

let hub: HubServer
let cache: string
let start = 0
beforeAll(async () => {
  await useBackend('wasm')
  start = tf.memory().numTensors
  hub = await startHubServer()
  cache = mkdtempSync(join(tmpdir(), 'reliquary-cache-'))
})
afterAll(async () => {
  await hub.close()
  rmSync(cache, { recursive: true, force: true })
  expect(tf.memory().numTensors).toBe(start)
})

const src = modelDir(filesWith('forward')[0]!.doc)!

test('owner/name@revision downloads the whole snapshot and loads the same model', async () => {
  const repo = { type: 'model' as const, name: 'org/tiny' }
  await createRepo({ repo, hubUrl: hub.url, accessToken: hub.token })
  const files = readdirSync(src).map((f) => ({
    path: f,
    content: new Blob([readFileSync(join(src, f))]),
  }))
  await uploadFiles({ repo, files, hubUrl: hub.url, accessToken: hub.token, commitTitle: 'upload' })
  const rev = hub.commits('org/tiny').at(-1)!.oid
  const dir = await resolveCheckpoint(`org/tiny@${rev}`, { hubUrl: hub.url, cacheDir: cache })
  expect(readdirSync(dir)).toEqual(expect.arrayContaining(readdirSync(src)))
  const [a, b] = [await loadModel(src), await loadModel(dir)]
  const fa = a.forward([1, 2, 3, 4])
  const fb = b.forward([1, 2, 3, 4])
  expect(Array.from(await fb.hidden.data())).toEqual(Array.from(await fa.hidden.data()))
  for (const t of [fa.hidden, fa.logits, fb.hidden, fb.logits]) t.dispose()
  a.dispose()
  b.dispose()
})

test('local directories pass through; bad references are typed errors', async () => {
  expect(await resolveCheckpoint(src)).toBe(src)
  await expect(resolveCheckpoint('not a ref')).rejects.toSatisfy((e) =>
    isReliquaryError(e, 'INVALID_ARGUMENT'),
  )
  await expect(
    resolveCheckpoint(`org/missing@${'0'.repeat(40)}`, { hubUrl: hub.url, cacheDir: cache }),
  ).rejects.toSatisfy((e) => isReliquaryError(e, 'MODEL_FILE_MISSING'))
})
