import { ReliquaryError } from '../errors/base.js'
import {
  decodeToFloat32,
  parseHeaderJson,
  readHeaderLength,
  type SafetensorsHeader,
  type SafetensorsTensorInfo,
} from './_safetensorsFormat.js'

export type { SafetensorsHeader, SafetensorsTensorInfo } from './_safetensorsFormat.js'
export { MAX_SAFETENSORS_HEADER_BYTES } from './_safetensorsFormat.js'

/** One tensor read from a safetensors file, converted to float32. */
export type Float32TensorData = {
  /** The dtype the tensor had in the file (`"BF16"`, `"F16"`, `"F32"`, `"F64"`). */
  readonly dtype: string
  /** Shape, row-major. */
  readonly shape: readonly number[]
  /** Values, converted to float32 (bf16 and f16 convert exactly). */
  readonly data: Float32Array
}

/** An in-memory safetensors file, parsed and validated. */
export type SafetensorsBuffer = {
  /** The validated header. */
  readonly header: SafetensorsHeader
  /** Tensor names in header order. */
  readonly names: readonly string[]
  /**
   * Converts one tensor to float32.
   * @throws {ReliquaryError} `MODEL_WEIGHT_MISSING` for an unknown name,
   *   `MODEL_SAFETENSORS_DTYPE_UNSUPPORTED` for a non-float dtype.
   */
  readFloat32(name: string): Float32TensorData
}

/**
 * Parses a whole safetensors file held in memory. The header is validated eagerly (bounded size,
 * JSON object, known dtypes, byte spans matching shapes, contiguous offsets covering the data);
 * tensors are converted to float32 lazily by `readFloat32`.
 *
 * For multi-gigabyte checkpoints prefer {@link openSafetensors}, which reads one tensor at a time
 * from disk.
 *
 * @param bytes - The complete file. Not copied; keep it unchanged while the result is in use.
 * @param options - `source` names the file in error messages.
 * @returns The parsed file.
 * @throws {ReliquaryError} `MODEL_SAFETENSORS_TRUNCATED` when the buffer ends early,
 *   `MODEL_SAFETENSORS_HEADER_INVALID` for an oversized or malformed header,
 *   `MODEL_SAFETENSORS_DTYPE_UNSUPPORTED` for a dtype the format does not define.
 *
 * @example
 * ```ts
 * import { readFileSync } from 'node:fs'
 * import { readSafetensors } from 'reliquary/model'
 * const st = readSafetensors(readFileSync('model.safetensors'))
 * const { shape, data } = st.readFloat32('model.norm.weight')
 * ```
 */
export function readSafetensors(
  bytes: Uint8Array,
  options: { source?: string | undefined } = {},
): SafetensorsBuffer {
  const source = options.source ?? 'safetensors buffer'
  const n = readHeaderLength(bytes.subarray(0, 8), bytes.byteLength, source)
  const header = parseHeaderJson(bytes.subarray(8, 8 + n), n, bytes.byteLength, source)
  return Object.freeze({
    header,
    names: Object.freeze([...header.tensors.keys()]),
    readFloat32(name: string): Float32TensorData {
      const info = tensorInfo(header, name, source)
      const [b, e] = info.dataOffsets
      const data = decodeToFloat32(
        bytes.subarray(header.dataStart + b, header.dataStart + e),
        info.dtype,
        source,
        name,
      )
      return { dtype: info.dtype, shape: info.shape, data }
    },
  })
}

/** Looks a tensor up or throws `MODEL_WEIGHT_MISSING`. @internal */
export function tensorInfo(
  header: SafetensorsHeader,
  name: string,
  source: string,
): SafetensorsTensorInfo {
  const info = header.tensors.get(name)
  if (!info) {
    throw new ReliquaryError('MODEL_WEIGHT_MISSING', `Tensor "${name}" is not in ${source}.`, {
      meta: { source, tensor: name },
    })
  }
  return info
}
