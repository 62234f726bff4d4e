/**
 * Batched generation on the gpu kernels (GPU key/value cache, decode-step attention, next token
 * chosen on the GPU) against the CPU backend's `generate` on the tiny reference model: the same
 * greedy tokens, the same sampled tokens for the same seeds, EOS and per-sequence caps; and the
 * cached decode's log-probabilities against one full forward over the finished sequences.
 * CI runs it on software Vulkan.
 */
import * as tf from '@tensorflow/tfjs-core'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  gpuGenerateBatch,
  gpuGenerateBatchSwitches,
  prepareGpuModel,
  type GpuModel,
} from '../src/gpu/index.js'
import {
  generate,
  loadModel,
  loadTokenizer,
  useBackend,
  type CausalLM,
} from '../src/model/index.js'
import { defineProfile, e3 } from '../src/index.js'
import { generateGroup } from '../src/miner/generateGroup.js'
import { uniformPicker } from '../src/miner/index.js'
import type { MinerContext } from '../src/miner/minerContext.js'
import type { GenerateResult } from '../src/model/generate.js'
import { filesWith, modelDir } from './_vectors.js'
import { webGpuTests } from './_webgpu.js'

const ready = await webGpuTests()
const file = filesWith('forward').find(({ doc }) => modelDir(doc))
const dir = file ? modelDir(file.doc)! : ''
// Three prompts of different lengths cut from the vectors' token sequences.
const prompts: number[][] = file
  ? [5, 9, 2].map((n, i) => file.doc.forward[i % file.doc.forward.length].tokens.slice(0, n))
  : []
const SEEDS = [11, 12, 13]
let startBytes = 0
let model: CausalLM
let f32: GpuModel
let f16: GpuModel

/** `generate` on the CPU backend, one prompt at a time. */
async function onCpu(o: {
  temperature: number
  maxNewTokens: number[]
  eosTokenIds: number[]
}): Promise<GenerateResult[]> {
  await useBackend('cpu')
  const m = await loadModel(dir)
  try {
    const out: GenerateResult[] = []
    for (const [i, p] of prompts.entries())
      out.push(
        await generate(m, p, {
          maxNewTokens: o.maxNewTokens[i]!,
          temperature: o.temperature,
          seed: SEEDS[i]!,
          eosTokenIds: o.eosTokenIds,
        }),
      )
    return out
  } finally {
    m.dispose()
    await tf.setBackend('webgpu')
  }
}

beforeAll(async () => {
  if (!ready || !file) return
  startBytes = tf.memory().numBytes
  model = await loadModel(dir)
  f32 = await prepareGpuModel(model, { precision: 'f32' })
  f16 = await prepareGpuModel(model, { precision: 'f16' })
})
afterAll(() => {
  f16?.dispose()
  f32?.dispose()
  model?.dispose()
  // The cache and every step's tensors are freed: the bytes on the backend are back too.
  if (ready && file) expect(tf.memory().numBytes).toBe(startBytes)
})

/** Raw log-probabilities of each completion token from one full forward per sequence. */
async function fullForwardLogprobs(gm: GpuModel, outs: GenerateResult[]): Promise<number[][]> {
  const res: number[][] = []
  for (const o of outs) {
    const P = o.tokens.length - o.completion.length
    const lp = tf.tidy(() => {
      const hidden = gm.forwardHidden(o.tokens)
      const rows = tf.slice(hidden, [P - 1, 0], [o.completion.length, gm.config.hiddenSize])
      const ls = tf.logSoftmax(gm.logits(rows as tf.Tensor2D))
      return tf.sum(tf.mul(ls, tf.oneHot(o.completion, gm.config.vocabSize)), 1)
    })
    res.push(Array.from(await lp.data()))
    lp.dispose()
  }
  return res
}

const maxDiff = (a: number[], b: number[]) => Math.max(...a.map((x, i) => Math.abs(x - b[i]!)))

