import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { useBackend } from '../src/model/index.js'
import { runConformance } from '../src/conformance/index.js'
import { isReliquaryError } from '../src/index.js'
import { VECTORS_DIR, vectorFiles } from './_vectors.js'

const ROOT = join(import.meta.dirname, '..')

describe(`conformance over ${VECTORS_DIR}`, () => {
  let start = 0
  beforeAll(async () => {
    await useBackend('wasm')
    start = tf.memory().numTensors
  })
  afterAll(() => expect(tf.memory().numTensors).toBe(start))

  test('every suite that applies reproduces the reference with zero failures', async () => {
    const report = await runConformance(VECTORS_DIR)
    const failed = report.suites.filter((s) => s.failed > 0)
    expect(failed.map((s) => `${s.suite} (${s.file}): ${s.failures.join(' | ')}`)).toEqual([])
    expect(report.totals.checked).toBeGreaterThan(0)
    for (const s of report.suites) expect(s.checked, s.suite).toBeGreaterThan(0)
  })

  test('each protocol section present in the set is covered by a suite', async () => {
    const report = await runConformance(VECTORS_DIR)
    const covered = new Set(report.suites.map((s) => `${s.file}`))
    const sections = [
      'forward',
      'attacks',
      'math_reward',
      'groups',
      'omi_reward',
      'selection',
      'prf',
      'r_vec',
      'indices',
      'indices_in_range',
      'buckets',
      'tolerance',
      'hash_tokens',
      'commit_binding',
      'window_randomness',
      'drand_round',
      'env_seed',
      'sketch_rows',
      'envelope',
      'window_randomness_e3',
      'drand_round_at',
      'merkle',
      'proofs',
    ]
    for (const { file, doc } of vectorFiles()) {
      if (sections.some((k) => Array.isArray(doc[k]))) expect(covered.has(file), file).toBe(true)
    }
  })

  test('a directory with no vectors is a typed error, not a pass', async () => {
    await expect(runConformance(join(ROOT, 'src'))).rejects.toSatisfy((e) =>
      isReliquaryError(e, 'CONFORMANCE_DIR_INVALID'),
    )
    await expect(runConformance(join(ROOT, 'no-such-dir'))).rejects.toSatisfy((e) =>
      isReliquaryError(e, 'CONFORMANCE_DIR_INVALID'),
    )
  })

  test('the CLI prints a machine-readable report with zero failures', () => {
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'conformance', VECTORS_DIR, '--json'],
      { encoding: 'utf8', maxBuffer: 64 << 20 },
    )
    const report = JSON.parse(out) as {
      totals: { failed: number; checked: number }
      suites: { suite: string; checked: number; failed: number; worst: unknown }[]
    }
    expect(report.totals.failed).toBe(0)
    expect(report.totals.checked).toBeGreaterThan(0)
    for (const s of report.suites)
      expect(Object.keys(s)).toEqual(
        expect.arrayContaining(['suite', 'checked', 'failed', 'worst']),
      )
  })

  test('the CLI exits non-zero when a vector is wrong', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const dir = mkdtempSync(join(tmpdir(), 'reliquary-conf-'))
    writeFileSync(
      join(dir, 'crypto-x.json'),
      JSON.stringify({ hash_tokens: [{ tokens: [1, 2, 3], sha256: '00'.repeat(32) }] }),
    )
    let code = 0
    try {
      execFileSync(
        process.execPath,
        ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'conformance', dir],
        { encoding: 'utf8', stdio: 'pipe' },
      )
    } catch (e) {
      code = (e as { status: number }).status
    }
    expect(code).toBe(1)
  })
})
