import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { ReliquaryError } from '../errors/base.js'
import type { SafetensorsTensorInfo } from './_safetensorsFormat.js'
import { openSafetensors, type RawTensorData, type SafetensorsFile } from './openSafetensors.js'
import type { Float32TensorData } from './readSafetensors.js'

/** File name of a single-file checkpoint. */
export const SAFETENSORS_SINGLE_FILE = 'model.safetensors'
/** File name of the shard index of a sharded checkpoint. */
export const SAFETENSORS_INDEX_FILE = 'model.safetensors.index.json'

/** The weights of a checkpoint directory, single-file or sharded, behind one interface. */
export type CheckpointReader = {
  /** The directory. */
  readonly dir: string
  /** The shard files opened, relative to `dir` (one entry for a single-file checkpoint). */
  readonly files: readonly string[]
  /** Every tensor name across all shards. */
  readonly names: readonly string[]
  /** Header entry of a tensor, or `undefined` when absent. */
  info(name: string): (SafetensorsTensorInfo & { readonly file: string }) | undefined
  /**
   * Reads one tensor from whichever shard holds it, converted to float32.
   * @throws {ReliquaryError} `MODEL_WEIGHT_MISSING`, `MODEL_SAFETENSORS_DTYPE_UNSUPPORTED`.
   */
  readFloat32(name: string): Promise<Float32TensorData>
  /**
   * Reads one tensor's stored bytes (its header dtype, little-endian) from whichever shard holds it.
   * @throws {ReliquaryError} `MODEL_WEIGHT_MISSING`.
   */
  readBytes(name: string): Promise<RawTensorData>
  /** Closes every shard. Idempotent. */
  close(): Promise<void>
  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>
}

/** A shard name must be a plain file name inside the checkpoint directory. */
function safeShardName(file: string): boolean {
  return (
    file.length > 0 &&
    basename(file) === file &&
    file !== '.' &&
    file !== '..' &&
    !file.includes('\\') &&
    !file.includes('\0')
  )
}

async function readIndex(path: string): Promise<Map<string, string>> {
  let json: unknown
  try {
    json = JSON.parse(await readFile(path, 'utf8'))
  } catch (e) {
    throw new ReliquaryError(
      'MODEL_SAFETENSORS_HEADER_INVALID',
      `Shard index ${path} is not valid JSON.`,
      { meta: { source: path }, cause: e },
    )
  }
  const map = (json as { weight_map?: unknown } | null)?.weight_map
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    throw new ReliquaryError(
      'MODEL_SAFETENSORS_HEADER_INVALID',
      `Shard index ${path} has no "weight_map" object.`,
      { meta: { source: path } },
    )
  }
  const out = new Map<string, string>()
  for (const [name, file] of Object.entries(map as Record<string, unknown>)) {
    if (typeof file !== 'string' || !safeShardName(file)) {
      throw new ReliquaryError(
        'MODEL_SAFETENSORS_SHARD_MISSING',
        `Shard index ${path} maps "${name}" to an unsafe or non-string file name.`,
        {
          hints: ['Shard names must be plain file names inside the checkpoint directory.'],
          meta: { source: path, tensor: name, file: String(file) },
        },
      )
    }
    out.set(name, file)
  }
  return out
}

/**
 * Opens the safetensors weights of a Hugging Face checkpoint directory: `model.safetensors`, or
 * the shards listed by `model.safetensors.index.json` (the index wins when both exist, as in
 * transformers). Every shard header is validated up front; tensor data is read on demand.
 *
 * @param dir - The checkpoint directory.
 * @returns A reader; call `close()` (or use `await using`) when done.
 * @throws {ReliquaryError} `MODEL_FILE_MISSING` when the directory has neither file,
 *   `MODEL_SAFETENSORS_SHARD_MISSING` when a shard named by the index is absent or its name
 *   escapes the directory, `MODEL_WEIGHT_MISSING` when a shard lacks a tensor the index assigns to
 *   it, and every error of {@link openSafetensors}.
 *
 * @example
 * ```ts
 * import { openCheckpoint } from 'reliquary/model'
 * await using ckpt = await openCheckpoint('./Qwen3-4B')
 * const norm = await ckpt.readFloat32('model.norm.weight')
 * ```
 */
export async function openCheckpoint(dir: string): Promise<CheckpointReader> {
  const indexPath = join(dir, SAFETENSORS_INDEX_FILE)
  const singlePath = join(dir, SAFETENSORS_SINGLE_FILE)
  let assignment: Map<string, string> | null = null
  let files: string[]
  if (existsSync(indexPath)) {
    assignment = await readIndex(indexPath)
    files = [...new Set(assignment.values())].sort()
    for (const f of files) {
      if (!existsSync(join(dir, f))) {
        throw new ReliquaryError(
          'MODEL_SAFETENSORS_SHARD_MISSING',
          `Shard ${f} named by ${SAFETENSORS_INDEX_FILE} is missing from ${dir}.`,
          {
            hints: [
              'Download every shard the index lists (for example with snapshotDownload from @huggingface/hub).',
            ],
            meta: { dir, file: f },
          },
        )
      }
    }
  } else if (existsSync(singlePath)) {
    files = [SAFETENSORS_SINGLE_FILE]
  } else {
    throw new ReliquaryError(
      'MODEL_FILE_MISSING',
      `No ${SAFETENSORS_SINGLE_FILE} or ${SAFETENSORS_INDEX_FILE} in ${dir}.`,
      {
        hints: [
          'Only safetensors checkpoints are supported; convert pytorch_model.bin with transformers save_pretrained(safe_serialization=True).',
        ],
        meta: { dir },
      },
    )
  }
  const opened = new Map<string, SafetensorsFile>()
  const owner = new Map<string, string>()
  try {
    for (const f of files) {
      const st = await openSafetensors(join(dir, f))
      opened.set(f, st)
      if (!assignment) for (const n of st.names) owner.set(n, f)
    }
    if (assignment) {
      for (const [name, f] of assignment) {
        if (!opened.get(f)?.header.tensors.has(name)) {
          throw new ReliquaryError(
            'MODEL_WEIGHT_MISSING',
            `${SAFETENSORS_INDEX_FILE} puts "${name}" in ${f}, but that shard does not hold it.`,
            {
              meta: { dir, file: f, tensor: name },
            },
          )
        }
        owner.set(name, f)
      }
    }
  } catch (e) {
    await Promise.all([...opened.values()].map((s) => s.close()))
    throw e
  }
  let closed = false
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    await Promise.all([...opened.values()].map((s) => s.close()))
  }
  const shardOf = (name: string): SafetensorsFile => {
    const f = owner.get(name)
    const st = f === undefined ? undefined : opened.get(f)
    if (!st)
      throw new ReliquaryError(
        'MODEL_WEIGHT_MISSING',
        `Tensor "${name}" is not in the checkpoint at ${dir}.`,
        { meta: { dir, tensor: name } },
      )
    return st
  }
  return Object.freeze({
    dir,
    files: Object.freeze(files),
    names: Object.freeze([...owner.keys()]),
    info(name: string) {
      const f = owner.get(name)
      const i = f === undefined ? undefined : opened.get(f)?.header.tensors.get(name)
      return f === undefined || i === undefined ? undefined : { ...i, file: f }
    },
    async readFloat32(name: string): Promise<Float32TensorData> {
      return shardOf(name).readFloat32(name)
    },
    async readBytes(name: string): Promise<RawTensorData> {
      return shardOf(name).readBytes(name)
    },
    close,
    [Symbol.asyncDispose]: close,
  })
}
