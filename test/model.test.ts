/**
 * reliquary/model: safetensors reader/writer, config parsing, tokenizer, and the TensorFlow.js
 * decoder checked against the reference vectors (fp32 forward on the reference machine) on the
 * wasm and cpu backends. The test, not the library, picks each backend.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
// tfjs-core alone registers no backend and no gradients: the CPU backend for the 'cpu' runs.
import '@tensorflow/tfjs-backend-cpu'
import '../src/tfjs-gradients/index.js'
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { embedTokens } from '../src/model/_decoder.js'
import { createRng } from '../src/_utils/rng.js'
import { candidateDistribution, sampleToken } from '../src/model/_sampling.js'
import {
  cloneModel,
  generate,
  loadModel,
  loadModelConfig,
  loadTokenizer,
  openCheckpoint,
  openSafetensors,
  parseModelConfig,
  readSafetensors,
  saveModel,
  serializeSafetensors,
  writeSafetensors,
  type CausalLM,
} from '../src/model/index.js'
import { filesWith, modelDir } from './_vectors.js'
import { expectRejectCode } from './_errors.js'

const BACKENDS = ['wasm', 'cpu'] as const
const HIDDEN_REL_L2 = 1e-4
const LOGITS_ABS = 1e-3
const LOGPROB_ABS = 1e-4

let wasmPathsSet = false
async function useBackend(name: (typeof BACKENDS)[number]): Promise<void> {
  if (name === 'wasm' && !wasmPathsSet) {
    const pkg = createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')
    setWasmPaths(`${join(dirname(pkg), 'dist')}/`)
    wasmPathsSet = true
  }
  expect(await tf.setBackend(name)).toBe(true)
  expect(tf.getBackend()).toBe(name)
}

function relL2(got: ArrayLike<number>, ref: ArrayLike<number>): number {
  let num = 0
  let den = 0
  for (let i = 0; i < ref.length; i++) {
    num += ((got[i] as number) - (ref[i] as number)) ** 2
    den += (ref[i] as number) ** 2
  }
  return Math.sqrt(num / den)
}

/** fp32 logits row → float64 log-softmax at one index. */
function logSoftmaxAt(row: ArrayLike<number>, index: number): number {
  let mx = -Infinity
  for (let i = 0; i < row.length; i++) mx = Math.max(mx, row[i] as number)
  let s = 0
  for (let i = 0; i < row.length; i++) s += Math.exp((row[i] as number) - mx)
  return (row[index] as number) - mx - Math.log(s)
}

const expectCode = (p: Promise<unknown> | (() => unknown), code: string) =>
  expectRejectCode(p, code)

const forwardFiles = filesWith('forward').filter(({ doc }) => modelDir(doc) !== null)
const proofFiles = filesWith('proofs').filter(
  ({ doc }) => modelDir(doc) !== null && Array.isArray(doc.proofs),
)
const measured: string[] = []

afterAll(() => {
  if (measured.length) console.log(`model parity:\n  ${measured.join('\n  ')}`)
})

