// `reliquary verify` and `reliquary manifest verify`: reference-layout documents judged with the
// reference's verdicts.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { manifestVerifyCommand, verifyCommand } from '../src/cli/verify.js'
import { createHotkey, signManifest } from '../src/index.js'
import { useBackend } from '../src/model/index.js'
import { filesWith, modelDir } from './_vectors.js'

const ROOT = join(import.meta.dirname, '..')
const dir = mkdtempSync(join(tmpdir(), 'reliquary-verify-'))
beforeAll(() => useBackend('wasm'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe.each(
  filesWith('proofs')
    .filter(({ doc }) => modelDir(doc))
    .map((f) => [f.file, f.doc] as const),
)('reliquary verify on %s', (file, doc) => {
  const model = modelDir(doc)!
  const profile = doc.meta?.constants?.PROOF_SKETCH_TOLERANCE_BASE === 1000 ? 'e1' : 'e3'
  const cases: [string, unknown, boolean][] = [
    ...(doc.proofs as any[]).slice(0, 3).map(
      (p, i) =>
        [
          `proof ${i}`,
          {
            tokens: p.tokens,
            commitments: (p.commitments as number[]).map((sketch) => ({ sketch })),
          },
          p.verify_self.all_passed,
        ] as [string, unknown, boolean],
    ),
    ...((doc.attacks ?? []) as any[]).map(
      (a) =>
        [
          `attack ${a.name}`,
          {
            tokens: a.tokens,
            commitments: (a.commitments as number[]).map((sketch) => ({ sketch })),
          },
          a.all_passed,
        ] as [string, unknown, boolean],
    ),
  ]
  test.each(cases)('%s gets the reference verdict', async (name, commit, expected) => {
    const f = join(dir, `${file}-${name.replace(/\W/g, '_')}.json`)
    writeFileSync(f, JSON.stringify(commit))
    const r = await verifyCommand({ file: f, model, randomness: doc.randomness, profile })
    expect(r.accepted).toBe(expected)
  })

  test('the CLI prints verdicts and exits 1 on a forgery', () => {
    const a = (doc.attacks as any[])[0]
    const f = join(dir, 'forgery.json')
    writeFileSync(
      f,
      JSON.stringify({
        tokens: a.tokens,
        commitments: a.commitments.map((sketch: number) => ({ sketch })),
      }),
    )
    let status = 0
    let out = ''
    try {
      execFileSync(
        process.execPath,
        [
          '--import',
          'tsx',
          join(ROOT, 'src/cli/main.ts'),
          'verify',
          f,
          '--model',
          model,
          '--randomness',
          doc.randomness,
          '--profile',
          profile,
          '--json',
        ],
        { encoding: 'utf8', stdio: 'pipe' },
      )
    } catch (e) {
      status = (e as { status: number }).status
      out = (e as { stdout: string }).stdout
    }
    expect(status).toBe(1)
    expect(JSON.parse(out).rollouts[0].reason).toBe('grail_fail')
  })
})

test('manifest verify: reference manifests signed by the validator verify, others do not', async () => {
  const validator = await createHotkey('//Alice')
  const other = await createHotkey('//Bob')
  const m = signManifest(validator, {
    checkpointN: 3,
    repoId: 'org/model',
    revision: 'a'.repeat(40),
  })
  const f = join(dir, 'manifest.json')
  writeFileSync(f, JSON.stringify(m))
  expect((await manifestVerifyCommand({ source: f, validator: validator.address })).valid).toBe(
    true,
  )
  expect((await manifestVerifyCommand({ source: f, validator: other.address })).valid).toBe(false)
})
