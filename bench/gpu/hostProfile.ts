// The host side of batched generation on the webgpu backend: JavaScript main-thread time and the
// WebGPU/TF.js objects created per decode step, on a checkpoint with Qwen3-0.6B's layer count but
// tiny widths, so that the adapter's own work is small (on software Vulkan it runs on other
// threads). Part `host` of generate.ts; relative imports only (bundled with esbuild).
//
// Per step = (call with HOST_NEW2 new tokens − call with HOST_NEW1) / (HOST_NEW2 − HOST_NEW1): the
// prefill, cache set-up and first-call compilation cancel out. "host ms" is the synchronous time the
// loop spends issuing one decode step: between `gpuGenerateBatchSwitches.onStep` calls where the
// code has them (recording or replaying the step, its buffer writes and copies, the submit); for
// code without them (before the step replay) the time in outermost tf.tidy calls, where each step
// was recorded (its TF.js ops, the kernels' set-up, bind groups, uniform writes and the submits
// made on the way). "host cpu ms" is the main thread's CPU time over the same spans (Linux
// schedstat): unlike elapsed time it does not grow when other processes take the cores. "wall ms"
// is the elapsed time (on software Vulkan mostly the adapter's own work); "main thread busy" is
// performance.eventLoopUtilization's active time, which also counts the polling the webgpu package
// does while a readback waits. Counts are per step from the last pair of calls; times the median
// over HOST_REPEATS pairs. With the switch, both modes run in the same process (replay off, then
// on) and `same_output_as_first_mode` compares their tokens and log-probs.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { performance } from 'node:perf_hooks'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import * as gpu from '../../src/gpu/index.js'
import { gpuGenerateBatch, loadGpuModel, type GpuPrecision } from '../../src/gpu/index.js'
import { writeSafetensors } from '../../src/model/index.js'
import { randomQwen3Weights } from '../_randomQwen3.js'

/** A Qwen3-shaped checkpoint with `layers` layers of hidden 64 and random weights. */
export async function writeTinyCheckpoint(dir: string, layers: number): Promise<void> {
  const cfg = {
    architectures: ['Qwen3ForCausalLM'],
    model_type: 'qwen3',
    attention_bias: false,
    eos_token_id: 1,
    head_dim: 16,
    hidden_act: 'silu',
    hidden_size: 64,
    intermediate_size: 128,
    max_position_embeddings: 4096,
    num_attention_heads: 4,
    num_hidden_layers: layers,
    num_key_value_heads: 2,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
    tie_word_embeddings: true,
    torch_dtype: 'float32',
    vocab_size: 1024,
  }
  const t = randomQwen3Weights(cfg, { seed: 777, embedScale: 1 })
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg))
  await writeSafetensors(join(dir, 'model.safetensors'), t)
}

type Counts = Record<string, number>

/** CPU time of the calling (main) thread in ms, from Linux's schedstat (0 where there is none). */
function threadCpuMs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6
  } catch {
    return 0
  }
}

/**
 * Counts, from now on, the WebGPU objects and calls the process makes (device, queue, buffers,
 * command encoders, passes) and the TF.js tensors created. Returns a snapshot function.
 */
export function countHostObjects(): () => Counts {
  const c: Counts = {}
  const bump = (k: string) => {
    c[k] = (c[k] ?? 0) + 1
  }
  // biome-ignore lint/suspicious/noExplicitAny: instrumenting untyped backend internals
  const wrap = (o: any, name: string, key: string, after?: (r: any) => void) => {
    const f = o[name]
    // biome-ignore lint/suspicious/noExplicitAny: see above
    o[name] = function (this: unknown, ...a: any[]) {
      bump(key)
      const r = f.apply(this, a)
      after?.(r)
      return r
    }
  }
  // biome-ignore lint/suspicious/noExplicitAny: see above
  const b = tf.backend() as any
  const dev = b.device
  for (const n of [
    'createBindGroup',
    'createBuffer',
    'createComputePipeline',
    'createShaderModule',
    'createQuerySet',
  ])
    wrap(dev, n, n)
  // biome-ignore lint/suspicious/noExplicitAny: see above
  wrap(dev, 'createCommandEncoder', 'createCommandEncoder', (enc: any) =>
    // biome-ignore lint/suspicious/noExplicitAny: see above
    wrap(enc, 'beginComputePass', 'beginComputePass', (pass: any) =>
      wrap(pass, 'dispatchWorkgroups', 'dispatchWorkgroups'),
    ),
  )
  wrap(b.queue, 'submit', 'queue.submit')
  wrap(b.queue, 'writeBuffer', 'queue.writeBuffer')
  const G = (globalThis as { GPUBuffer?: { prototype: object } }).GPUBuffer
  if (G) wrap(G.prototype, 'mapAsync', 'buffer.mapAsync')
  wrap(b.bufferManager, 'acquireBuffer', 'bufferManager.acquireBuffer')
  wrap(b, 'runWebGPUProgram', 'tfjs.runWebGPUProgram')
  wrap(tf.engine(), 'nextTensorId', 'tfjs.tensorsCreated')
  // Synchronous time in outermost tf.tidy calls (a decode step is recorded in one) and in submits.
  const e = tf.engine() as unknown as { tidy: (...a: unknown[]) => unknown }
  const tidy = e.tidy
  let depth = 0
  e.tidy = function (this: unknown, ...a: unknown[]) {
    const t0 = performance.now()
    const u0 = depth === 0 ? threadCpuMs() : 0
    depth++
    try {
      return tidy.apply(this, a)
    } finally {
      depth--
      if (depth === 0) {
        c.tidyMs = (c.tidyMs ?? 0) + performance.now() - t0
        c.tidyCpuMs = (c.tidyCpuMs ?? 0) + threadCpuMs() - u0
      }
    }
  }
  const submit = b.queue.submit
  b.queue.submit = function (this: unknown, ...a: unknown[]) {
    const t0 = performance.now()
    try {
      return submit.apply(this, a)
    } finally {
      c.submitMs = (c.submitMs ?? 0) + performance.now() - t0
    }
  }
  return () => ({ ...c })
}

