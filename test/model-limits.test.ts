// loadModel refuses non-finite weights and absurd config sizes before doing any work.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
// tfjs-core alone registers no backend and no gradients: the CPU backend for the 'cpu' runs.
import '@tensorflow/tfjs-backend-cpu'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { bundledModelDir } from '../src/demo/bundledModel.js'
import {
  MODEL_CONFIG_LIMITS,
  loadModel,
  parseModelConfig,
  readSafetensors,
  serializeSafetensors,
} from '../src/model/index.js'
import { expectCode, expectRejectCode } from './_errors.js'

const src = bundledModelDir()
const baseConfig = (): Record<string, unknown> =>
  JSON.parse(readFileSync(join(src, 'config.json'), 'utf8'))

describe('loadModel input bounds', () => {
  let tmp: string
  let baseline: number
  beforeAll(async () => {
    await tf.setBackend('cpu')
    tmp = mkdtempSync(join(tmpdir(), 'reliquary-limits-'))
    baseline = tf.memory().numTensors
  })
  afterAll(() => {
    rmSync(tmp, { recursive: true, force: true })
    expect(tf.memory().numTensors).toBe(baseline)
  })

  /** A copy of the bundled checkpoint with one weight value replaced. */
  function poisoned(name: string, tensor: string, value: number): string {
    const dir = join(tmp, name)
    rmSync(dir, { recursive: true, force: true })
    mkdirSync(dir)
    for (const f of ['config.json', 'generation_config.json', 'tokenizer.json'])
      copyFileSync(join(src, f), join(dir, f))
    const st = readSafetensors(readFileSync(join(src, 'model.safetensors')))
    const out: Record<string, { shape: number[]; data: Float32Array }> = {}
    for (const n of st.names) {
      const t = st.readFloat32(n)
      out[n] = { shape: [...t.shape], data: t.data }
    }
    const target = out[tensor]!
    target.data[Math.floor(target.data.length / 2)] = value
    writeFileSync(join(dir, 'model.safetensors'), serializeSafetensors(out, { dtype: 'F32' }))
    return dir
  }

  test.each([
    ['nan', Number.NaN],
    ['inf', Number.POSITIVE_INFINITY],
    ['neg-inf', Number.NEGATIVE_INFINITY],
  ])('a %s weight is refused with NON_FINITE_VALUE and nothing leaks', async (name, value) => {
    const before = tf.memory().numTensors
    const dir = poisoned(name, 'model.layers.1.mlp.down_proj.weight', value)
    const e = await expectRejectCode(loadModel(dir), 'NON_FINITE_VALUE')
    expect(e.meta.tensor).toBe('model.layers.1.mlp.down_proj.weight')
    expect(tf.memory().numTensors).toBe(before)
  })

  test('the same copy with a finite value loads (the check is not a blanket refusal)', async () => {
    const model = await loadModel(poisoned('finite', 'model.layers.1.mlp.down_proj.weight', 0.25))
    expect(model.config.numLayers).toBe(2)
    model.dispose()
  })

  test.each([
    ['num_hidden_layers', 1_000_000_000],
    ['num_hidden_layers', MODEL_CONFIG_LIMITS.maxLayers + 1],
    ['hidden_size', 1 << 30],
    ['intermediate_size', 1 << 30],
    ['vocab_size', 1 << 30],
    ['num_attention_heads', 1 << 20],
    ['num_key_value_heads', 1 << 20],
    ['head_dim', 1 << 20],
    ['max_position_embeddings', 2 ** 40],
  ])('config %s = %d is refused with MODEL_CONFIG_INVALID at once', (field, value) => {
    const t0 = performance.now()
    expectCode(() => parseModelConfig({ ...baseConfig(), [field]: value }), 'MODEL_CONFIG_INVALID')
    expect(performance.now() - t0).toBeLessThan(1000)
  })

  test('a head_dim derived from hidden_size / heads is bounded too', () => {
    const c: Record<string, unknown> = {
      ...baseConfig(),
      model_type: 'llama',
      architectures: ['LlamaForCausalLM'],
    }
    delete c.head_dim
    c.hidden_size = MODEL_CONFIG_LIMITS.maxHiddenSize
    c.num_attention_heads = 2
    c.num_key_value_heads = 2
    expectCode(() => parseModelConfig(c), 'MODEL_CONFIG_INVALID')
  })

  test('the largest released geometries are inside the bounds', () => {
    // Llama 3.1 405B config.json (sizes only).
    const cfg = parseModelConfig({
      model_type: 'llama',
      architectures: ['LlamaForCausalLM'],
      vocab_size: 128256,
      hidden_size: 16384,
      intermediate_size: 53248,
      num_hidden_layers: 126,
      num_attention_heads: 128,
      num_key_value_heads: 8,
      max_position_embeddings: 131072,
    })
    expect(cfg.headDim).toBe(128)
  })

  test('loadModel with an absurd layer count fails before reading weights', async () => {
    const dir = join(tmp, 'layers')
    mkdirSync(dir, { recursive: true })
    writeFileSync(
      join(dir, 'config.json'),
      JSON.stringify({ ...baseConfig(), num_hidden_layers: 2_000_000_000 }),
    )
    copyFileSync(join(src, 'model.safetensors'), join(dir, 'model.safetensors'))
    await expectRejectCode(loadModel(dir), 'MODEL_CONFIG_INVALID')
  })
})
