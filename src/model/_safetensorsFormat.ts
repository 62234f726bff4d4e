/**
 * The safetensors container format, shared by the reader and the writer.
 *
 * Layout (https://github.com/huggingface/safetensors#format): an unsigned 64-bit little-endian
 * header length N, N bytes of UTF-8 JSON mapping tensor names to `{dtype, shape, data_offsets}`
 * (offsets relative to the start of the data section) plus an optional `__metadata__` string map,
 * then the raw little-endian tensor bytes. The checks below mirror the Rust reference's
 * `SafeTensors::read_metadata` / `Metadata::validate`: bounded header, contiguous offsets covering
 * the whole data section, byte length equal to `numel × itemsize`.
 * @internal
 */
import { ReliquaryError } from '../errors/base.js'

/** Largest JSON header accepted, in bytes (the Rust reference's `MAX_HEADER_SIZE`). */
export const MAX_SAFETENSORS_HEADER_BYTES = 100_000_000

/** Byte width of every dtype the format defines (sub-byte F4/F6 types are not supported). */
export const SAFETENSORS_DTYPE_BYTES: Readonly<Record<string, number>> =
  /*#__PURE__*/ Object.freeze({
    BOOL: 1,
    U8: 1,
    I8: 1,
    F8_E5M2: 1,
    F8_E4M3: 1,
    F8_E8M0: 1,
    I16: 2,
    U16: 2,
    F16: 2,
    BF16: 2,
    I32: 4,
    U32: 4,
    F32: 4,
    I64: 8,
    U64: 8,
    F64: 8,
  })

/** Dtypes converted to float32 on read. */
export const READABLE_DTYPES: readonly string[] = ['F32', 'F16', 'BF16', 'F64']

/** One tensor entry of a parsed header. */
export type SafetensorsTensorInfo = {
  /** Safetensors dtype name, for example `"BF16"`. */
  readonly dtype: string
  /** Shape; `[]` is a scalar. */
  readonly shape: readonly number[]
  /** `[begin, end)` byte offsets relative to the start of the data section. */
  readonly dataOffsets: readonly [number, number]
}

/** A parsed and validated safetensors header. */
export type SafetensorsHeader = {
  /** Byte offset of the data section from the start of the file (8 + header length). */
  readonly dataStart: number
  /** Length of the data section the header describes. */
  readonly dataLength: number
  /** The `__metadata__` string map (empty when absent). */
  readonly metadata: Readonly<Record<string, string>>
  /** Tensor entries by name, in header order. */
  readonly tensors: ReadonlyMap<string, SafetensorsTensorInfo>
}

function headerError(
  source: string,
  why: string,
  meta: Record<string, unknown> = {},
): ReliquaryError {
  return new ReliquaryError(
    'MODEL_SAFETENSORS_HEADER_INVALID',
    `Safetensors header of ${source} is invalid: ${why}`,
    {
      hints: ['The file may be corrupt or not a safetensors file; re-download or re-export it.'],
      meta: { source, ...meta },
    },
  )
}

/**
 * Reads the header length from the first 8 bytes and checks it against the bound and the file
 * size. Returns N as a plain number.
 */
export function readHeaderLength(first8: Uint8Array, fileSize: number, source: string): number {
  if (fileSize < 8 || first8.length < 8) {
    throw new ReliquaryError(
      'MODEL_SAFETENSORS_TRUNCATED',
      `${source} is ${fileSize} bytes, shorter than the 8-byte header length.`,
      {
        meta: { source, fileSize },
      },
    )
  }
  const n = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true)
  if (n > BigInt(MAX_SAFETENSORS_HEADER_BYTES)) {
    throw headerError(
      source,
      `header length ${n} exceeds the ${MAX_SAFETENSORS_HEADER_BYTES}-byte bound.`,
      { headerLength: n.toString() },
    )
  }
  const len = Number(n)
  if (8 + len > fileSize) {
    throw new ReliquaryError(
      'MODEL_SAFETENSORS_TRUNCATED',
      `${source} ends inside its ${len}-byte JSON header (file is ${fileSize} bytes).`,
      {
        meta: { source, fileSize, headerLength: len },
      },
    )
  }
  return len
}

