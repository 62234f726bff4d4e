// Step 6 of the validator's window (src/validator/steps/archiveWindow.ts): the sealed window's
// archive, gzip JSON under windowArchiveKey(n) in archiveDir, readable by decodeWindowArchive.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { archiveWindow } from '../../src/validator/steps/archiveWindow.js'
import { decodeWindowArchive } from '../../src/window/archive/decodeWindowArchive.js'
import { T_ROUND, WINDOW } from '../_admission.js'
import { admittedWindow, harness } from './_fakes.js'

const dirs: string[] = []
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true })
})

describe('archiveWindow', () => {
  test('writes the sealed window under its key and reports its size', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reliquary-archive-'))
    dirs.push(dir)
    const h = harness({ archiveDir: dir })
    const s = await admittedWindow(8)
    s.batcher.seal(T_ROUND + 30, { force: true })
    const ctx = { ...h.ctx, pipeline: s.pipeline }
    const path = await archiveWindow(s.batcher, ctx)
    expect(path.startsWith(dir)).toBe(true)
    expect(path).toContain(String(WINDOW))
    const bytes = await readFile(path)
    const record = await decodeWindowArchive(bytes)
    expect(record.window_start).toBe(WINDOW)
    expect(record.validator_hotkey).toBe('5ValidatorAddress')
    expect(record.batch).toHaveLength(8)
    expect(h.events).toEqual([{ type: 'archived', windowN: WINDOW, path, bytes: bytes.length }])
  })

  test('a file-system error propagates and nothing is reported', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'reliquary-archive-'))
    dirs.push(dir)
    const blocker = join(dir, 'not-a-directory')
    await writeFile(blocker, 'x')
    const h = harness({ archiveDir: blocker })
    const s = await admittedWindow(1)
    s.batcher.seal(T_ROUND + 30, { force: true })
    await expect(archiveWindow(s.batcher, { ...h.ctx, pipeline: s.pipeline })).rejects.toThrow()
    expect(h.events).toEqual([])
  })
})
