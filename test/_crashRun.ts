// Drives test/_crashValidator.ts in child processes for test/validator-crash.test.ts: bundles it
// once (esbuild; only TF.js left external, so each restart loads few files), runs it
// uninterrupted, and runs it under a kill schedule.
import { spawn } from 'node:child_process'
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '..')

/** Bundles the child script; returns its path. */
export async function buildCrashChild(): Promise<string> {
  const esbuild = await import('esbuild')
  const outdir = join(ROOT, 'node_modules', '.cache', 'reliquary-crash-test')
  await mkdir(outdir, { recursive: true })
  const outfile = join(outdir, `child-${process.pid}.mjs`)
  await esbuild.build({
    entryPoints: [join(ROOT, 'test', '_crashValidator.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'error',
    // TF.js's gradient registration is imported for its side effect only.
    ignoreAnnotations: true,
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    plugins: [
      {
        // TF.js stays external (its wasm backend finds its binary next to its module, and one
        // copy of tfjs-core must hold the kernel registry); everything else is bundled.
        name: 'external-tfjs',
        setup(b) {
          b.onResolve({ filter: /^@tensorflow\// }, (a) =>
            a.path.startsWith('@tensorflow/tfjs-core/dist/')
              ? undefined
              : { path: a.path, external: true },
          )
        },
      },
    ],
  })
  return outfile
}

/** What one life of the child did. */
export type Life = {
  /** Whether it was SIGKILLed (rather than exiting). */
  killed: boolean
  /** `<point> <path>` of the write it was parked in when killed, if any. */
  parked: string | null
  /** The window it resumed at (`STARTED n`), or null if killed before. */
  started: number | null
  /** The final `RESULT` document of a life that ran to the end. */
  result: {
    windowN: number
    ema: Record<string, number>
    checkpointN: number
    /** Whether the GRPO steps ran in the model worker. */
    worker: boolean
    commits: string[]
  } | null
  code: number | null
  stderr: string
}

/**
 * How a life ends: parked at a write matching `park` (after `skip` matches), `afterMs` after
 * spawn, `afterStartedMs` after it resumed (inside a window), or not at all.
 */
export type KillPlan = { park?: string; skip?: number; afterMs?: number; afterStartedMs?: number }

/** Runs the child once on `stateDir` until `windows` are committed, killing it as `plan` says. */
export function runLife(
  child: string,
  o: { stateDir: string; windows: number; plan?: KillPlan; env?: Record<string, string> },
): Promise<Life> {
  const plan = o.plan ?? {}
  return new Promise((done, fail) => {
    const p = spawn(process.execPath, [child], {
      cwd: ROOT,
      env: {
        ...process.env,
        CRASH_STATE_DIR: o.stateDir,
        CRASH_WINDOWS: String(o.windows),
        ...o.env,
        ...(plan.park ? { CRASH_PARK: plan.park, CRASH_PARK_SKIP: String(plan.skip ?? 0) } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const life: Life = {
      killed: false,
      parked: null,
      started: null,
      result: null,
      code: null,
      stderr: '',
    }
    let out = ''
    const kill = (): void => {
      if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
    }
    const timer = plan.afterMs !== undefined ? setTimeout(kill, plan.afterMs) : null
    p.stdout.setEncoding('utf8')
    p.stdout.on('data', (d: string) => {
      out += d
      for (;;) {
        const i = out.indexOf('\n')
        if (i < 0) break
        const line = out.slice(0, i)
        out = out.slice(i + 1)
        if (line.startsWith('PARKED ')) {
          life.parked = line.slice(7)
          kill()
        } else if (line.startsWith('STARTED ')) {
          life.started = Number(line.slice(8))
          if (plan.afterStartedMs !== undefined) setTimeout(kill, plan.afterStartedMs)
        } else if (line.startsWith('RESULT ')) life.result = JSON.parse(line.slice(7))
      }
    })
    p.stderr.setEncoding('utf8')
    p.stderr.on('data', (d: string) => {
      life.stderr = (life.stderr + d).slice(-4000)
    })
    p.on('error', fail)
    p.on('exit', (code, signal) => {
      if (timer) clearTimeout(timer)
      life.killed = signal === 'SIGKILL'
      life.code = code
      done(life)
    })
  })
}