/** Median of a list of numbers. */
const median = (a: number[]) => [...a].sort((x, y) => x - y)[(a.length - 1) >> 1]!

/** One generation call: host ms, wall ms and the objects it created. */
async function measured(
  snap: () => Counts,
  run: () => Promise<unknown>,
): Promise<{ hostMs: number; wallMs: number; counts: Counts }> {
  const c0 = snap()
  const e0 = performance.eventLoopUtilization()
  const t0 = performance.now()
  await run()
  const wallMs = performance.now() - t0
  const e = performance.eventLoopUtilization(e0)
  const c1 = snap()
  const counts: Counts = {}
  for (const k of Object.keys(c1)) counts[k] = (c1[k] ?? 0) - (c0[k] ?? 0)
  return { hostMs: e.active, wallMs, counts }
}

/**
 * Per-step host time, wall time and objects created for `gpuGenerateBatch` on a tiny 28-layer
 * checkpoint, for each precision; one row each.
 */
export async function hostProfile(env: (k: string, d: number) => number): Promise<unknown[]> {
  const dir = join(tmpdir(), `reliquary-host-profile-${process.pid}`)
  await writeTinyCheckpoint(dir, env('HOST_LAYERS', 28))
  const objects = countHostObjects()
  const snap = () => ({ ...objects(), stepMs, stepCpuMs })
  const rows: unknown[] = []
  const B = env('HOST_SEQS', 64)
  const [n1, n2] = [env('HOST_NEW1', 2), env('HOST_NEW2', 10)]
  // Code before the replay has no switch: then only its own mode is measured (`null`).
  const switches = (
    gpu as {
      gpuGenerateBatchSwitches?: {
        replaySteps: boolean
        onStep?: (phase: 'begin' | 'end') => void
      }
    }
  ).gpuGenerateBatchSwitches
  let [stepMs, stepCpuMs, t0, c0] = [0, 0, 0, 0]
  if (switches)
    switches.onStep = (phase) => {
      if (phase === 'begin') {
        t0 = performance.now()
        c0 = threadCpuMs()
      } else {
        stepMs += performance.now() - t0
        stepCpuMs += threadCpuMs() - c0
      }
    }
  const modes = switches ? [false, true] : [null]
  for (const precision of (process.env.HOST_PRECISIONS ?? 'f32,f16').split(',') as GpuPrecision[]) {
    const gm = await loadGpuModel(dir, { precision })
    try {
      const prompts = Array.from({ length: B }, (_, i) =>
        Array.from({ length: 8 + (i % 8) }, (_, j) => 2 + ((j * 37 + i * 101) % 1000)),
      )
      const o = {
        temperature: 0.9,
        eosTokenIds: [] as number[],
        seeds: prompts.map((_, i) => 1000 + i),
        syncEvery: env('GEN_SYNC', 8),
      }
      const call = (n: number) => () => gpuGenerateBatch(gm, prompts, { ...o, maxNewTokens: n })
      const seen: string[] = []
      for (const replay of modes) {
        if (switches && replay !== null) switches.replaySteps = replay
        const out = await call(n2)()
        seen.push(JSON.stringify(out.map((r) => [r.completion, r.logprobs])))
        const host: number[] = []
        const wall: number[] = []
        const rec: number[] = []
        const cpu: number[] = []
        let per: Counts = {}
        const tensors0 = tf.memory().numTensors
        for (let r = 0; r < env('HOST_REPEATS', 3); r++) {
          const a = await measured(snap, call(n1))
          const z = await measured(snap, call(n2))
          host.push((z.hostMs - a.hostMs) / (n2 - n1))
          wall.push((z.wallMs - a.wallMs) / (n2 - n1))
          per = {}
          for (const k of Object.keys(z.counts))
            per[k] = ((z.counts[k] ?? 0) - (a.counts[k] ?? 0)) / (n2 - n1)
          rec.push(switches ? (per.stepMs ?? 0) : (per.tidyMs ?? 0))
          cpu.push(switches ? (per.stepCpuMs ?? 0) : (per.tidyCpuMs ?? 0))
        }
        rows.push({
          precision,
          replay_steps: replay,
          layers: gm.config.numLayers,
          sequences: B,
          steps_compared: [n1, n2],
          host_ms_per_step: median(rec),
          host_ms_samples: rec,
          host_cpu_ms_per_step: median(cpu),
          host_cpu_ms_samples: cpu,
          submit_ms_per_step: per.submitMs,
          main_thread_busy_ms_per_step: median(host),
          wall_ms_per_step: median(wall),
          per_step: per,
          tensors_leaked: tf.memory().numTensors - tensors0,
          same_output_as_first_mode: seen[seen.length - 1] === seen[0],
        })
      }
    } finally {
      gm.dispose()
    }
  }
  return rows
}
