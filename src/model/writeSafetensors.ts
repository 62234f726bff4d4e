import { open, rename, rm } from 'node:fs/promises'
import { invalidArgument } from '../errors/base.js'
import { float32ToBf16Bits } from './_safetensorsFormat.js'

/** One tensor to write: row-major float32 values and their shape. */
export type SafetensorsWriteTensor = {
  /** Shape; the product must equal `data.length`. */
  readonly shape: readonly number[]
  /** Values, row-major. */
  readonly data: Float32Array
}

/** Options of {@link serializeSafetensors} and {@link writeSafetensors}. */
export type WriteSafetensorsOptions = {
  /** Stored dtype: `"F32"` keeps values exactly; `"BF16"` rounds to nearest even. @default "F32" */
  dtype?: 'F32' | 'BF16' | undefined
  /**
   * The `__metadata__` string map. transformers refuses files whose `format` is not `"pt"` (or
   * tf/flax/mlx), so the default is `{ format: "pt" }`.
   */
  metadata?: Readonly<Record<string, string>> | undefined
}

/** Tensors to write, by name: a plain object or a Map. */
export type SafetensorsWriteInput =
  | Readonly<Record<string, SafetensorsWriteTensor>>
  | ReadonlyMap<string, SafetensorsWriteTensor>

type Planned = { name: string; t: SafetensorsWriteTensor; begin: number; end: number }

function plan(
  tensors: SafetensorsWriteInput,
  options: WriteSafetensorsOptions,
): { header: Uint8Array; items: Planned[]; dtype: 'F32' | 'BF16' } {
  const dtype = options.dtype ?? 'F32'
  if (dtype !== 'F32' && dtype !== 'BF16')
    throw invalidArgument('options.dtype', '"F32" or "BF16"', dtype)
  const item = dtype === 'F32' ? 4 : 2
  const entries: [string, SafetensorsWriteTensor][] =
    tensors instanceof Map
      ? [...(tensors as ReadonlyMap<string, SafetensorsWriteTensor>).entries()]
      : Object.entries(tensors as Record<string, SafetensorsWriteTensor>)
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  const json: Record<string, unknown> = {
    __metadata__: { ...(options.metadata ?? { format: 'pt' }) },
  }
  const items: Planned[] = []
  let offset = 0
  for (const [name, t] of entries) {
    if (name === '__metadata__' || name.length === 0)
      throw invalidArgument('tensors', 'non-empty names other than "__metadata__"', name)
    const numel = t.shape.reduce((a, b) => a * b, 1)
    if (
      !t.shape.every((d) => Number.isSafeInteger(d) && d >= 0) ||
      !(t.data instanceof Float32Array) ||
      numel !== t.data.length
    ) {
      throw invalidArgument(
        `tensors["${name}"]`,
        `a Float32Array whose length matches shape [${t.shape.join(', ')}]`,
        t.data,
      )
    }
    const begin = offset
    offset += numel * item
    json[name] = { dtype, shape: [...t.shape], data_offsets: [begin, offset] }
    items.push({ name, t, begin, end: offset })
  }
  let text = JSON.stringify(json)
  // Pad with spaces so the data section starts 8-byte aligned, as the Rust writer does.
  const enc = new TextEncoder()
  const rawLen = enc.encode(text).length
  text += ' '.repeat((8 - (rawLen % 8)) % 8)
  const body = enc.encode(text)
  const header = new Uint8Array(8 + body.length)
  new DataView(header.buffer).setBigUint64(0, BigInt(body.length), true)
  header.set(body, 8)
  return { header, items, dtype }
}

function encode(t: SafetensorsWriteTensor, dtype: 'F32' | 'BF16'): Uint8Array {
  if (dtype === 'BF16') {
    const bits = float32ToBf16Bits(t.data)
    return new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength)
  }
  // Safetensors data is little-endian; every platform Node supports is little-endian too.
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength)
}

/**
 * Serialises float32 tensors to safetensors bytes (F32 or BF16), loadable by Python's
 * `safetensors.torch.load_file` and by transformers. Names are written in sorted order and the
 * header is space-padded to an 8-byte boundary.
 *
 * @param tensors - Tensors by name. Not mutated.
 * @param options - {@link WriteSafetensorsOptions}
 * @returns The complete file.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a bad dtype, name or shape.
 *
 * @example
 * ```ts
 * import { serializeSafetensors, readSafetensors } from 'reliquary/model'
 * const bytes = serializeSafetensors({ w: { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) } }, { dtype: 'BF16' })
 * readSafetensors(bytes).readFloat32('w').data // Float32Array [1, 2, 3, 4]
 * ```
 */
export function serializeSafetensors(
  tensors: SafetensorsWriteInput,
  options: WriteSafetensorsOptions = {},
): Uint8Array {
  const { header, items, dtype } = plan(tensors, options)
  const total = header.length + (items.at(-1)?.end ?? 0)
  const out = new Uint8Array(total)
  out.set(header, 0)
  for (const it of items) out.set(encode(it.t, dtype), header.length + it.begin)
  return out
}

/**
 * Writes float32 tensors to a safetensors file, one tensor at a time (no whole-file buffer), to a
 * temporary name first and then renamed over `path`, so a crash never leaves a half-written file.
 *
 * @param path - Destination file.
 * @param tensors - Tensors by name. Not mutated.
 * @param options - {@link WriteSafetensorsOptions}
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a bad dtype, name or shape; file-system errors
 *   propagate unchanged.
 *
 * @example
 * ```ts
 * import { writeSafetensors } from 'reliquary/model'
 * await writeSafetensors('out/model.safetensors', { 'model.norm.weight': { shape: [4], data: new Float32Array(4).fill(1) } }, { dtype: 'BF16' })
 * ```
 */
export async function writeSafetensors(
  path: string,
  tensors: SafetensorsWriteInput,
  options: WriteSafetensorsOptions = {},
): Promise<void> {
  const { header, items, dtype } = plan(tensors, options)
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`
  const fh = await open(tmp, 'w')
  try {
    await fh.write(header, 0, header.length, 0)
    for (const it of items) {
      const bytes = encode(it.t, dtype)
      let done = 0
      while (done < bytes.length) {
        const { bytesWritten } = await fh.write(
          bytes,
          done,
          Math.min(1 << 30, bytes.length - done),
          header.length + it.begin + done,
        )
        done += bytesWritten
      }
    }
    await fh.close()
    await rename(tmp, path)
  } catch (e) {
    await fh.close().catch(() => undefined)
    await rm(tmp, { force: true })
    throw e
  }
}