describe.each(BACKENDS)('decoder forward on %s', (backend) => {
  beforeAll(() => useBackend(backend))

  test.each(forwardFiles.map((f) => [f.file, f] as const))(
    '%s: hidden rows, hidden sum and last logits match the reference',
    async (file, { doc }) => {
      const baseline = tf.memory().numTensors
      const model = await loadModel(modelDir(doc)!)
      try {
        let worstHidden = 0
        let worstLogit = 0
        for (const c of doc.forward as Record<string, any>[]) {
          const before = tf.memory().numTensors
          const { hidden, logits } = model.forward(c.tokens)
          const T = c.tokens.length
          expect(hidden.shape).toEqual([T, model.config.hiddenSize])
          expect(logits.shape).toEqual([T, model.config.vocabSize])
          const h = (await hidden.data()) as Float32Array
          const lg = (await logits.data()) as Float32Array
          hidden.dispose()
          logits.dispose()
          expect(tf.memory().numTensors).toBe(before)
          const d = model.config.hiddenSize
          ;(c.hidden_rows as number[]).forEach((r, i) => {
            const e = relL2(h.subarray(r * d, (r + 1) * d), c.last_hidden[i])
            worstHidden = Math.max(worstHidden, e)
            expect(e, `row ${r} of a ${T}-token sequence`).toBeLessThan(HIDDEN_REL_L2)
          })
          let sum = 0
          for (const v of h) sum += v
          expect(Math.abs(sum - c.hidden_sum)).toBeLessThan(1e-5 * c.hidden_abs_sum)
          const V = model.config.vocabSize
          const last = lg.subarray((T - 1) * V, T * V)
          ;(c.logits_last as number[]).forEach((ref, j) => {
            worstLogit = Math.max(worstLogit, Math.abs((last[j] as number) - ref))
          })
          expect(worstLogit).toBeLessThan(LOGITS_ABS)
        }
        measured.push(
          `${backend} ${file}: hidden max rel L2 ${worstHidden.toExponential(2)}, last logits max abs ${worstLogit.toExponential(2)}`,
        )
      } finally {
        model.dispose()
      }
      expect(tf.memory().numTensors).toBe(baseline)
    },
  )

  test.each(proofFiles.map((f) => [f.file, f] as const))(
    '%s: proofs[] hidden at challenges and completion log-probs',
    async (file, { doc }) => {
      const model = await loadModel(modelDir(doc)!)
      try {
        let worstHidden = 0
        let worstLp = 0
        const d = model.config.hiddenSize
        const V = model.config.vocabSize
        // The pure-JS cpu backend is ~30x slower: there it checks the shorter rollouts only.
        const proofs = (doc.proofs as Record<string, any>[]).filter(
          (p) => backend !== 'cpu' || p.tokens.length <= 128,
        )
        expect(proofs.length).toBeGreaterThan(0)
        for (const p of proofs) {
          const tokens: number[] = p.tokens
          const { hidden, logits } = model.forward(tokens)
          const h = (await hidden.data()) as Float32Array
          const lg = (await logits.data()) as Float32Array
          hidden.dispose()
          logits.dispose()
          ;(p.challenge_indices as number[]).forEach((ci, i) => {
            worstHidden = Math.max(
              worstHidden,
              relL2(h.subarray(ci * d, (ci + 1) * d), p.hidden_at_challenges[i]),
            )
          })
          // Completion-only layout: element j is log p(tokens[P+j] | tokens[<P+j]), from logits row P+j−1.
          const P: number = p.prompt_length
          ;(p.token_logprobs as number[]).forEach((ref, j) => {
            const row = P + j - 1
            const lp = logSoftmaxAt(lg.subarray(row * V, (row + 1) * V), tokens[P + j] as number)
            worstLp = Math.max(worstLp, Math.abs(lp - ref))
          })
        }
        measured.push(
          `${backend} ${file} proofs (${proofs.length}): hidden_at_challenges max rel L2 ${worstHidden.toExponential(2)}, token_logprobs max abs ${worstLp.toExponential(2)}`,
        )
        expect(worstHidden).toBeLessThan(HIDDEN_REL_L2)
        expect(worstLp).toBeLessThan(LOGPROB_ABS)
      } finally {
        model.dispose()
      }
    },
  )
})

describe('decoder variants (cpu)', () => {
  beforeAll(() => useBackend('cpu'))

  test.each(forwardFiles.map((f) => [f.file, f] as const))(
    '%s: per-head and batched attention agree',
    async (_file, { doc }) => {
      const a = await loadModel(modelDir(doc)!, { attention: 'per-head' })
      const b = await loadModel(modelDir(doc)!, { attention: 'batched' })
      try {
        const c = (doc.forward as Record<string, any>[]).find((x) => x.tokens.length > 1)!
        const ra = a.forward(c.tokens)
        const rb = b.forward(c.tokens)
        expect(relL2(await ra.hidden.data(), await rb.hidden.data())).toBeLessThan(1e-5)
        tf.dispose([ra.hidden, ra.logits, rb.hidden, rb.logits])
      } finally {
        a.dispose()
        b.dispose()
      }
    },
  )

  test('dtype "bfloat16" rounds every weight to bf16; kernels are stored [in, out]', async () => {
    const f32 = forwardFiles.find(({ doc }) => doc.kind === 'llama') ?? forwardFiles[0]!
    const model = await loadModel(modelDir(f32.doc)!, { dtype: 'bfloat16' })
    try {
      for (const spec of model.weightSpecs) {
        const v = model.weights.get(spec.name)!
        expect(v.shape).toEqual(spec.transposed ? [spec.shape[1], spec.shape[0]] : spec.shape)
        const bits = new Uint32Array(((await v.data()) as Float32Array).slice().buffer)
        expect(
          bits.every((b) => (b & 0xffff) === 0),
          spec.name,
        ).toBe(true)
      }
      const q = model.weightSpecs.find((s) => s.name.endsWith('q_proj.weight'))!
      expect(q.transposed).toBe(true)
    } finally {
      model.dispose()
    }
  })

  test('hiddenStates + computeLogits match the reference rows; cloneModel snapshots the weights', async () => {
    const doc = forwardFiles[0]!.doc
    const baseline = tf.memory().numTensors
    const model = await loadModel(modelDir(doc)!)
    const c = (doc.forward as Record<string, any>[]).find((x) => x.tokens.length > 1)!
    const d = model.config.hiddenSize
    const V = model.config.vocabSize
    const T = c.tokens.length
    try {
      const check = async (m: CausalLM): Promise<void> => {
        const before = tf.memory().numTensors
        const hidden = m.hiddenStates(c.tokens, { attention: 'per-head' })
        const last = tf.slice(hidden, [T - 1, 0], [1, d])
        const logits = m.computeLogits(last)
        expect(hidden.shape).toEqual([T, d])
        expect(logits.shape).toEqual([1, V])
        const h = (await hidden.data()) as Float32Array
        const lg = (await logits.data()) as Float32Array
        tf.dispose([hidden, last, logits])
        expect(tf.memory().numTensors).toBe(before)
        ;(c.hidden_rows as number[]).forEach((r, i) => {
          expect(relL2(h.subarray(r * d, (r + 1) * d), c.last_hidden[i])).toBeLessThan(
            HIDDEN_REL_L2,
          )
        })
        ;(c.logits_last as number[]).forEach((ref, j) => {
          expect(Math.abs((lg[j] as number) - ref)).toBeLessThan(LOGITS_ABS)
        })
      }
      await check(model)
      const copy = cloneModel(model)
      try {
        for (const v of copy.weights.values()) expect(v.trainable).toBe(false)
        // Zeroing the source leaves the snapshot's forward on the reference.
        for (const v of model.weights.values()) tf.tidy(() => v.assign(tf.zerosLike(v)))
        await check(copy)
      } finally {
        copy.dispose()
      }
      await expectCode(() => model.hiddenStates([V]), 'INVALID_ARGUMENT')
      await expectCode(
        () => model.hiddenStates([1], { attention: 'dense' as never }),
        'INVALID_ARGUMENT',
      )
      await expectCode(() => model.assertTokens([1, -1], 'ids'), 'INVALID_ARGUMENT')
      expect(['batched', 'per-head']).toContain(model.resolveAttention())
    } finally {
      model.dispose()
    }
    expect(tf.memory().numTensors).toBe(baseline)
  })

  test('weights are variables; forward rejects bad tokens; dispose frees every tensor', async () => {
    const doc = forwardFiles[0]!.doc
    const baseline = tf.memory().numTensors
    const model = await loadModel(modelDir(doc)!, { trainable: false })
    for (const v of model.weights.values()) {
      expect(v).toBeInstanceOf(tf.Variable)
      expect(v.trainable).toBe(false)
    }
    expect(model.weights.size).toBe(model.weightSpecs.length)
    await expectCode(() => model.forward([]), 'INVALID_ARGUMENT')
    await expectCode(() => model.forward([model.config.vocabSize]), 'INVALID_ARGUMENT')
    await expectCode(() => model.forward([1.5]), 'INVALID_ARGUMENT')
    model.dispose()
    model.dispose()
    expect(tf.memory().numTensors).toBe(baseline)
    await expectCode(() => model.forward([1]), 'INVALID_ARGUMENT')
  })
})