function isNonNegInt(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0
}

/**
 * Parses and validates the JSON header. `fileSize` is the total size of the file (or buffer) so
 * that a short data section is reported as truncation and a long one as an invalid header.
 */
export function parseHeaderJson(
  headerBytes: Uint8Array,
  headerLength: number,
  fileSize: number,
  source: string,
): SafetensorsHeader {
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(headerBytes))
  } catch (e) {
    throw new ReliquaryError(
      'MODEL_SAFETENSORS_HEADER_INVALID',
      `Safetensors header of ${source} is not valid UTF-8 JSON.`,
      {
        hints: ['The file may be corrupt or not a safetensors file; re-download or re-export it.'],
        meta: { source },
        cause: e,
      },
    )
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw headerError(source, 'the JSON is not an object.')
  let metadata: Record<string, string> = {}
  const entries: [string, SafetensorsTensorInfo][] = []
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (
        typeof raw !== 'object' ||
        raw === null ||
        Array.isArray(raw) ||
        !Object.values(raw).every((v) => typeof v === 'string')
      ) {
        throw headerError(source, '"__metadata__" must map strings to strings.')
      }
      metadata = { ...(raw as Record<string, string>) }
      continue
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
      throw headerError(source, `entry "${name}" is not an object.`, { tensor: name })
    const { dtype, shape, data_offsets: offs } = raw as Record<string, unknown>
    if (typeof dtype !== 'string')
      throw headerError(source, `entry "${name}" has no string "dtype".`, { tensor: name })
    if (!Array.isArray(shape) || !shape.every(isNonNegInt))
      throw headerError(source, `entry "${name}" has a malformed "shape".`, { tensor: name })
    if (
      !Array.isArray(offs) ||
      offs.length !== 2 ||
      !isNonNegInt(offs[0]) ||
      !isNonNegInt(offs[1]) ||
      offs[1] < offs[0]
    ) {
      throw headerError(source, `entry "${name}" has malformed "data_offsets".`, { tensor: name })
    }
    const itemBytes = SAFETENSORS_DTYPE_BYTES[dtype]
    if (itemBytes === undefined) {
      throw new ReliquaryError(
        'MODEL_SAFETENSORS_DTYPE_UNSUPPORTED',
        `Tensor "${name}" in ${source} has dtype "${dtype}", which this reader does not know.`,
        {
          hints: [`Supported for loading: ${READABLE_DTYPES.join(', ')}.`],
          meta: { source, tensor: name, dtype },
        },
      )
    }
    const numel = (shape as number[]).reduce((a, b) => a * b, 1)
    if (!Number.isSafeInteger(numel * itemBytes) || numel * itemBytes !== offs[1] - offs[0]) {
      throw headerError(
        source,
        `entry "${name}" spans ${offs[1] - offs[0]} bytes but shape [${shape.join(', ')}] of ${dtype} needs ${numel * itemBytes}.`,
        {
          tensor: name,
        },
      )
    }
    entries.push([
      name,
      {
        dtype,
        shape: Object.freeze([...(shape as number[])]),
        dataOffsets: Object.freeze([offs[0], offs[1]] as [number, number]),
      },
    ])
  }
  // Offsets must tile the data section from 0 without gaps or overlaps.
  const sorted = [...entries].sort(
    (a, b) =>
      a[1].dataOffsets[0] - b[1].dataOffsets[0] || a[1].dataOffsets[1] - b[1].dataOffsets[1],
  )
  let end = 0
  for (const [name, info] of sorted) {
    if (info.dataOffsets[0] !== end) {
      throw headerError(
        source,
        `entry "${name}" starts at byte ${info.dataOffsets[0]}, expected ${end} (offsets must be contiguous).`,
        { tensor: name },
      )
    }
    end = info.dataOffsets[1]
  }
  const dataStart = 8 + headerLength
  const available = fileSize - dataStart
  if (available < end) {
    throw new ReliquaryError(
      'MODEL_SAFETENSORS_TRUNCATED',
      `${source} holds ${available} data bytes but its header describes ${end}.`,
      {
        hints: ['The download or copy was probably interrupted; fetch the file again.'],
        meta: { source, fileSize, expectedSize: dataStart + end },
      },
    )
  }
  if (available > end)
    throw headerError(source, `the file has ${available - end} bytes after the last tensor.`, {
      fileSize,
      expectedSize: dataStart + end,
    })
  return {
    dataStart,
    dataLength: end,
    metadata: Object.freeze(metadata),
    tensors: new Map(entries),
  }
}

