// Crash safety of the validator's state directory (src/validator/steps/commitWindow.ts,
// src/validator/resumeValidator.ts): a deterministic multi-window run (test/_crashValidator.ts:
// fixed drand key, virtual clock, in-process miners, real GRPO steps on the bundled tiny model,
// checkpoints published to a local Hub stored in the state directory) is SIGKILLed at least 20
// times, parked inside the atomic writes of staged and final archives, checkpoints and the state
// file, or at random times, and restarted each time. Between lives no file may be torn; at the end
// the archives, the EMA, the checkpoint chain and the trainer state must equal an uninterrupted
// run's, and no prompt or rollout may have been accepted twice. The same with the GRPO steps in
// the model worker (compute "worker", which writes the trainer state and checkpoints itself; the
// child then loads the worker from the build, `npx tsup`), against the in-process run.
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { custodyManifestSchema } from '../src/manifest/custodyManifest.js'
import { manifestDigest } from '../src/manifest/manifestDigest.js'
import { decodeWindowArchive } from '../src/window/archive/decodeWindowArchive.js'
import { windowArchiveKey } from '../src/window/archive/encodeWindowArchive.js'
import { buildCrashChild, runLife, type KillPlan, type Life } from './_crashRun.js'

const WINDOWS = 3
const MIN_KILLS = 20

let root: string
let child: string
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'reliquary-crash-'))
  child = await buildCrashChild()
})
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true })
  if (child) await rm(child, { force: true })
})

/** Deterministic kill schedule (seeded), so a failure reproduces. */
function schedule(seed: number): (started: number | null, kills: number) => KillPlan {
  let x = seed >>> 0 || 1
  const next = (): number => {
    x ^= x << 13
    x >>>= 0
    x ^= x >>> 17
    x ^= x << 5
    x >>>= 0
    return x / 2 ** 32
  }
  // Parked inside a write (every window publishes, so each comes within one window), in turn:
  // before the commit (the window is re-run on restart) and after it (it is finished on restart).
  const parks: KillPlan[] = [
    { park: 'file-partial .*pending/w\\d+/archive' },
    { park: 'file-partial .*window-\\d+\\.json\\.gz' },
    { park: 'dir-staged .*pending/w\\d+/checkpoint' },
    { park: 'dir-staged .*checkpoints/ckpt_\\d+' },
    { park: 'file-partial .*validator-state\\.json' },
    { park: 'file-staged .*validator-state\\.json', skip: 1 },
    { park: 'file-staged .*window-\\d+\\.json\\.gz' },
  ]
  const lastWindowPark = `file-partial .*pending/w${WINDOWS}/archive`
  let i = 0
  return (started, kills) => {
    if (kills >= MIN_KILLS) return {}
    const r = next()
    const k = i++
    // While starting or resuming (a pending window is finished then), or inside a window. A
    // timed kill that comes too late on a fast machine is caught by the park in the last window,
    // so the run cannot finish before its kills are done.
    if (k % 3 === 1) return { afterMs: 100 + Math.floor(r * 1600), park: lastWindowPark }
    // Near the end, only kills that lose the window keep the run from finishing early.
    if (started !== null && started >= WINDOWS - 1) return parks[k % 2 === 0 ? 0 : 4]!
    if (k % 3 === 2) return { afterStartedMs: Math.floor(r * 1500), park: lastWindowPark }
    return parks[Math.floor(k / 3) % parks.length]!
  }
}

/** Every committed archive decodes and the state file parses: nothing is torn. */
async function assertNothingTorn(dir: string): Promise<void> {
  const state = JSON.parse(
    await readFile(join(dir, 'validator-state.json'), 'utf8').catch(() => '{"windowN":0}'),
  )
  const archiveDir = join(dir, 'reliquary', 'dataset')
  const names = existsSync(archiveDir) ? await readdir(archiveDir) : []
  for (const n of names.filter((x) => x.endsWith('.json.gz')))
    await decodeWindowArchive(await readFile(join(archiveDir, n)))
  for (let w = 1; w < state.windowN; w++)
    expect(names, `archive of committed window ${w}`).toContain(`window-${w}.json.gz`)
}

/** The run's checkpoint revisions (hub commit ids) in order, and its custody manifests. */
async function hubChain(dir: string) {
  const repo = JSON.parse(await readFile(join(dir, 'hub', 'repos', 'crash__policy.json'), 'utf8'))
  const commits: { oid: string; title: string; files: [string, { oid: string }][] }[] = repo.commits
  const custody = []
  for (const c of commits.slice(1)) {
    const entry = c.files.find(([p]) => p === 'reliquary_custody.json')![1]
    custody.push(
      custodyManifestSchema.parse(
        JSON.parse(await readFile(join(dir, 'hub', 'blobs', entry.oid), 'utf8')),
      ),
    )
  }
  return {
    titles: commits.map((c) => c.title),
    revisions: commits.slice(1).map((c) => c.oid),
    custody,
  }
}

/** The archives of a run with each checkpoint revision replaced by its position in the chain. */
async function archivesOf(dir: string, revisions: readonly string[]) {
  const out = []
  for (let w = 1; w <= WINDOWS; w++) {
    const a = await decodeWindowArchive(
      await readFile(join(dir, ...windowArchiveKey(w).split('/'))),
    )
    for (const b of a.batch)
      b.claimed_checkpoint_hash = String(revisions.indexOf(b.claimed_checkpoint_hash))
    out.push(a)
  }
  return out
}

async function treeDigest(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue
    const p = join(e.parentPath, e.name)
    out[p.slice(dir.length)] = createHash('sha256')
      .update(await readFile(p))
      .digest('hex')
  }
  return out
}

