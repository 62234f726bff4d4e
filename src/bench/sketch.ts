import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { computeSketch } from '../grail/computeSketch.js'
import { deriveSketchCoefficients } from '../grail/coefficients.js'
import { verifySketch } from '../grail/verifySketch.js'
import { makeRng, median, timeRuns } from './stats.js'

/** Options of the sketch benchmark. */
export type SketchBenchOptions = {
  rows?: number | undefined
  cols?: number | undefined
  repeats?: number | undefined
  /** Path of the torch baseline script; run in the same process tree when it exists. */
  baseline?: string | undefined
  /** Python interpreter with torch. @default /usr/bin/python3 */
  python?: string | undefined
}

/** One benchmark line. */
export type BenchLine = {
  what: string
  median_s: number
  per_s: number
  unit: string
  [k: string]: unknown
}

/**
 * Times `computeSketch` over a `[rows, cols]` heavy-tailed float32 matrix and `verifySketch` on
 * the 32 challenged positions (median of `repeats` runs), and, when the torch baseline script is
 * available, runs it in the same invocation for a side-by-side figure.
 */
export function runSketchBench(o: SketchBenchOptions = {}): {
  machine: Record<string, unknown>
  results: BenchLine[]
} {
  const rows = o.rows ?? 4096
  const cols = o.cols ?? 2560
  const repeats = Math.max(5, o.repeats ?? 7)
  const rng = makeRng(0)
  // Same distribution as the torch baseline: randn · exp(6·U − 1), heavy-tailed like real activations.
  const data = new Float32Array(rows * cols)
  for (let i = 0; i < data.length; i++) data[i] = rng.normal() * Math.exp(rng.uniform() * 6 - 1)
  const hidden = { data, hiddenSize: cols }
  const randomness = 'b8ae25a3d8be558258bd42c986a27580c1754c29f418fd135045adcb3721cf0b'
  const coeffs = deriveSketchCoefficients(randomness)
  let sketches: number[] = []
  // Three warm-up calls let V8 finish tiering the hot loops (steady state, as a long-running validator sees it).
  const tCompute = median(
    timeRuns(
      () => {
        sketches = computeSketch(hidden, coeffs)
      },
      repeats,
      3,
    ),
  )
  const tokens = Array.from({ length: rows }, (_, i) => (i * 7919) % 151_000)
  const commitments = sketches.map((sketch) => ({ sketch }))
  let valid = false
  const tVerify = median(
    timeRuns(
      () => {
        valid = verifySketch({ tokens, commitments, randomness, hidden }).valid
      },
      Math.max(repeats, 15),
      5,
    ),
  )
  if (!valid) throw new Error('benchmark self-check failed: a fresh proof did not verify')
  const results: BenchLine[] = [
    {
      what: 'reliquary_computeSketch',
      rows,
      cols,
      median_s: tCompute,
      per_s: rows / tCompute,
      unit: 'positions',
      repeats,
    },
    {
      what: 'reliquary_verifySketch',
      rows,
      cols,
      positions: 32,
      median_s: tVerify,
      per_s: 32 / tVerify,
      unit: 'positions',
      repeats: Math.max(repeats, 15),
    },
  ]
  const script = o.baseline
  if (script && existsSync(script)) {
    const py = o.python ?? '/usr/bin/python3'
    const r = spawnSync(py, [script, 'sketch', String(rows), String(cols), String(repeats)], {
      encoding: 'utf8',
    })
    if (r.status === 0) {
      for (const line of r.stdout.split('\n'))
        if (line.trim().startsWith('{')) results.push(JSON.parse(line) as BenchLine)
    } else {
      results.push({
        what: 'torch_sketch',
        median_s: Number.NaN,
        per_s: Number.NaN,
        unit: 'positions',
        error: (r.stderr || r.error?.message || '').split('\n').slice(-3).join(' '),
      })
    }
  }
  return { machine: machineInfo(), results }
}

/** Host description recorded beside every benchmark. @internal */
export function machineInfo(): Record<string, unknown> {
  const c = cpus()
  return {
    cpu: c[0]?.model ?? 'unknown',
    cores: c.length,
    memory_gib: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
  }
}