describe('checkpoints on disk', () => {
  let tmp: string
  beforeAll(async () => {
    await useBackend('cpu')
    tmp = mkdtempSync(join(tmpdir(), 'reliquary-model-'))
  })
  afterAll(() => rmSync(tmp, { recursive: true, force: true }))

  const src = forwardFiles.find(({ doc }) => doc.kind === 'qwen3') ?? forwardFiles[0]!
  const srcDir = modelDir(src.doc)!

  /** A copy of the checkpoint's json files with the given weights file(s). */
  function fixtureDir(
    name: string,
    files: Record<string, Uint8Array | string>,
    config?: (c: Record<string, any>) => void,
  ): string {
    const dir = join(tmp, name)
    mkdirSync(dir, { recursive: true })
    for (const f of [
      'config.json',
      'generation_config.json',
      'tokenizer.json',
      'tokenizer_config.json',
    ])
      copyFileSync(join(srcDir, f), join(dir, f))
    if (config) {
      const c = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))
      config(c)
      writeFileSync(join(dir, 'config.json'), JSON.stringify(c))
    }
    for (const [f, bytes] of Object.entries(files)) writeFileSync(join(dir, f), bytes)
    return dir
  }

  /** A safetensors file with arbitrary dtypes, built by hand. */
  function rawSafetensors(
    entries: { name: string; dtype: string; shape: number[]; bytes: Uint8Array }[],
  ): Uint8Array {
    let off = 0
    const header: Record<string, unknown> = {}
    for (const e of entries) {
      header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [off, off + e.bytes.length] }
      off += e.bytes.length
    }
    const json = new TextEncoder().encode(JSON.stringify(header))
    const out = new Uint8Array(8 + json.length + off)
    new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true)
    out.set(json, 8)
    let p = 8 + json.length
    for (const e of entries) {
      out.set(e.bytes, p)
      p += e.bytes.length
    }
    return out
  }

  const original = (): Uint8Array => readFileSync(join(srcDir, 'model.safetensors'))

  test('safetensors writer round-trips F32 exactly and BF16 with round-to-nearest-even', async () => {
    const data = new Float32Array([
      1,
      -2.5,
      // biome-ignore lint/suspicious/noApproximativeNumericConstant: an arbitrary value, not π
      3.14159,
      1e-3,
      65504,
      -0,
      Number.POSITIVE_INFINITY,
      1.00390625,
      1.01171875,
    ])
    const f32 = readSafetensors(serializeSafetensors({ a: { shape: [3, 3], data } }))
    expect([...f32.readFloat32('a').data]).toEqual([...data])
    expect(f32.header.metadata).toEqual({ format: 'pt' })
    expect(f32.header.dataStart % 8).toBe(0)
    const bf = readSafetensors(
      serializeSafetensors({ a: { shape: [9], data } }, { dtype: 'BF16' }),
    ).readFloat32('a')
    expect(bf.dtype).toBe('BF16')
    // 1 + 2^-8 is a tie → even (1); 1 + 3·2^-8 is a tie → even (1 + 2^-6).
    expect([...bf.data]).toEqual([
      1,
      -2.5,
      3.140625,
      0.00099945068359375,
      65536,
      -0,
      Number.POSITIVE_INFINITY,
      1,
      1.015625,
    ])
    // F16 (normal, subnormal, max, inf) and F64 widen exactly.
    const f16 = new Uint8Array(
      new Uint16Array([0x3c00, 0xc000, 0x0001, 0x7bff, 0x7c00, 0x3555]).buffer,
    )
    const f64 = new Uint8Array(new Float64Array([0.1, -3]).buffer)
    const mixed = readSafetensors(
      rawSafetensors([
        { name: 'h', dtype: 'F16', shape: [6], bytes: f16 },
        { name: 'd', dtype: 'F64', shape: [2], bytes: f64 },
      ]),
    )
    expect([...mixed.readFloat32('h').data]).toEqual([
      1,
      -2,
      2 ** -24,
      65504,
      Number.POSITIVE_INFINITY,
      0.333251953125,
    ])
    expect([...mixed.readFloat32('d').data]).toEqual([Math.fround(0.1), -3])
    await expectCode(() => mixed.readFloat32('nope'), 'MODEL_WEIGHT_MISSING')
    const path = join(tmp, 'w.safetensors')
    await writeSafetensors(
      path,
      new Map([
        ['z', { shape: [2], data: new Float32Array([7, 8]) }],
        ['b', { shape: [], data: new Float32Array([1]) }],
      ]),
    )
    const st = await openSafetensors(path)
    expect(st.names).toEqual(['b', 'z'])
    expect([...(await st.readFloat32('z')).data]).toEqual([7, 8])
    await st.close()
  })

  test('saveModel writes a checkpoint that loads back to the same forward', async () => {
    const model = await loadModel(srcDir)
    const out = join(tmp, 'saved')
    await saveModel(model, out, { dtype: 'F32' })
    const again = await loadModel(out)
    const tokens = [3, 1, 4, 1, 5, 9, 2, 6]
    const a = model.forward(tokens)
    const b = again.forward(tokens)
    expect([...(await b.logits.data())]).toEqual([...(await a.logits.data())])
    tf.dispose([a.hidden, a.logits, b.hidden, b.logits])
    // Saved in the checkpoint's own dtype, the file is byte-identical to the one Python's
    // safetensors wrote (same header layout, padding, order and data).
    const dtypes = new Set(
      [...readSafetensors(original()).header.tensors.values()].map((t) => t.dtype),
    )
    const only = [...dtypes][0]
    if (dtypes.size === 1 && (only === 'BF16' || only === 'F32')) {
      await saveModel(model, join(tmp, 'saved-same'), { dtype: only })
      expect(
        Buffer.compare(readFileSync(join(tmp, 'saved-same', 'model.safetensors')), original()),
      ).toBe(0)
    }
    model.dispose()
    again.dispose()
  })

  test('a sharded checkpoint loads like the single file', async () => {
    const st = readSafetensors(original())
    const half = Math.ceil(st.names.length / 2)
    const shards: Record<string, Map<string, { shape: readonly number[]; data: Float32Array }>> = {
      'model-00001-of-00002.safetensors': new Map(),
      'model-00002-of-00002.safetensors': new Map(),
    }
    const weightMap: Record<string, string> = {}
    st.names.forEach((n, i) => {
      const f = i < half ? 'model-00001-of-00002.safetensors' : 'model-00002-of-00002.safetensors'
      shards[f]!.set(n, st.readFloat32(n))
      weightMap[n] = f
    })
    const files: Record<string, Uint8Array | string> = {
      'model.safetensors.index.json': JSON.stringify({ metadata: {}, weight_map: weightMap }),
    }
    for (const [f, m] of Object.entries(shards))
      files[f] = serializeSafetensors(m, { dtype: 'BF16' })
    const dir = fixtureDir('sharded', files)
    const ckpt = await openCheckpoint(dir)
    expect(ckpt.files).toHaveLength(2)
    expect(new Set(ckpt.names)).toEqual(new Set(st.names))
    await ckpt.close()
    const a = await loadModel(srcDir)
    const b = await loadModel(dir)
    const ra = a.forward([5, 6, 7])
    const rb = b.forward([5, 6, 7])
    expect([...(await rb.hidden.data())]).toEqual([...(await ra.hidden.data())])
    tf.dispose([ra.hidden, ra.logits, rb.hidden, rb.logits])
    a.dispose()
    b.dispose()
  })

  test('truncated file → MODEL_SAFETENSORS_TRUNCATED', async () => {
    const bytes = original()
    const dir = fixtureDir('truncated', {
      'model.safetensors': bytes.subarray(0, bytes.length - 100),
    })
    await expectCode(loadModel(dir), 'MODEL_SAFETENSORS_TRUNCATED')
    await expectCode(() => readSafetensors(bytes.subarray(0, 5)), 'MODEL_SAFETENSORS_TRUNCATED')
    await expectCode(() => readSafetensors(bytes.subarray(0, 40)), 'MODEL_SAFETENSORS_TRUNCATED')
  })

  test('bad headers → MODEL_SAFETENSORS_HEADER_INVALID', async () => {
    const oversized = new Uint8Array(16)
    new DataView(oversized.buffer).setBigUint64(0, 2n ** 40n, true)
    await expectCode(
      loadModel(fixtureDir('oversized', { 'model.safetensors': oversized })),
      'MODEL_SAFETENSORS_HEADER_INVALID',
    )
    const garbage = new Uint8Array(8 + 12)
    new DataView(garbage.buffer).setBigUint64(0, 12n, true)
    garbage.set(new TextEncoder().encode('{"a": [1, 2'), 8)
    await expectCode(
      loadModel(fixtureDir('garbage', { 'model.safetensors': garbage })),
      'MODEL_SAFETENSORS_HEADER_INVALID',
    )
    const four = new Uint8Array(16)
    // Shape says 4 floats (16 bytes) but the offsets span 8.
    await expectCode(
      () =>
        readSafetensors(
          rawSafetensors([{ name: 'x', dtype: 'F32', shape: [4], bytes: four.subarray(0, 8) }]),
        ),
      'MODEL_SAFETENSORS_HEADER_INVALID',
    )
    // Trailing bytes after the last tensor.
    const extra = rawSafetensors([
      { name: 'x', dtype: 'F32', shape: [2], bytes: four.subarray(0, 8) },
    ])
    await expectCode(
      () => readSafetensors(Uint8Array.from([...extra, 0, 0, 0, 0])),
      'MODEL_SAFETENSORS_HEADER_INVALID',
    )
    const notObject = rawSafetensors([])
    notObject.set(new TextEncoder().encode('[]'), 8)
    await expectCode(() => readSafetensors(notObject), 'MODEL_SAFETENSORS_HEADER_INVALID')
  })

  test('missing shard → MODEL_SAFETENSORS_SHARD_MISSING', async () => {
    const st = readSafetensors(original())
    const weightMap = Object.fromEntries(
      st.names.map((n, i) => [
        n,
        i % 2 ? 'model-00002-of-00002.safetensors' : 'model-00001-of-00002.safetensors',
      ]),
    )
    const first = new Map(st.names.filter((_, i) => i % 2 === 0).map((n) => [n, st.readFloat32(n)]))
    const dir = fixtureDir('missing-shard', {
      'model.safetensors.index.json': JSON.stringify({ weight_map: weightMap }),
      'model-00001-of-00002.safetensors': serializeSafetensors(first),
    })
    await expectCode(loadModel(dir), 'MODEL_SAFETENSORS_SHARD_MISSING')
    const escaping = fixtureDir('escaping-shard', {
      'model.safetensors.index.json': JSON.stringify({ weight_map: { a: '../model.safetensors' } }),
    })
    await expectCode(openCheckpoint(escaping), 'MODEL_SAFETENSORS_SHARD_MISSING')
  })

  test('unsupported dtype → MODEL_SAFETENSORS_DTYPE_UNSUPPORTED', async () => {
    const st = readSafetensors(original())
    const entries = st.names.map((n) => {
      const t = st.readFloat32(n)
      if (n === 'model.norm.weight')
        return { name: n, dtype: 'I8', shape: [...t.shape], bytes: new Uint8Array(t.data.length) }
      return { name: n, dtype: 'F32', shape: [...t.shape], bytes: new Uint8Array(t.data.buffer) }
    })
    await expectCode(
      loadModel(fixtureDir('int8', { 'model.safetensors': rawSafetensors(entries) })),
      'MODEL_SAFETENSORS_DTYPE_UNSUPPORTED',
    )
    await expectCode(
      () =>
        readSafetensors(
          rawSafetensors([{ name: 'x', dtype: 'F4', shape: [2], bytes: new Uint8Array(1) }]),
        ),
      'MODEL_SAFETENSORS_DTYPE_UNSUPPORTED',
    )
  })

  test('unsupported architecture → MODEL_ARCHITECTURE_UNSUPPORTED; shape/config errors are typed', async () => {
    const bytes = original()
    await expectCode(
      loadModel(
        fixtureDir('moe', { 'model.safetensors': bytes }, (c) => {
          c.model_type = 'qwen3_moe'
          c.architectures = ['Qwen3MoeForCausalLM']
        }),
      ),
      'MODEL_ARCHITECTURE_UNSUPPORTED',
    )
    await expectCode(
      loadModel(fixtureDir('gpt2', { 'model.safetensors': bytes }, (c) => (c.model_type = 'gpt2'))),
      'MODEL_ARCHITECTURE_UNSUPPORTED',
    )
    await expectCode(
      loadModel(
        fixtureDir(
          'arch',
          { 'model.safetensors': bytes },
          (c) => (c.architectures = ['Qwen3ForSequenceClassification']),
        ),
      ),
      'MODEL_ARCHITECTURE_UNSUPPORTED',
    )
    await expectCode(
      loadModel(
        fixtureDir(
          'yarn',
          { 'model.safetensors': bytes },
          (c) => (c.rope_parameters = { rope_type: 'yarn', factor: 4, rope_theta: 1e6 }),
        ),
      ),
      'MODEL_ARCHITECTURE_UNSUPPORTED',
    )
    await expectCode(
      loadModel(
        fixtureDir('shape', { 'model.safetensors': bytes }, (c) => (c.intermediate_size = 384)),
      ),
      'MODEL_SHAPE_MISMATCH',
    )
    await expectCode(
      loadModel(
        fixtureDir(
          'untied',
          { 'model.safetensors': bytes },
          (c) => (c.tie_word_embeddings = false),
        ),
      ),
      'MODEL_WEIGHT_MISSING',
    )
    await expectCode(
      loadModel(fixtureDir('badcfg', { 'model.safetensors': bytes }, (c) => delete c.hidden_size)),
      'MODEL_CONFIG_INVALID',
    )
    await expectCode(loadModel(join(tmp, 'nowhere')), 'MODEL_FILE_MISSING')
  })
})

