// `npx tsx bench/validator-step-stall.ts`: how long the server thread's event loop stalls, and how
// much CPU it spends, while the validator's model worker runs a GRPO step on a full batch (8 groups
// × 8 rollouts × 44 tokens, the tiny Qwen3 fixture, wasm), with no HTTP around it: the part of
// `bench:validator`'s GRPO-step rows that is this thread's own work. Per step: the loop delay's
// p99 and maximum (`monitorEventLoopDelay`, 1 ms resolution), this thread's CPU
// (`/proc/self/task`, 10 ms ticks) and the step's wall time; then, where the
// worker has one, the same for `pull()` (the main thread taking the step's result).
// Needs the build (`npx tsup`) for the worker's gradient registration.
//
//   npx tsx bench/validator-step-stall.ts [--model DIR] [--steps N] [--save-every N,...] [--json]
// (--save-every: the worker's `stateSaveEvery`, one pass per value, in the same run; with no pull
// between steps, `pull` rows only after the last step.)
import { cpus, loadavg } from 'node:os'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import * as tf from '@tensorflow/tfjs-core'
import type { GrpoBatch } from '../src/grpo/types.js'
import { useBackend } from '../src/model/backend.js'
import { e3 } from '../src/protocol/profiles.js'
import {
  disposeValidatorModels,
  loadValidatorModels,
} from '../src/validator/loadValidatorModels.js'
import { createModelWorker } from '../src/validator/worker/createModelWorker.js'
import { parseArgs } from './_args.js'
import { mainThreadCpuMs } from './_threadCpu.js'

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'test/fixtures/reference/qwen3-tiny-s0' },
    steps: { type: 'string', default: '5' },
    'save-every': { type: 'string' },
    json: { type: 'boolean', default: false },
  },
})
const modelDir = values.model!

type Stall = {
  wall_ms: number
  loop_delay_p99_ms: number
  loop_delay_max_ms: number
  cpu_ms: number
}

/** Runs `work` while watching this thread's event loop (which otherwise idles). */
async function watched(work: () => Promise<unknown>): Promise<Stall> {
  const delay = monitorEventLoopDelay({ resolution: 1 })
  delay.enable()
  const cpu0 = mainThreadCpuMs()
  const t0 = performance.now()
  await work()
  const wall = performance.now() - t0
  const cpu = mainThreadCpuMs() - cpu0
  delay.disable()
  return {
    wall_ms: Number(wall.toFixed(1)),
    loop_delay_p99_ms: Number((delay.percentile(99) / 1e6).toFixed(1)),
    loop_delay_max_ms: Number((delay.max / 1e6).toFixed(1)),
    cpu_ms: cpu,
  }
}

/** A full E3 batch (8 groups × 8 rollouts, 40 completion tokens) over the model's vocabulary. */
function fullBatch(vocab: number, k: number): GrpoBatch {
  return Array.from({ length: 8 }, (_, g) => ({
    promptIdx: g,
    rollouts: Array.from({ length: 8 }, (_, i) => {
      const completion = Array.from(
        { length: 40 },
        (_, t) => (g * 131 + i * 17 + t * 7 + k * 3) % vocab,
      )
      return {
        tokens: [3, 4, 5, 6, ...completion],
        promptLength: 4,
        reward: i % 2,
        tokenLogprobs: completion.map(() => -6),
      }
    }),
  }))
}

await useBackend('wasm')
const start = tf.memory().numTensors
const rows: Record<string, number | string>[] = []
const load0 = loadavg()[0]!
for (const every of (values['save-every'] ?? '').split(',')) {
  const stateSaveEvery = every === '' ? undefined : Number(every)
  const models = await loadValidatorModels({ modelDir, profile: e3 })
  const worker = await createModelWorker({
    models,
    modelDir,
    grpo: { profile: e3 },
    stateSaveEvery,
  })
  try {
    const vocab = models.policy.config.vocabSize
    // The first step also gives the worker the main thread's trainer (once per worker).
    await worker.step(fullBatch(vocab, 0))
    const pull = (worker as { pull?: () => Promise<void> }).pull
    // --save-every: steps back to back (as the validator runs them), one pull at the end.
    const pullEach = stateSaveEvery === undefined
    if (pull && pullEach) await pull()
    const saves0 = (worker as { stateSaves?: number }).stateSaves ?? null
    for (let k = 1; k <= Number(values.steps); k++) {
      const s = await watched(() => worker.step(fullBatch(vocab, k)))
      rows.push({ call: 'step', k, save_every: every || 'default', ...s })
      if (pull && pullEach) rows.push({ call: 'pull', k, ...(await watched(() => pull())) })
    }
    if (saves0 !== null)
      rows.push({
        call: 'state_saves',
        save_every: every || 'default',
        saves: (worker as { stateSaves?: number }).stateSaves! - saves0,
      })
    if (pull && !pullEach) rows.push({ call: 'pull', k: 'last', ...(await watched(() => pull())) })
  } finally {
    await worker.close()
    disposeValidatorModels(models)
  }
}
if (tf.memory().numTensors !== start) throw new Error('tensors leaked')
if (!values.json) for (const r of rows) console.log(JSON.stringify(r))
console.log(
  JSON.stringify({
    bench: 'validator-step-stall',
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    load: [Number(load0.toFixed(2)), Number(loadavg()[0]!.toFixed(2))],
    rows,
  }),
)
