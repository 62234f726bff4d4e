// A miner process riding through a validator restart, the way an operator lives it: `reliquary
// validator --profile e3-demo --state-dir S --port P` and the `reliquary miner` it prints run as
// two processes; once window 1 is sealed and window 2 is open the validator is SIGKILLed and
// started again with the same command. The miner, never restarted and given no new flag, keeps
// mining: it is accepted in the window the restarted validator opens, that window seals, and no
// prompt or rollout appears in two windows' archives.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'
import { decodeWindowArchive } from '../src/window/archive/decodeWindowArchive.js'

const ROOT = join(import.meta.dirname, '..')
const CLI = join(ROOT, 'dist/cli/main.js')
const tmp = mkdtempSync(join(tmpdir(), 'reliquary-cli-restart-'))
const children: ChildProcess[] = []
const outputs: (() => string)[] = []
/** The tails of every process's output (for a failure message). */
const others = () => outputs.map((o) => o().slice(-3000)).join('\n--\n')

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
  rmSync(tmp, { recursive: true, force: true })
})

type Line = Record<string, unknown> & { msg?: string; event?: string; window?: number }

/** A CLI process whose JSON log lines are kept and can be waited for. */
function start(args: string[]) {
  const child = spawn(process.execPath, [CLI, ...args, '--log-format', 'json'], {
    cwd: tmp,
    env: { ...process.env, RELIQUARY_HOTKEY: '' },
  })
  children.push(child)
  const lines: Line[] = []
  let out = ''
  let partial = ''
  const waiters: { pred: (l: Line) => boolean; resolve: (l: Line) => void }[] = []
  const take = (text: string) => {
    let l: Line
    try {
      l = JSON.parse(text) as Line
    } catch {
      l = { msg: text }
    }
    lines.push(l)
    for (const w of [...waiters])
      if (w.pred(l)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(l)
      }
  }
  const onData = (d: Buffer) => {
    out += d.toString()
    partial += d.toString()
    const parts = partial.split('\n')
    partial = parts.pop()!
    for (const p of parts) if (p.trim()) take(p)
  }
  outputs.push(() => out)
  child.stdout.on('data', onData)
  child.stderr.on('data', onData)
  const exited = new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)))
  return {
    child,
    lines,
    out: () => out,
    exited,
    /**
     * The first line (already seen or to come) matching `pred`; rejects with the output's tail if
     * the process exits first or `ms` pass.
     */
    waitFor(pred: (l: Line) => boolean, what: string, ms = 240_000): Promise<Line> {
      const seen = lines.find(pred)
      if (seen) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        const fail = (why: string) =>
          reject(new Error(`${what}: ${why}\n${out.slice(-6000)}\n--\n${others()}`))
        const timer = setTimeout(() => fail(`not seen in ${ms} ms`), ms)
        waiters.push({
          pred,
          resolve: (l) => {
            clearTimeout(timer)
            resolve(l)
          },
        })
        void exited.then((code) => {
          clearTimeout(timer)
          fail(`the process exited (${code}) first`)
        })
      })
    },
  }
}

async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as { port: number }).port
  await new Promise((r) => s.close(r))
  return port
}

const isEvent = (event: string, window?: number) => (l: Line) =>
  l.event === event && (window === undefined || l.window === window)
const accepted = (l: Line) => l.event === 'submission' && l.reason === 'accepted'

describe.skipIf(!existsSync(CLI))('reliquary miner through a validator restart', () => {
  test('SIGKILL mid-run and a restart on the same state dir: the unchanged miner is accepted again and nothing is accepted twice', async () => {
    const stateDir = join(tmp, 'validator')
    const port = await freePort()
    const validatorArgs = [
      'validator',
      '--profile',
      'e3-demo',
      '--port',
      String(port),
      '--state-dir',
      stateDir,
    ]
    const first = start(validatorArgs)
    const command = await first.waitFor(
      (l) => typeof l.msg === 'string' && /^\s+npx reliquary miner /.test(l.msg),
      'the miner command',
    )
    const minerArgs = (command.msg as string).trim().split(/\s+/).slice(2)
    const miner = start([...minerArgs, '--cache-dir', join(tmp, 'miner')])
    await first.waitFor(isEvent('sealed', 1), 'window 1 sealed')
    await first.waitFor(isEvent('open', 2), 'window 2 open')
    first.child.kill('SIGKILL')
    await first.exited
    const beforeKill = first.lines.filter(accepted).length
    expect(beforeKill).toBeGreaterThan(0)

    const second = start(validatorArgs)
    const resumed = await second.waitFor(isEvent('resumed'), 'resumed')
    expect(resumed.window).toBe(1)
    // The miner, untouched, is accepted in the window the restarted validator runs.
    const again = await second.waitFor(
      (l) => accepted(l) && typeof l.window === 'number' && l.window >= 2,
      'an accepted submission after the restart',
    )
    await second.waitFor(isEvent('sealed', again.window), `window ${again.window} sealed`)
    // The same miner process throughout: it never exited.
    expect(miner.child.exitCode).toBeNull()
    expect(miner.child.signalCode).toBeNull()
    second.child.kill('SIGTERM')
    miner.child.kill('SIGTERM')
    await Promise.all([second.exited, miner.exited])

    // Nothing accepted twice: every prompt and every rollout hash is in one batch at most.
    const files = (await readdir(stateDir, { recursive: true }))
      .map(String)
      .filter((f) => /(^|\/)window-\d+\.json\.gz$/.test(f) && !f.includes('pending'))
    const archives = await Promise.all(
      files.map(async (f) => decodeWindowArchive(await readFile(join(stateDir, f)))),
    )
    expect(archives.map((a) => a.window_start).sort((x, y) => x - y)).toEqual([1, again.window])
    const prompts = archives.flatMap((x) => x.batch.map((s) => s.prompt_idx))
    const hashes = archives.flatMap((x) => x.batch.flatMap((s) => s.rollouts.map((r) => r.hash)))
    expect(new Set(prompts).size).toBe(prompts.length)
    expect(new Set(hashes).size).toBe(hashes.length)
  }, 600_000)
})
