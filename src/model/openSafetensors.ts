import { open, type FileHandle } from 'node:fs/promises'
import { ReliquaryError } from '../errors/base.js'
import {
  assertReadableDtype,
  decodeToFloat32,
  parseHeaderJson,
  readHeaderLength,
  type SafetensorsHeader,
} from './_safetensorsFormat.js'
import { tensorInfo, type Float32TensorData } from './readSafetensors.js'

/** A safetensors file opened for reading one tensor at a time. */
export type SafetensorsFile = {
  /** The path it was opened from. */
  readonly path: string
  /** The validated header. */
  readonly header: SafetensorsHeader
  /** Tensor names in header order. */
  readonly names: readonly string[]
  /**
   * Reads one tensor from disk and converts it to float32.
   * @throws {ReliquaryError} `MODEL_WEIGHT_MISSING`, `MODEL_SAFETENSORS_DTYPE_UNSUPPORTED`,
   *   `MODEL_SAFETENSORS_TRUNCATED` (the file shrank after opening).
   */
  readFloat32(name: string): Promise<Float32TensorData>
  /**
   * Reads one tensor's bytes as stored (little-endian, its header dtype), without conversion.
   * @throws {ReliquaryError} `MODEL_WEIGHT_MISSING`, `MODEL_SAFETENSORS_TRUNCATED`.
   */
  readBytes(name: string): Promise<RawTensorData>
  /** Closes the file handle. Idempotent. */
  close(): Promise<void>
  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>
}

/** One tensor's stored bytes. */
export type RawTensorData = {
  /** Safetensors dtype name, for example `"BF16"`. */
  readonly dtype: string
  readonly shape: readonly number[]
  readonly bytes: Uint8Array
}

/** Node's `FileHandle.read` takes at most 2 GiB − 1 per call. */
const MAX_READ = 1 << 30

async function readExactly(
  fh: FileHandle,
  length: number,
  position: number,
  path: string,
): Promise<Uint8Array> {
  const buf = new Uint8Array(length)
  let done = 0
  while (done < length) {
    const { bytesRead } = await fh.read(
      buf,
      done,
      Math.min(MAX_READ, length - done),
      position + done,
    )
    if (bytesRead === 0) {
      throw new ReliquaryError(
        'MODEL_SAFETENSORS_TRUNCATED',
        `${path} ended after ${position + done} bytes while reading.`,
        {
          meta: { source: path },
        },
      )
    }
    done += bytesRead
  }
  return buf
}

/**
 * Opens a safetensors file and validates its header without reading the tensor data. Tensors are
 * read on demand with `readFloat32`, so a multi-gigabyte shard never has to fit in memory twice.
 *
 * @param path - Path of the `.safetensors` file.
 * @returns An open file; call `close()` (or use `await using`) when done.
 * @throws {ReliquaryError} `MODEL_FILE_MISSING` when the file cannot be opened,
 *   `MODEL_SAFETENSORS_TRUNCATED` when it is shorter than its header says,
 *   `MODEL_SAFETENSORS_HEADER_INVALID` for an oversized or malformed header,
 *   `MODEL_SAFETENSORS_DTYPE_UNSUPPORTED` for a dtype the format does not define.
 *
 * @example
 * ```ts
 * import { openSafetensors } from 'reliquary/model'
 * await using st = await openSafetensors('Qwen3-4B/model-00001-of-00003.safetensors')
 * console.log(st.names.length, st.header.tensors.get('model.embed_tokens.weight'))
 * ```
 */
export async function openSafetensors(path: string): Promise<SafetensorsFile> {
  let fh: FileHandle
  try {
    fh = await open(path, 'r')
  } catch (e) {
    throw new ReliquaryError('MODEL_FILE_MISSING', `Cannot open safetensors file ${path}.`, {
      meta: { path },
      cause: e,
    })
  }
  let header: SafetensorsHeader
  try {
    const { size } = await fh.stat()
    const first8 = size >= 8 ? await readExactly(fh, 8, 0, path) : new Uint8Array(0)
    const n = readHeaderLength(first8, size, path)
    header = parseHeaderJson(await readExactly(fh, n, 8, path), n, size, path)
  } catch (e) {
    await fh.close()
    throw e
  }
  let closed = false
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    await fh.close()
  }
  return Object.freeze({
    path,
    header,
    names: Object.freeze([...header.tensors.keys()]),
    async readFloat32(name: string): Promise<Float32TensorData> {
      const info = tensorInfo(header, name, path)
      if (closed)
        throw new ReliquaryError('INVALID_ARGUMENT', `Safetensors file ${path} is already closed.`)
      assertReadableDtype(info.dtype, path, name)
      const [b, e] = info.dataOffsets
      const bytes = await readExactly(fh, e - b, header.dataStart + b, path)
      return {
        dtype: info.dtype,
        shape: info.shape,
        data: decodeToFloat32(bytes, info.dtype, path, name),
      }
    },
    async readBytes(name: string): Promise<RawTensorData> {
      const info = tensorInfo(header, name, path)
      if (closed)
        throw new ReliquaryError('INVALID_ARGUMENT', `Safetensors file ${path} is already closed.`)
      const [b, e] = info.dataOffsets
      const bytes = await readExactly(fh, e - b, header.dataStart + b, path)
      return { dtype: info.dtype, shape: info.shape, bytes }
    },
    close,
    [Symbol.asyncDispose]: close,
  })
}