const LITTLE_ENDIAN = /*#__PURE__*/ (() => new Uint8Array(new Uint16Array([1]).buffer)[0] === 1)()

/**
 * Converts one tensor's raw little-endian bytes to a new Float32Array. `bytes` may have any
 * alignment; it is not retained.
 */
export function decodeToFloat32(
  bytes: Uint8Array,
  dtype: string,
  source: string,
  name: string,
): Float32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  switch (dtype) {
    case 'F32': {
      const n = bytes.byteLength >>> 2
      if (LITTLE_ENDIAN && bytes.byteOffset % 4 === 0)
        return new Float32Array(bytes.buffer, bytes.byteOffset, n).slice()
      const out = new Float32Array(n)
      if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(bytes)
      else for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true)
      return out
    }
    case 'BF16': {
      const n = bytes.byteLength >>> 1
      const out = new Float32Array(n)
      const u32 = new Uint32Array(out.buffer)
      if (LITTLE_ENDIAN && bytes.byteOffset % 2 === 0) {
        const u16 = new Uint16Array(bytes.buffer, bytes.byteOffset, n)
        for (let i = 0; i < n; i++) u32[i] = (u16[i] as number) << 16
      } else {
        for (let i = 0; i < n; i++) u32[i] = dv.getUint16(2 * i, true) << 16
      }
      return out
    }
    case 'F16': {
      const n = bytes.byteLength >>> 1
      const out = new Float32Array(n)
      for (let i = 0; i < n; i++) out[i] = f16ToF32(dv.getUint16(2 * i, true))
      return out
    }
    case 'F64': {
      const n = bytes.byteLength >>> 3
      const out = new Float32Array(n)
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true)
      return out
    }
    default:
      throw unsupportedDtype(dtype, source, name)
  }
}

function unsupportedDtype(dtype: string, source: string, name: string): ReliquaryError {
  return new ReliquaryError(
    'MODEL_SAFETENSORS_DTYPE_UNSUPPORTED',
    `Tensor "${name}" in ${source} has dtype ${dtype}; only ${READABLE_DTYPES.join(', ')} convert to float32.`,
    {
      hints: [
        'Quantised and integer checkpoints are not supported; load the bf16/fp16/fp32 release of the model.',
      ],
      meta: { source, tensor: name, dtype },
    },
  )
}

/** Throws `MODEL_SAFETENSORS_DTYPE_UNSUPPORTED` unless the dtype converts to float32. */
export function assertReadableDtype(dtype: string, source: string, name: string): void {
  if (!READABLE_DTYPES.includes(dtype)) throw unsupportedDtype(dtype, source, name)
}

/** IEEE 754 binary16 bits to a number (subnormals, infinities and NaN included). */
export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1
  const e = (h >> 10) & 0x1f
  const m = h & 0x3ff
  if (e === 0) return s * m * 2 ** -24
  if (e === 0x1f) return m ? Number.NaN : s * Number.POSITIVE_INFINITY
  return s * (1 + m / 1024) * 2 ** (e - 15)
}

/**
 * Rounds float32 values to bfloat16 bits, round-to-nearest-even (as torch's `.to(bfloat16)`),
 * keeping NaN a quiet NaN with its sign.
 */
export function float32ToBf16Bits(values: Float32Array): Uint16Array {
  const src =
    values.byteOffset % 4 === 0
      ? new Uint32Array(values.buffer, values.byteOffset, values.length)
      : new Uint32Array(values.slice().buffer)
  const out = new Uint16Array(values.length)
  for (let i = 0; i < src.length; i++) {
    const u = src[i] as number
    if ((u & 0x7f800000) === 0x7f800000 && (u & 0x007fffff) !== 0)
      out[i] = ((u >>> 16) & 0x8000) | 0x7fc0
    else out[i] = (u + 0x7fff + ((u >>> 16) & 1)) >>> 16
  }
  return out
}
