/**
 * On-disk trainer state (createTrainer's save/restore). Layout of a state directory:
 *
 *   trainer.json             format, version, completed steps, per-parameter AdamW steps, options
 *   policy/                  the policy as a loadable checkpoint (F32 model.safetensors + config.json)
 *   reference/               the KL reference, same form (absent when the trainer has none)
 *   optimizer.safetensors    F32 `exp_avg/<name>` and `exp_avg_sq/<name>`, checkpoint layout
 *
 * Everything is float32 and exact, so save → restore → step equals an uninterrupted step bit for
 * bit. trainer.json is written last (through a temporary name), so a directory with a
 * trainer.json is complete.
 * @internal
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { ReliquaryError, isReliquaryError } from '../errors/base.js'
import type { CausalLM, WeightSpec } from '../model/loadModel.js'
import { transpose2d } from '../model/loadModel.js'
import { SAFETENSORS_SINGLE_FILE } from '../model/openCheckpoint.js'
import { openSafetensors, type SafetensorsFile } from '../model/openSafetensors.js'
import { saveModel } from '../model/saveModel.js'
import { writeSafetensors, type SafetensorsWriteTensor } from '../model/writeSafetensors.js'
import type { AdamW, AdamWParameterState } from './createAdamW.js'
import type { ResolvedGrpoOptions } from './types.js'

/** `format` of trainer.json. */
export const TRAINER_STATE_FORMAT = 'reliquary.grpo.trainer'
/** `version` of trainer.json this SDK writes and reads. */
export const TRAINER_STATE_VERSION = 1
const STATE_FILE = 'trainer.json'
const OPTIMIZER_FILE = 'optimizer.safetensors'

/** The JSON file of a saved trainer. */
export type TrainerStateFile = {
  format: typeof TRAINER_STATE_FORMAT
  version: typeof TRAINER_STATE_VERSION
  completedSteps: number
  reference: 'copy' | 'external' | null
  parameters: { name: string; shape: number[]; step: number }[]
  options: ResolvedGrpoOptions
}

function invalid(dir: string, what: string, cause?: unknown): ReliquaryError<'GRPO_STATE_INVALID'> {
  return new ReliquaryError('GRPO_STATE_INVALID', `Trainer state in ${dir}: ${what}`, {
    hints: [
      'Restore a directory written by trainer.save() for the same model architecture and configuration.',
    ],
    cause,
    meta: { dir },
  })
}

function specOf(model: CausalLM, name: string): WeightSpec {
  const s = model.weightSpecs.find((w) => w.name === name)
  if (!s)
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      `Parameter "${name}" is not a weight of the model.`,
    )
  return s
}

/** Variable-layout values → checkpoint layout. */
function toCheckpoint(spec: WeightSpec, values: Float32Array): Float32Array {
  return spec.transposed
    ? transpose2d(values, spec.shape[1] as number, spec.shape[0] as number)
    : values
}

/** Checkpoint-layout values → variable layout. */
function fromCheckpoint(spec: WeightSpec, values: Float32Array): Float32Array {
  return spec.transposed
    ? transpose2d(values, spec.shape[0] as number, spec.shape[1] as number)
    : values
}