describe('config and tokenizer', () => {
  const base = {
    vocab_size: 1000,
    hidden_size: 512,
    intermediate_size: 1024,
    num_hidden_layers: 2,
    num_attention_heads: 8,
  }

  test('families, defaults, rope_theta placement and eos ids', () => {
    const q3 = parseModelConfig(
      {
        ...base,
        model_type: 'qwen3',
        num_key_value_heads: 2,
        rope_theta: 1e6,
        tie_word_embeddings: true,
        eos_token_id: 5,
      },
      { eos_token_id: [7, 5] },
    )
    expect(q3).toMatchObject({
      family: 'qwen3',
      architecture: 'Qwen3ForCausalLM',
      headDim: 128,
      numKvHeads: 2,
      qkNorm: true,
      qkvBias: false,
      tieWordEmbeddings: true,
      ropeTheta: 1e6,
    })
    expect(q3.eosTokenIds).toEqual([7, 5])
    const q2 = parseModelConfig({
      ...base,
      model_type: 'qwen2',
      architectures: ['Qwen2ForCausalLM'],
      rope_parameters: { rope_type: 'default', rope_theta: 5e5 },
      eos_token_id: 3,
    })
    expect(q2).toMatchObject({
      family: 'qwen2',
      headDim: 64,
      numKvHeads: 8,
      qkNorm: false,
      qkvBias: true,
      oBias: false,
      ropeTheta: 5e5,
      tieWordEmbeddings: false,
    })
    expect(q2.eosTokenIds).toEqual([3])
    const ll = parseModelConfig({
      ...base,
      model_type: 'llama',
      attention_bias: true,
      rope_theta: 5e5,
      rope_scaling: {
        rope_type: 'llama3',
        factor: 8,
        low_freq_factor: 1,
        high_freq_factor: 4,
        original_max_position_embeddings: 8192,
      },
    })
    expect(ll).toMatchObject({
      family: 'llama',
      qkvBias: true,
      oBias: true,
      rmsNormEps: 1e-6,
      ropeTheta: 5e5,
    })
    expect(ll.ropeScaling).toEqual({
      type: 'llama3',
      factor: 8,
      lowFreqFactor: 1,
      highFreqFactor: 4,
      originalMaxPositionEmbeddings: 8192,
    })
    expect(() =>
      parseModelConfig({ ...base, model_type: 'llama', num_key_value_heads: 3 }),
    ).toThrow(/not a multiple/)
    expect(() => parseModelConfig({ ...base, model_type: 'llama', hidden_act: 'gelu' })).toThrow(
      /MODEL_ARCHITECTURE_UNSUPPORTED/,
    )
    expect(() =>
      parseModelConfig({ ...base, model_type: 'qwen2', use_sliding_window: true }),
    ).toThrow(/MODEL_ARCHITECTURE_UNSUPPORTED/)
    expect(() => parseModelConfig({ ...base, model_type: 'mistral' })).toThrow(
      /MODEL_ARCHITECTURE_UNSUPPORTED/,
    )
    expect(() => parseModelConfig('nope')).toThrow(/MODEL_CONFIG_INVALID/)
  })

  test.each(forwardFiles.map((f) => [f.file, f] as const))(
    '%s: config and tokenizer load from the checkpoint',
    async (_file, { doc }) => {
      const dir = modelDir(doc)!
      const cfg = await loadModelConfig(dir)
      expect(cfg.family).toBe(doc.kind)
      expect(cfg.vocabSize).toBe(doc.vocab)
      const tok = await loadTokenizer(dir)
      const ids = tok.encode('Hello world, 2 + 2 = 4.')
      expect(ids.length).toBeGreaterThan(0)
      expect(tok.decode(ids)).toBe('Hello world, 2 + 2 = 4.')
      expect(tok.eosTokenId).toBe(tok.tokenToId('<|endoftext|>'))
      for (const p of (doc.proofs ?? []) as Record<string, any>[]) {
        if (typeof p.completion_text === 'string')
          expect(tok.decode(p.tokens.slice(p.prompt_length))).toBe(p.completion_text)
      }
    },
  )
})

