import { ReliquaryError, describeValue } from '../errors/base.js'

const HEX_RE = /^[0-9a-fA-F]*$/

/** Lowercase hex of `bytes`. @internal */
export function toHex(bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i++) s += (bytes[i]! < 16 ? '0' : '') + bytes[i]!.toString(16)
  return s
}

/**
 * Strict hex decoding (even length, hex digits only, no prefix). Throws `INVALID_HEX`.
 * @internal
 */
export function fromHex(hex: string, param = 'hex'): Uint8Array {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !HEX_RE.test(hex)) {
    throw new ReliquaryError(
      'INVALID_HEX',
      `"${param}" must be an even-length hex string, received ${describeValue(hex)}.`,
      {
        meta: { param },
      },
    )
  }
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16)
  return out
}

/** Concatenates byte arrays. @internal */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/** 4-byte big-endian unsigned (the value is reduced mod 2^32 like Python `x & 0xFFFFFFFF`). @internal */
export function be32(x: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, toUint32(x))
  return out
}

/** 4-byte big-endian two's-complement signed integer (Python `struct.pack(">i", x)`). @internal */
export function be32Signed(x: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setInt32(0, x)
  return out
}

/** 8-byte big-endian unsigned. Accepts safe integers ≥ 0 or bigints < 2^64. @internal */
export function be64(x: number | bigint): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(x))
  return out
}

/** `BE32(len(b)) ‖ b`: the length-prefixed encoding used by the PRF and every signed digest. @internal */
export function lp4(b: Uint8Array): Uint8Array {
  return concatBytes(be32(b.length), b)
}

/** UTF-8 bytes of a string. @internal */
export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s)
}

/** `x & 0xFFFFFFFF` for any integer-valued number (Python semantics, including negatives and > 2^53). @internal */
export function toUint32(x: number): number {
  if (x >= 0 && x <= 0xffffffff) return x >>> 0
  if (Number.isSafeInteger(x)) return Number(BigInt(x) & 0xffffffffn)
  // Beyond 2^53 a float is an exact integer multiple of a power of two; BigInt keeps it exact.
  return Number(BigInt(x) & 0xffffffffn)
}
