/**
 * Prepares a TF.js model already loaded (`loadModel`) for the gpu kernels, at either precision.
 */
import * as tf from '@tensorflow/tfjs-core'
import { ReliquaryError } from '../errors/base.js'
import type { CausalLM } from '../model/loadModel.js'
import { disposeF16, toGpuF16, type GpuF16Matrix } from './f16.js'
import {
  createGpuModel,
  type GpuLayer,
  type GpuModel,
  type GpuPrecision,
  type GpuWeight,
} from './gpuModel.js'
import { probeStagedGemm, stagedTensorCoreFits } from './matmul.js'

type Layer = GpuLayer
type Weight = GpuWeight
type Linear = { w: Weight; b?: tf.Tensor1D | undefined }

const LINEARS = ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const

/**
 * Prepares a loaded model for the gpu kernels. With `precision: 'f16'` every linear weight and the
 * output projection are converted to f16 on the GPU (the f32 originals stay with `model`; dispose
 * it to free them when only the f16 path is used); where the staged tensor-core GEMM applies, q/k/v
 * and gate/up are stored fused.
 *
 * @throws {ReliquaryError} `INVALID_ARGUMENT` when the backend is not webgpu, or when a weight lies
 *   outside f16's range under `f16`.
 */
export async function prepareGpuModel(
  model: CausalLM,
  o: { precision?: GpuPrecision | undefined } = {},
): Promise<GpuModel> {
  const precision = o.precision ?? 'f32'
  if (tf.getBackend() !== 'webgpu')
    throw new ReliquaryError('INVALID_ARGUMENT', 'The gpu kernels need the webgpu backend.', {
      hints: ["Call useBackend('webgpu') first."],
    })
  if (precision === 'f16') await probeStagedGemm()
  const src = model._internal.weights
  const owned: GpuF16Matrix[] = []
  const conv = async (w: tf.Tensor2D, name: string): Promise<Weight> => {
    if (precision === 'f32') return w
    const h = await toGpuF16(w, name)
    owned.push(h)
    return h
  }
  const layers: Layer[] = []
  const tensors: tf.Tensor[] = []
  const free = () => {
    owned.forEach(disposeF16)
    tf.dispose(tensors)
  }
  try {
    for (const [i, l] of src.layers.entries()) {
      const fused = precision === 'f16' ? await fuseLayer(l, i, owned, tensors) : {}
      const out: Record<string, Linear> = {}
      for (const n of LINEARS) {
        const skip =
          (fused.qkv && (n === 'q' || n === 'k' || n === 'v')) ||
          (fused.gateUp && (n === 'gate' || n === 'up'))
        out[n] = { w: skip ? l[n].w : await conv(l[n].w, `layer ${i} ${n}`), b: l[n].b }
      }
      layers.push({ ...l, ...(out as Pick<Layer, (typeof LINEARS)[number]>), ...fused })
    }
  } catch (e) {
    free()
    throw e
  }
  const lmHead = await conv(src.lmHead, 'lm_head').catch((e) => {
    free()
    throw e
  })
  const embedRows = (ids: tf.Tensor1D): tf.Tensor2D =>
    src.embed ? tf.gather(src.embed, ids, 0) : tf.transpose(tf.gather(src.lmHead, ids, 1))
  return createGpuModel({
    config: model.config,
    rope: model._internal.rope,
    weights: { embedRows, lmHead, finalNorm: src.finalNorm, layers },
    precision,
    model,
    assertTokens: (t, param) => model.assertTokens(t, param),
    dispose: () => {
      free()
      owned.length = 0
      tensors.length = 0
    },
  })
}

type SourceLayer = CausalLM['_internal']['weights']['layers'][number]

/**
 * The f16 layer's fused weights where the staged tensor-core GEMM takes them: q/k/v concatenated
 * (one GEMM, three outputs), gate/up interleaved every 16 columns (one GEMM with SwiGLU applied).
 */
async function fuseLayer(
  l: SourceLayer,
  i: number,
  owned: GpuF16Matrix[],
  tensors: tf.Tensor[],
): Promise<Pick<Layer, 'qkv' | 'gateUp'>> {
  const out: Pick<Layer, 'qkv' | 'gateUp'> = {}
  const [d] = l.q.w.shape
  const widths = [l.q.w.shape[1], l.k.w.shape[1], l.v.w.shape[1]]
  const n = widths[0]! + widths[1]! + widths[2]!
  const biased = [l.q.b, l.k.b, l.v.b].filter((b) => b !== undefined).length
  if (
    stagedTensorCoreFits(d, n) &&
    widths.every((w) => w % 16 === 0) &&
    biased !== 1 &&
    biased !== 2
  ) {
    const cat = tf.concat([l.q.w, l.k.w, l.v.w], 1)
    try {
      const w = await toGpuF16(cat as tf.Tensor2D, `layer ${i} qkv`)
      owned.push(w)
      const b = biased ? tf.concat([l.q.b!, l.k.b!, l.v.b!]) : undefined
      if (b) tensors.push(b)
      out.qkv = { w, b, widths }
    } finally {
      cat.dispose()
    }
  }
  const f = l.gate.w.shape[1]
  if (stagedTensorCoreFits(d, 2 * f) && f % 16 === 0 && !l.gate.b && !l.up.b) {
    const inter = tf.tidy(() =>
      tf.reshape(
        tf.stack([tf.reshape(l.gate.w, [d, f / 16, 16]), tf.reshape(l.up.w, [d, f / 16, 16])], 2),
        [d, 2 * f],
      ),
    )
    try {
      out.gateUp = await toGpuF16(inter as tf.Tensor2D, `layer ${i} gate/up`)
      owned.push(out.gateUp)
    } finally {
      inter.dispose()
    }
  }
  return out
}