describe('generate (KV cache, seeded sampling)', () => {
  let model: CausalLM
  const doc = (forwardFiles.find(({ doc }) => doc.kind === 'qwen3') ?? forwardFiles[0]!).doc
  const prompt: number[] = (
    (doc.forward as Record<string, any>[]).find((c) => c.tokens.length > 4) ?? doc.forward[0]
  ).tokens.slice(0, 12)
  beforeAll(async () => {
    await useBackend('wasm')
    model = await loadModel(modelDir(doc)!)
  })
  afterAll(() => model?.dispose())

  test('greedy cached decoding matches a full forward over the result; no tensors leak', async () => {
    const before = tf.memory().numTensors
    const out = await generate(model, prompt, { maxNewTokens: 24, temperature: 0, eosTokenIds: [] })
    expect(tf.memory().numTensors).toBe(before)
    expect(out.finishReason).toBe('length')
    expect(out.completion).toHaveLength(24)
    expect(out.tokens).toEqual([...prompt, ...out.completion])
    const { hidden, logits } = model.forward(out.tokens)
    const lg = (await logits.data()) as Float32Array
    tf.dispose([hidden, logits])
    const V = model.config.vocabSize
    let worst = 0
    out.completion.forEach((t, j) => {
      const row = lg.subarray((prompt.length + j - 1) * V, (prompt.length + j) * V)
      let best = 0
      for (let i = 1; i < V; i++) if ((row[i] as number) > (row[best] as number)) best = i
      expect(t).toBe(best)
      worst = Math.max(worst, Math.abs(logSoftmaxAt(row, t) - (out.logprobs[j] as number)))
    })
    measured.push(
      `wasm generate: cached vs full-forward log-prob max abs ${worst.toExponential(2)}`,
    )
    expect(worst).toBeLessThan(LOGPROB_ABS)
  })

  test('seeded sampling is reproducible; top_k = 1 is greedy; EOS stops and is kept', async () => {
    const opts = {
      maxNewTokens: 16,
      temperature: 0.9,
      topP: 0.95,
      topK: 0,
      eosTokenIds: [] as number[],
    }
    const a = await generate(model, prompt, { ...opts, seed: 1234 })
    const b = await generate(model, prompt, { ...opts, seed: 1234 })
    expect(b.completion).toEqual(a.completion)
    expect(a.seed).toBe(1234)
    const runs = await Promise.all(
      [1, 2, 3, 4].map((seed) => generate(model, prompt, { ...opts, temperature: 2, seed })),
    )
    expect(new Set(runs.map((r) => r.completion.join(','))).size).toBeGreaterThan(1)
    const greedy = await generate(model, prompt, {
      maxNewTokens: 8,
      temperature: 0,
      eosTokenIds: [],
    })
    const k1 = await generate(model, prompt, {
      maxNewTokens: 8,
      temperature: 1.5,
      topK: 1,
      seed: 99,
      eosTokenIds: [],
    })
    expect(k1.completion).toEqual(greedy.completion)
    // Stop on a token the greedy run produces at step j (its first occurrence), and keep it.
    const j = greedy.completion.findIndex((t, i) => i >= 2 && greedy.completion.indexOf(t) === i)
    if (j >= 0) {
      const stop = await generate(model, prompt, {
        maxNewTokens: 8,
        temperature: 0,
        eosTokenIds: [greedy.completion[j]!],
      })
      expect(stop.finishReason).toBe('eos')
      expect(stop.completion).toEqual(greedy.completion.slice(0, j + 1))
    }
    await expectCode(generate(model, prompt, { maxNewTokens: 0 }), 'INVALID_ARGUMENT')
    await expectCode(generate(model, prompt, { maxNewTokens: 2, topP: 0 }), 'INVALID_ARGUMENT')
    await expectCode(generate(model, [], { maxNewTokens: 2 }), 'INVALID_ARGUMENT')
    const ac = new AbortController()
    ac.abort(new Error('stop'))
    const before = tf.memory().numTensors
    await expect(generate(model, prompt, { maxNewTokens: 4, signal: ac.signal })).rejects.toThrow(
      'stop',
    )
    expect(tf.memory().numTensors).toBe(before)
  })

  test('warpers: temperature → top-k (ties kept) → top-p (keep at least one)', () => {
    const logits = [2, 1, 1, 0, -Infinity]
    expect(candidateDistribution(logits, { temperature: 0, topK: 0, topP: 1 })).toEqual({
      ids: [0],
      probs: [1],
    })
    const all = candidateDistribution(logits, { temperature: 1, topK: 0, topP: 1 })
    expect(all.ids).toEqual([0, 1, 2, 3])
    expect(all.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12)
    expect(candidateDistribution(logits, { temperature: 1, topK: 2, topP: 1 }).ids).toEqual([
      0, 1, 2,
    ])
    // p ≈ [0.534, 0.197, 0.197, 0.072]. Ascending cumulative sums .072, .269, .466: top-p 0.5
    // drops all three (≤ 0.5); top-p 0.6 drops only the first two (≤ 0.4), keeping one tie.
    expect(candidateDistribution(logits, { temperature: 1, topK: 0, topP: 0.5 }).ids).toEqual([0])
    const nucleus = candidateDistribution(logits, { temperature: 1, topK: 0, topP: 0.6 })
    expect(nucleus.ids.length).toBe(2)
    expect(nucleus.ids).toContain(0)
    expect(candidateDistribution(logits, { temperature: 1, topK: 0, topP: 1e-9 }).ids).toEqual([0])
    const rngA = createRng(42)
    const rngB = createRng(42)
    const xs = Array.from({ length: 1000 }, () => rngA())
    expect(xs).toEqual(Array.from({ length: 1000 }, () => rngB()))
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...xs)).toBeLessThan(1)
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length
    expect(Math.abs(mean - 0.5)).toBeLessThan(0.05)
    let ones = 0
    const rng = createRng(7)
    for (let i = 0; i < 4000; i++)
      if (sampleToken([0, Math.log(3)], { temperature: 1, topK: 0, topP: 1 }, rng) === 1) ones++
    expect(Math.abs(ones / 4000 - 0.75)).toBeLessThan(0.03)
  })
})

