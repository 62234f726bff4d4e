// `npm run fuzz [-- --runs N --seed S --only SUBSTRING --json]`: fuzzes every wire and file parser
// (bench/fuzz/targets.ts) with fast-check, 100,000 generated inputs each by default, and prints one
// row per parser: inputs, accepted, typed rejections by code, slowest input, findings. Exit code 1
// on any finding (a crash that is not a ReliquaryError, or an input over the time bound).
import { mergeResults, runFuzz, type FuzzResult } from './fuzz/runFuzz.js'
import { fuzzTargets } from './fuzz/targets.js'
import { benchArgs } from './_args.js'

const values = benchArgs({
  runs: { type: 'integer', default: 100_000 },
  seed: { type: 'integer', default: 20261204 },
  only: { type: 'string' },
  'max-ms': { type: 'number', default: 2000 },
  json: { type: 'boolean' },
})
const { runs: numRuns, seed, 'max-ms': maxMsPerInput } = values
const results: FuzzResult[] = []
for (const t of await fuzzTargets()) {
  if (values.only && !t.name.includes(values.only)) continue
  // Chunks of at most 10,000 inputs (seeds seed, seed + 1, …) so progress shows on stderr.
  let r: FuzzResult | null = null
  for (let done = 0, k = 0; done < numRuns; k++) {
    const n = Math.min(10_000, numRuns - done)
    const c = await runFuzz(t, { numRuns: n, seed: seed + k, maxMsPerInput })
    r = r === null ? c : mergeResults(r, c)
    done += n
    console.error(
      `${t.name}: ${r.runs} inputs, ${(r.totalMs / 1000).toFixed(0)} s, findings: ${r.finding ?? 0}`,
    )
    if (c.finding !== null) break
  }
  if (r === null) continue
  results.push(r)
  const codes = Object.entries(r.rejected)
    .sort((a, b) => b[1] - a[1])
    .map(([c, n]) => `${c} ${n}`)
    .join(', ')
  console.log(
    `| ${r.name} | ${r.kind} | ${r.runs} | ${r.accepted} | ${codes} | ${r.maxMs.toFixed(1)} ms | ${(r.totalMs / 1000).toFixed(1)} s | ${r.finding ?? 0} |`,
  )
}
if (values.json) console.log(JSON.stringify({ numRuns, seed, maxMsPerInput, results }, null, 2))
process.exitCode = results.some((r) => r.finding !== null) ? 1 : 0
