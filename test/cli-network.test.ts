// `reliquary validator` and `reliquary miner` as two processes, the way a user runs them: the
// validator (e3-demo: bundled tiny model, local drand chain, local Hub) prints the miner command,
// the miner runs it, and the window seals on its trigger, trains and publishes.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, test } from 'vitest'

const ROOT = join(import.meta.dirname, '..')
const CLI = join(ROOT, 'dist/cli/main.js')
const tmp = mkdtempSync(join(tmpdir(), 'reliquary-cli-network-'))
const children: ChildProcess[] = []

afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL')
  rmSync(tmp, { recursive: true, force: true })
})

/** Starts the CLI; resolves with its output and exit code when it exits. */
function run(
  args: string[],
  onLine?: (line: string) => void,
): { done: Promise<{ code: number | null; out: string }> } {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd: tmp,
    env: { ...process.env, RELIQUARY_HOTKEY: '' },
  })
  children.push(child)
  let out = ''
  let partial = ''
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString()
    partial += d.toString()
    const lines = partial.split('\n')
    partial = lines.pop()!
    for (const l of lines) onLine?.(l)
  })
  child.stderr.on('data', (d: Buffer) => {
    out += d.toString()
  })
  return {
    done: new Promise((resolve) => {
      child.on('error', (e) => resolve({ code: -1, out: `${out}\nspawn failed: ${e.message}` }))
      child.on('exit', (code) => resolve({ code, out }))
    }),
  }
}

describe.skipIf(!existsSync(CLI))('reliquary validator + reliquary miner', () => {
  test('a miner process mines a validator process: the window seals on its trigger, trains and publishes', async () => {
    let minerRun: ReturnType<typeof run> | null = null
    const validator = run(
      [
        'validator',
        '--profile',
        'e3-demo',
        '--port',
        '0',
        '--windows',
        '1',
        '--archive-dir',
        join(tmp, 'validator'),
      ],
      (line) => {
        const m = /^\s+npx reliquary (miner .*)$/.exec(line)
        if (m && !minerRun)
          minerRun = run([
            ...m[1]!.split(' '),
            '--windows',
            '1',
            '--groups',
            '12',
            '--cache-dir',
            join(tmp, 'miner'),
          ])
      },
    )
    const v = await validator.done
    expect(minerRun, v.out).not.toBeNull()
    const m = await minerRun!.done
    expect(v.code, v.out).toBe(0)
    expect(m.code, m.out).toBe(0)
    expect(v.out).toMatch(/window 1 sealed \(trigger\): \d+ valid submission\(s\), batch of 4/)
    expect(v.out).toMatch(/window 1 GRPO step: loss/)
    expect(v.out).toMatch(/window 1 published checkpoint 1: reliquary-local\/policy@[0-9a-f]{40}/)
    expect(v.out).toMatch(/stopped after 1 window\(s\); EMA: 5\w+… 0\.\d{4}/)
    expect(m.out).toMatch(/window 1: submitted \d+, accepted [1-9]\d*, rejected/)
    expect(existsSync(join(tmp, 'validator', 'checkpoints'))).toBe(true)
  }, 300_000)
})