describe('gradients (training readiness)', () => {
  test('embedding lookups: scatter-add gradient equals tf.gather’s, duplicates accumulate', async () => {
    await useBackend('cpu')
    const table = tf.variable(tf.randomNormal([6, 4], 0, 1, 'float32', 3))
    const ids = tf.tensor1d([1, 4, 1, 0], 'int32')
    const w = tf.randomNormal([4, 4], 0, 1, 'float32', 4)
    const rows = {
      embed: table as unknown as tf.Tensor2D,
      lmHead: table as unknown as tf.Tensor2D,
      finalNorm: tf.ones([4]) as tf.Tensor1D,
      layers: [],
    }
    const ours = tf.variableGrads(() => tf.sum(tf.mul(embedTokens(rows, ids), w)), [table])
    const native = tf.variableGrads(() => tf.sum(tf.mul(tf.gather(table, ids, 0), w)), [table])
    expect(await ours.grads[table.name]!.array()).toEqual(await native.grads[table.name]!.array())
    const kernel = tf.variable(tf.randomNormal([4, 6], 0, 1, 'float32', 5))
    const cols = {
      embed: undefined,
      lmHead: kernel as unknown as tf.Tensor2D,
      finalNorm: rows.finalNorm,
      layers: [],
    }
    const oursT = tf.variableGrads(() => tf.sum(tf.mul(embedTokens(cols, ids), w)), [kernel])
    const nativeT = tf.variableGrads(
      () => tf.sum(tf.mul(tf.transpose(tf.gather(kernel, ids, 1)), w)),
      [kernel],
    )
    expect(await oursT.grads[kernel.name]!.array()).toEqual(
      await nativeT.grads[kernel.name]!.array(),
    )
    tf.dispose([
      table,
      ids,
      w,
      rows.finalNorm,
      kernel,
      ours.value,
      native.value,
      oursT.value,
      nativeT.value,
    ])
    tf.dispose([
      ...Object.values(ours.grads),
      ...Object.values(native.grads),
      ...Object.values(oursT.grads),
      ...Object.values(nativeT.grads),
    ])
  })

  test.each(forwardFiles.map((f) => [f.file, f] as const))(
    '%s: variableGrads through forward agree on wasm and cpu',
    async (_file, { doc }) => {
      const tokens = [1, 2, 3, 2, 5, 1]
      const gradsOn = async (
        backend: (typeof BACKENDS)[number],
      ): Promise<Map<string, Float32Array>> => {
        await useBackend(backend)
        const model = await loadModel(modelDir(doc)!)
        const before = tf.memory().numTensors
        const vars = [...model.weights.values()]
        const { value, grads } = tf.variableGrads(() => {
          const { hidden, logits } = model.forward(tokens)
          return tf.add(tf.mean(tf.square(logits)), tf.mean(hidden)) as tf.Scalar
        }, vars)
        const out = new Map<string, Float32Array>()
        for (const [name, v] of model.weights)
          out.set(name, (await grads[v.name]!.data()) as Float32Array)
        tf.dispose([value, ...Object.values(grads)])
        expect(tf.memory().numTensors).toBe(before)
        model.dispose()
        return out
      }
      const wasm = await gradsOn('wasm')
      const cpu = await gradsOn('cpu')
      for (const [name, g] of cpu) {
        expect(
          g.some((x) => x !== 0),
          name,
        ).toBe(true)
        expect(relL2(wasm.get(name)!, g), name).toBeLessThan(1e-4)
      }
    },
  )
})