describe.skipIf(!ready || !file)('batched generation on the gpu kernels', () => {
  test('greedy f32: the CPU backend tokens; EOS and per-sequence caps; cache = full forward', async () => {
    const free = await onCpu({ temperature: 0, maxNewTokens: [12, 7, 12], eosTokenIds: [] })
    // Stop the first sequence at an id it produces at its 5th step (first occurrence).
    const stopId = free[0]!.completion[4]!
    const eosTokenIds = [stopId]
    const cpu = await onCpu({ temperature: 0, maxNewTokens: [12, 7, 12], eosTokenIds })
    expect(cpu[0]!.finishReason).toBe('eos')
    const gpu = await gpuGenerateBatch(f32, prompts, {
      maxNewTokens: [12, 7, 12],
      temperature: 0,
      eosTokenIds,
      seeds: SEEDS,
      syncEvery: 3,
    })
    for (const [i, c] of cpu.entries()) {
      expect(gpu[i]!.tokens).toEqual(c.tokens)
      expect(gpu[i]!.finishReason).toBe(c.finishReason)
      expect(maxDiff(gpu[i]!.logprobs, c.logprobs)).toBeLessThan(1e-4)
    }
    const full = await fullForwardLogprobs(f32, gpu)
    for (const [i, g] of gpu.entries()) expect(maxDiff(g.logprobs, full[i]!)).toBeLessThan(1e-4)
  })

  test('sampling at temperature 0.9: the tokens generate draws with the same seeds', async () => {
    const cpu = await onCpu({ temperature: 0.9, maxNewTokens: [10, 10, 10], eosTokenIds: [] })
    const gpu = await gpuGenerateBatch(f32, prompts, {
      maxNewTokens: 10,
      temperature: 0.9,
      eosTokenIds: [],
      seeds: SEEDS,
    })
    gpu.forEach((g, i) => {
      expect(g.tokens).toEqual(cpu[i]!.tokens)
      expect(g.seed).toBe(SEEDS[i])
    })
  })

  test('f16 path: the f16 cache decode follows the full f16 forward', async () => {
    const gpu = await gpuGenerateBatch(f16, prompts, {
      maxNewTokens: 8,
      temperature: 0,
      eosTokenIds: [],
    })
    const full = await fullForwardLogprobs(f16, gpu)
    gpu.forEach((g, i) => {
      expect(g.completion).toHaveLength(8)
      expect(maxDiff(g.logprobs, full[i]!)).toBeLessThan(2e-2)
    })
  })

  test('a miner group on webgpu (one batched call) equals the group generate makes on the CPU backend', async () => {
    const tok = await loadTokenizer(dir)
    const prompt = 'Two plus two'
    const P = tok.encode(prompt, { addSpecialTokens: false }).length
    const profile = defineProfile(e3, { id: 'gpu-group', sampling: { maxNewTokensCap: P + 6 } })
    const groupOn = async (m: CausalLM) => {
      const ctx = {
        config: {
          profile,
          seed: 5,
          duplicateResamples: 2,
          picker: uniformPicker({ size: 1, seed: 0 }),
          environment: { getProblem: () => ({ prompt }), computeReward: () => 0 },
        },
        state: { model: m, tokenizer: tok, groupCounter: 0 },
      } as unknown as MinerContext
      return generateGroup(ctx, 0, 3, undefined)
    }
    const gpu = await groupOn(model)
    await useBackend('cpu')
    const cpuModel = await loadModel(dir)
    try {
      const cpu = await groupOn(cpuModel)
      expect(gpu!.tokens).toHaveLength(profile.group.rolloutsPerGroup)
      expect(gpu).toEqual(cpu)
    } finally {
      cpuModel.dispose()
      await tf.setBackend('webgpu')
    }
  })

  test('replayed decode steps: the tokens and log-probs of recording every step, as rows retire', async () => {
    // Bind groups made during a call: every recorded dispatch makes one, a replayed one none.
    const dev = (
      tf.backend() as unknown as { device: { createBindGroup: (d: unknown) => unknown } }
    ).device
    const make = dev.createBindGroup
    let groups = 0
    dev.createBindGroup = (d: unknown) => {
      groups++
      return make.call(dev, d)
    }
    const run = async (replaySteps: boolean, gm: GpuModel) => {
      gpuGenerateBatchSwitches.replaySteps = replaySteps
      groups = 0
      const out = await gpuGenerateBatch(gm, prompts, {
        maxNewTokens: [8, 3, 6],
        temperature: 0.9,
        eosTokenIds: [],
        seeds: SEEDS,
        syncEvery: 2,
      })
      return { out, groups }
    }
    try {
      for (const gm of [f32, f16]) {
        const off = await run(false, gm)
        const on = await run(true, gm)
        expect(on.out).toEqual(off.out)
        expect(on.out.map((r) => r.completion.length)).toEqual([8, 3, 6])
        expect(on.groups).toBeLessThan(off.groups / 2)
      }
    } finally {
      gpuGenerateBatchSwitches.replaySteps = true
      delete (dev as { createBindGroup?: unknown }).createBindGroup
      if (dev.createBindGroup !== make) dev.createBindGroup = make
    }
  })

  test('top-p and bad options are typed errors', async () => {
    await expect(
      gpuGenerateBatch(f32, prompts, { maxNewTokens: 4, topP: 0.9 }),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
    await expect(gpuGenerateBatch(f32, prompts, { maxNewTokens: [4, 4] })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
    await expect(gpuGenerateBatch(f32, [[1, 2]], { maxNewTokens: 1e9 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    })
  })
})