/** The final state of `crashed` equals the uninterrupted run's at `reference`; nothing twice. */
async function expectSameFinalState(
  reference: string,
  refResult: NonNullable<Life['result']>,
  crashed: string,
  result: NonNullable<Life['result']>,
): Promise<void> {
  const { worker: _, ...mine } = result
  const { worker: __, ...theirs } = refResult
  expect(mine).toEqual(theirs)
  const [a, b] = [await hubChain(reference), await hubChain(crashed)]
  expect(b.titles).toEqual(a.titles)
  expect(new Set(b.titles).size).toBe(b.titles.length)
  const body = (c: (typeof a.custody)[number]) => ({ ...c, signature: '', parent: null })
  expect(b.custody.map(body)).toEqual(a.custody.map(body))
  for (const [i, c] of b.custody.entries())
    expect(c.parent).toBe(i === 0 ? null : manifestDigest(b.custody[i - 1]!))
  expect(await archivesOf(crashed, b.revisions)).toEqual(await archivesOf(reference, a.revisions))
  for (let n = 1; n <= result.checkpointN; n++)
    expect(await treeDigest(join(crashed, 'checkpoints', `ckpt_${n}`))).toEqual(
      await treeDigest(join(reference, 'checkpoints', `ckpt_${n}`)),
    )
  expect(await treeDigest(join(crashed, 'trainer'))).toEqual(
    await treeDigest(join(reference, 'trainer')),
  )

  // Nothing accepted twice: every prompt and every rollout hash is in one batch at most.
  const archives = await archivesOf(crashed, b.revisions)
  const prompts = archives.flatMap((x) => x.batch.map((s) => s.prompt_idx))
  const hashes = archives.flatMap((x) => x.batch.flatMap((s) => s.rollouts.map((r) => r.hash)))
  expect(new Set(prompts).size).toBe(prompts.length)
  expect(new Set(hashes).size).toBe(hashes.length)
  expect(prompts).toHaveLength(2 * WINDOWS)
}

/** Lives on `stateDir` under `plan` until one runs to the end (80 at most). */
async function livesUntilDone(
  stateDir: string,
  plan: (started: number | null, kills: number) => KillPlan,
  env: Record<string, string> = {},
): Promise<Life[]> {
  const lives: Life[] = []
  let started: number | null = null
  for (let i = 0; i < 80; i++) {
    const kills = lives.filter((l) => l.killed).length
    const life = await runLife(child, {
      stateDir,
      windows: WINDOWS,
      plan: plan(started, kills),
      env,
    })
    lives.push(life)
    if (life.started !== null) started = life.started
    if (!life.killed) {
      expect(life.code, life.stderr).toBe(0)
      break
    }
    await assertNothingTorn(stateDir)
  }
  return lives
}

test(`${MIN_KILLS}+ SIGKILLs at random points and inside writes: the final state equals an uninterrupted run`, async () => {
  const reference = join(root, 'reference')
  const ref = await runLife(child, { stateDir: reference, windows: WINDOWS })
  expect(ref.result, ref.stderr).not.toBeNull()

  const crashed = join(root, 'crashed')
  const lives = await livesUntilDone(crashed, schedule(20261204))
  const last = lives.at(-1)!
  expect(last.result, last.stderr).not.toBeNull()
  const killed = lives.filter((l) => l.killed)
  expect(killed.length).toBeGreaterThanOrEqual(MIN_KILLS)
  const parked = killed.map((l) => l.parked ?? '')
  expect(
    parked.some((p) => /window-\d+\.json\.gz/.test(p)),
    'a kill inside an archive write',
  ).toBe(true)
  expect(
    parked.some((p) => /checkpoint|ckpt_/.test(p)),
    'a kill inside a checkpoint write',
  ).toBe(true)
  expect(
    parked.some((p) => /validator-state/.test(p)),
    'a kill inside a state commit',
  ).toBe(true)

  await expectSameFinalState(reference, ref.result!, crashed, last.result!)
}, 600_000)

test('compute "worker": the worker writes the trainer state and checkpoints; killed and restarted, the state equals the in-process run', async () => {
  const reference = join(root, 'reference-in-process')
  const ref = await runLife(child, { stateDir: reference, windows: WINDOWS })
  expect(ref.result, ref.stderr).not.toBeNull()
  expect(ref.result!.worker).toBe(false)

  // Kills at random times inside windows and inside the main thread's writes (the worker's
  // checkpoint and trainer writes are not parked: the write hook is this thread's).
  const lastWindowPark = `file-partial .*pending/w${WINDOWS}/archive`
  const parks: KillPlan[] = [
    { park: 'file-partial .*pending/w\\d+/archive' },
    { afterStartedMs: 600, park: lastWindowPark },
    { park: 'file-staged .*validator-state\\.json', skip: 1 },
    { afterStartedMs: 1500, park: lastWindowPark },
    { park: 'file-partial .*window-\\d+\\.json\\.gz' },
    { afterStartedMs: 2500, park: lastWindowPark },
  ]
  const crashed = join(root, 'crashed-worker')
  const lives = await livesUntilDone(
    crashed,
    (_, kills) => (kills < parks.length ? parks[kills]! : {}),
    { CRASH_COMPUTE: 'worker' },
  )
  const last = lives.at(-1)!
  expect(last.result, last.stderr).not.toBeNull()
  expect(last.result!.worker).toBe(true)
  expect(lives.filter((l) => l.killed).length).toBeGreaterThanOrEqual(4)
  await expectSameFinalState(reference, ref.result!, crashed, last.result!)
}, 600_000)