/** Writes a trainer's complete state to `dir` (layout in the module comment). */
export async function saveTrainerState(
  dir: string,
  p: {
    model: CausalLM
    reference: CausalLM | null
    referenceKind: 'copy' | 'external' | null
    optimizer: AdamW
    completedSteps: number
    options: ResolvedGrpoOptions
  },
): Promise<void> {
  await mkdir(dir, { recursive: true })
  await saveModel(p.model, join(dir, 'policy'), { dtype: 'F32' })
  if (p.reference) await saveModel(p.reference, join(dir, 'reference'), { dtype: 'F32' })
  const moments = await p.optimizer.readState()
  const tensors = new Map<string, SafetensorsWriteTensor>()
  const parameters: TrainerStateFile['parameters'] = []
  for (const [name, s] of moments) {
    const spec = specOf(p.model, name)
    tensors.set(`exp_avg/${name}`, { shape: spec.shape, data: toCheckpoint(spec, s.expAvg) })
    tensors.set(`exp_avg_sq/${name}`, { shape: spec.shape, data: toCheckpoint(spec, s.expAvgSq) })
    parameters.push({ name, shape: [...spec.shape], step: s.step })
  }
  await writeSafetensors(join(dir, OPTIMIZER_FILE), tensors, {
    dtype: 'F32',
    metadata: { format: 'pt', producer: TRAINER_STATE_FORMAT },
  })
  const state: TrainerStateFile = {
    format: TRAINER_STATE_FORMAT,
    version: TRAINER_STATE_VERSION,
    completedSteps: p.completedSteps,
    reference: p.referenceKind,
    parameters,
    options: p.options,
  }
  const tmp = join(dir, `${STATE_FILE}.tmp-${process.pid}`)
  await writeFile(tmp, `${JSON.stringify(state, null, 2)}\n`)
  await rename(tmp, join(dir, STATE_FILE))
}

/** Reads every weight of `model`'s layout from `<dir>/model.safetensors`, in variable layout. */
async function readWeights(
  dir: string,
  model: CausalLM,
  stateDir: string,
): Promise<Map<string, Float32Array>> {
  const path = join(dir, SAFETENSORS_SINGLE_FILE)
  const out = new Map<string, Float32Array>()
  let st: SafetensorsFile
  try {
    st = await openSafetensors(path)
  } catch (e) {
    throw invalid(stateDir, `cannot open ${path}.`, e)
  }
  try {
    for (const spec of model.weightSpecs) {
      if (!model.weights.has(spec.name)) continue
      const info = st.header.tensors.get(spec.name)
      if (!info) throw invalid(stateDir, `${path} lacks "${spec.name}".`)
      if (info.dtype !== 'F32')
        throw invalid(
          stateDir,
          `"${spec.name}" in ${path} is ${info.dtype}, not F32 (the state would not be exact).`,
        )
      if (!tf.util.arraysEqual([...info.shape], [...spec.shape]))
        throw invalid(
          stateDir,
          `"${spec.name}" in ${path} has shape [${info.shape.join(', ')}], expected [${spec.shape.join(', ')}].`,
        )
      out.set(spec.name, fromCheckpoint(spec, (await st.readFloat32(spec.name)).data))
    }
  } catch (e) {
    if (isReliquaryError(e, 'GRPO_STATE_INVALID')) throw e
    throw invalid(stateDir, `cannot read ${path}.`, e)
  } finally {
    await st.close()
  }
  return out
}

function parseState(raw: unknown, dir: string): TrainerStateFile {
  const s = raw as Partial<TrainerStateFile> | null
  if (typeof s !== 'object' || s === null || s.format !== TRAINER_STATE_FORMAT)
    throw invalid(dir, `${STATE_FILE} is not a ${TRAINER_STATE_FORMAT} file.`)
  if (s.version !== TRAINER_STATE_VERSION)
    throw invalid(
      dir,
      `${STATE_FILE} has version ${String(s.version)}; this SDK reads version ${TRAINER_STATE_VERSION}.`,
    )
  if (!Number.isSafeInteger(s.completedSteps) || (s.completedSteps as number) < 0)
    throw invalid(dir, 'completedSteps is not an integer ≥ 0.')
  if (s.reference !== 'copy' && s.reference !== 'external' && s.reference !== null)
    throw invalid(dir, 'reference is not "copy", "external" or null.')
  if (!Array.isArray(s.parameters)) throw invalid(dir, 'parameters is not a list.')
  for (const q of s.parameters) {
    if (
      typeof q?.name !== 'string' ||
      !Array.isArray(q.shape) ||
      !Number.isSafeInteger(q.step) ||
      q.step < 0
    )
      throw invalid(dir, 'a parameters entry is malformed.')
  }
  if (typeof s.options !== 'object' || s.options === null) throw invalid(dir, 'options is missing.')
  return s as TrainerStateFile
}

