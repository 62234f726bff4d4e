import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { CausalLM } from './loadModel.js'
import { transpose2d } from './loadModel.js'
import { SAFETENSORS_SINGLE_FILE } from './openCheckpoint.js'
import { writeSafetensors, type SafetensorsWriteTensor } from './writeSafetensors.js'

/** Options of {@link saveModel}. */
export type SaveModelOptions = {
  /** Stored dtype of the weights. @default "BF16" (the dtype real checkpoints ship in) */
  dtype?: 'F32' | 'BF16' | undefined
  /** Also write `config.json` (the model's original config, unchanged). @default true */
  writeConfig?: boolean | undefined
}

/**
 * Reads a model's current weights back from the backend (with `await data()`, so GPU backends
 * are not blocked) and writes a Hugging Face checkpoint directory: `model.safetensors` in the
 * checkpoint's own names and `[out, in]` layout (loadable by `safetensors.torch.load_file`,
 * `transformers.AutoModelForCausalLM.from_pretrained` and {@link loadModel}), plus `config.json`.
 * Tied embeddings are written once, as `model.embed_tokens.weight`.
 *
 * @param model - A model from {@link loadModel}; not modified.
 * @param dir - Output directory (created if needed). An existing `model.safetensors` is replaced.
 * @param options - {@link SaveModelOptions}
 *
 * @example
 * ```ts
 * import { loadModel, saveModel } from 'reliquary/model'
 * const model = await loadModel('./qwen3-tiny')
 * // … train …
 * await saveModel(model, './qwen3-tiny-step1', { dtype: 'BF16' })
 * ```
 */
export async function saveModel(
  model: CausalLM,
  dir: string,
  options: SaveModelOptions = {},
): Promise<void> {
  await mkdir(dir, { recursive: true })
  const tensors = new Map<string, SafetensorsWriteTensor>()
  for (const spec of model.weightSpecs) {
    const v = model.weights.get(spec.name)
    if (!v) continue
    const values = (await v.data()) as Float32Array
    const data = spec.transposed
      ? transpose2d(values, spec.shape[1] as number, spec.shape[0] as number)
      : values
    tensors.set(spec.name, { shape: spec.shape, data })
  }
  await writeSafetensors(join(dir, SAFETENSORS_SINGLE_FILE), tensors, {
    dtype: options.dtype ?? 'BF16',
  })
  if (options.writeConfig ?? true) {
    const dtypeName = (options.dtype ?? 'BF16') === 'BF16' ? 'bfloat16' : 'float32'
    const raw: Record<string, unknown> = { ...model.config.raw }
    if ('torch_dtype' in raw) raw.torch_dtype = dtypeName
    if ('dtype' in raw) raw.dtype = dtypeName
    await writeFile(join(dir, 'config.json'), `${JSON.stringify(raw, null, 2)}\n`)
  }
}
