// Peak TF.js memory and time of one GRPO step (createTrainer().step) at a small Qwen3 shape with
// random weights, with and without layer checkpointing (`checkpointLayers`) and, on webgpu, on
// TF.js's own product kernels and ops against the src/gpu GEMMs (`tapeMatMul`) and fused
// RMSNorm / RoPE / SwiGLU with their backward kernels (`tapeFused`):
//   npx tsup --silent   # once: the gradients load from the built package
//   npx tsx bench/grpo-memory.ts --backend wasm
//   source .ci/vulkan.sh && npx tsx bench/grpo-memory.ts --backend webgpu
// Peaks are over the timed step (after a warm-up step): `peak_num_bytes` is the highest
// `tf.memory().numBytes` (every tensor counted, a clone sharing its buffer included: the figure
// TF.js reports), `peak_buffer_growth_bytes` the highest growth of the sum over distinct tensor
// buffers since the step began. Both are read on every change of the engine's counters.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { tapeFusedOptions } from '../src/gpu/tapeFused.js'
import { tapeMatMulOptions } from '../src/gpu/tapeMatMul.js'
import { createTrainer, type GrpoBatch } from '../src/grpo/index.js'
import { type CausalLM, loadModel, useBackend, writeSafetensors } from '../src/model/index.js'
import { benchArgs } from './_args.js'
import { randomQwen3Weights } from './_randomQwen3.js'
import { peakMeter } from './_peakMeter.js'

const a = benchArgs(
  {
    backend: { type: 'string', default: 'wasm' },
    layers: { type: 'integer', default: 8 },
    hidden: { type: 'integer', default: 256 },
    intermediate: { type: 'integer', default: 768 },
    heads: { type: 'integer', default: 4 },
    'kv-heads': { type: 'integer', default: 2 },
    'head-dim': { type: 'integer', default: 64 },
    vocab: { type: 'integer', default: 4096 },
    groups: { type: 'integer', default: 2 },
    rollouts: { type: 'integer', default: 4 },
    seq: { type: 'integer', default: 96 },
    prompt: { type: 'integer', default: 16 },
    'per-pass': { type: 'integer', default: 4 },
    repeats: { type: 'integer', default: 1 },
  },
  {},
)

/** A random Qwen3-shaped checkpoint (tied embeddings) in a temporary folder. */
async function writeModel(dir: string): Promise<void> {
  const cfg = {
    architectures: ['Qwen3ForCausalLM'],
    model_type: 'qwen3',
    head_dim: a['head-dim'],
    hidden_act: 'silu',
    hidden_size: a.hidden,
    intermediate_size: a.intermediate,
    max_position_embeddings: 4096,
    num_attention_heads: a.heads,
    num_hidden_layers: a.layers,
    num_key_value_heads: a['kv-heads'],
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
    tie_word_embeddings: true,
    vocab_size: a.vocab,
  }
  const t = randomQwen3Weights(cfg, { seed: 12345, embedScale: 0.05 })
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg))
  await writeSafetensors(join(dir, 'model.safetensors'), t, { dtype: 'F32' })
}

/** The batch, with π_old the model's own completion log-probs (float64 log-softmax in JS). */
async function makeBatch(model: CausalLM): Promise<GrpoBatch> {
  const V = a.vocab
  const groups: GrpoBatch[number][] = []
  for (let g = 0; g < a.groups; g++) {
    const rollouts = []
    for (let m = 0; m < a.rollouts; m++) {
      const r = g * a.rollouts + m
      const tokens = Array.from(
        { length: a.seq },
        (_, j) => 1 + ((j * 7919 + (r + 11) * 104729) % (V - 1)),
      )
      const { hidden, logits } = model.forward(tokens)
      const lg = (await logits.data()) as Float32Array
      tf.dispose([hidden, logits])
      const lps: number[] = []
      for (let t = a.prompt; t < tokens.length; t++) {
        const row = lg.subarray((t - 1) * V, t * V)
        let mx = -Infinity
        for (const x of row) mx = Math.max(mx, x)
        let sum = 0
        for (const x of row) sum += Math.exp(x - mx)
        lps.push(row[tokens[t]!]! - mx - Math.log(sum))
      }
      rollouts.push({ tokens, promptLength: a.prompt, reward: (g + m) % 2, tokenLogprobs: lps })
    }
    groups.push({ rollouts })
  }
  return groups
}

/** CPU time of the calling (main) thread in ms, from Linux's schedstat (0 where there is none). */
function threadCpuMs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6
  } catch {
    return 0
  }
}

await useBackend(a.backend as 'wasm' | 'webgpu' | 'cpu')
// On webgpu every dispatch (TF.js's programs and the src/gpu kernels) creates one bind group:
// counting them counts the step's kernel launches.
let bindGroups = 0
if (tf.getBackend() === 'webgpu') {
  const device = (tf.backend() as unknown as { device: { createBindGroup(d: unknown): unknown } })
    .device
  const create = device.createBindGroup.bind(device)
  device.createBindGroup = (d: unknown) => {
    bindGroups++
    return create(d)
  }
}
const dir = mkdtempSync(join(tmpdir(), 'reliquary-grpo-memory-'))
try {
  await writeModel(dir)
  const model = await loadModel(dir)
  const batch = await makeBatch(model)
  const start = new Map([...model.weights].map(([n, v]) => [n, tf.clone(v)]))
  const meter = peakMeter()
  const variants =
    tf.getBackend() === 'webgpu'
      ? [
          { gemm: 'tfjs', checkpointLayers: false },
          { gemm: 'src/gpu', checkpointLayers: false },
          { gemm: 'src/gpu', checkpointLayers: true },
        ]
      : [
          { gemm: 'tfjs', checkpointLayers: false },
          { gemm: 'tfjs', checkpointLayers: true },
        ]
  const rows = []
  for (const v of variants) {
    tapeMatMulOptions.gpu = v.gemm === 'src/gpu'
    tapeFusedOptions.gpu = v.gemm === 'src/gpu'
    for (const [n, w] of model.weights) w.assign(start.get(n)!) // every variant from the same weights
    const trainer = createTrainer({
      model,
      rolloutsPerPass: a['per-pass'],
      checkpointLayers: v.checkpointLayers,
    })
    try {
      await trainer.step(batch) // warm-up: kernels compiled, buffers pooled
      const times: number[] = []
      const cpu: number[] = []
      const launches: number[] = []
      let peaks = meter.read()
      let loss = 0
      for (let i = 0; i < a.repeats; i++) {
        meter.reset()
        const [t0, c0, b0] = [performance.now(), threadCpuMs(), bindGroups]
        const r = await trainer.step(batch)
        times.push((performance.now() - t0) / 1000)
        cpu.push((threadCpuMs() - c0) / 1000)
        launches.push(bindGroups - b0)
        peaks = meter.read()
        loss = r.loss
      }
      const row = {
        backend: tf.getBackend(),
        ...v,
        step_s: times,
        main_thread_cpu_s: cpu,
        ...(tf.getBackend() === 'webgpu' ? { kernel_launches: launches } : {}),
        ...peaks,
        loss,
      }
      rows.push(row)
      console.log(JSON.stringify(row))
    } finally {
      trainer.dispose()
    }
  }
  tapeMatMulOptions.gpu = true
  tapeFusedOptions.gpu = true
  console.log(JSON.stringify({ shape: a, rows }))
  model.dispose()
} finally {
  rmSync(dir, { recursive: true, force: true })
}
process.exit(0)