/** Everything a restore writes, read and checked before anything is written. */
export type LoadedTrainerState = {
  state: TrainerStateFile
  policy: Map<string, Float32Array>
  reference: Map<string, Float32Array> | null
  moments: Map<string, AdamWParameterState>
}

/**
 * Reads and checks a saved state against a trainer (parameter names and shapes, presence of a
 * reference, F32 tensors of the right shapes) without writing anything; `skipReference`: the
 * reference's weights are not read (`reference` is then null).
 * @throws {ReliquaryError} `GRPO_STATE_INVALID` for anything missing, malformed or mismatched.
 */
export async function loadTrainerState(
  dir: string,
  p: { model: CausalLM; reference: CausalLM | null; optimizer: AdamW; skipReference?: boolean },
): Promise<LoadedTrainerState> {
  let raw: unknown
  try {
    raw = JSON.parse(await readFile(join(dir, STATE_FILE), 'utf8'))
  } catch (e) {
    throw invalid(dir, `${STATE_FILE} is missing or not JSON.`, e)
  }
  const state = parseState(raw, dir)
  const names = [...p.optimizer.variables.keys()]
  const saved = new Map(state.parameters.map((q) => [q.name, q]))
  if (saved.size !== names.length || names.some((n) => !saved.has(n))) {
    throw invalid(
      dir,
      `it holds optimizer state for [${[...saved.keys()].slice(0, 4).join(', ')}${saved.size > 4 ? ', …' : ''}] but this trainer optimizes ${names.length} other parameters.`,
    )
  }
  if ((state.reference === null) !== (p.reference === null)) {
    throw invalid(
      dir,
      state.reference === null
        ? 'it has no reference model but this trainer uses one (klBeta > 0).'
        : 'it has a reference model but this trainer has none (klBeta = 0).',
    )
  }
  const policy = await readWeights(join(dir, 'policy'), p.model, dir)
  const reference =
    p.reference && !p.skipReference
      ? await readWeights(join(dir, 'reference'), p.reference, dir)
      : null
  const moments = new Map<string, AdamWParameterState>()
  const path = join(dir, OPTIMIZER_FILE)
  let st: SafetensorsFile
  try {
    st = await openSafetensors(path)
  } catch (e) {
    throw invalid(dir, `cannot open ${path}.`, e)
  }
  try {
    for (const name of names) {
      const spec = specOf(p.model, name)
      const q = saved.get(name)!
      if (!tf.util.arraysEqual(q.shape, [...spec.shape]))
        throw invalid(
          dir,
          `parameter "${name}" has shape [${q.shape.join(', ')}], expected [${spec.shape.join(', ')}].`,
        )
      const read = async (key: string): Promise<Float32Array> => {
        const info = st.header.tensors.get(key)
        if (info?.dtype !== 'F32' || !tf.util.arraysEqual([...info.shape], [...spec.shape]))
          throw invalid(dir, `${path} lacks an F32 "${key}" of shape [${spec.shape.join(', ')}].`)
        return fromCheckpoint(spec, (await st.readFloat32(key)).data)
      }
      moments.set(name, {
        step: q.step,
        expAvg: await read(`exp_avg/${name}`),
        expAvgSq: await read(`exp_avg_sq/${name}`),
      })
    }
  } catch (e) {
    if (isReliquaryError(e, 'GRPO_STATE_INVALID')) throw e
    throw invalid(dir, `cannot read ${path}.`, e)
  } finally {
    await st.close()
  }
  return { state, policy, reference, moments }
}

/** Writes float32 values (variable layout) into a model's variables. */
export function assignWeights(model: CausalLM, values: ReadonlyMap<string, Float32Array>): void {
  for (const [name, data] of values) {
    const v = model.weights.get(name)!
    tf.tidy(() => v.assign(tf.tensor(data, v.shape, 'float32')))
  }
}
