import { sha512 } from '@noble/hashes/sha2'
import { ReliquaryError } from '../errors/base.js'
import { concatBytes } from '../_utils/bytes.js'

const N = 624
const M = 397

/**
 * A port of CPython's `random.Random` (MT19937) for the parts the protocol uses: seeding from
 * bytes (version 2: `int.from_bytes(seed ‖ sha512(seed))` then `init_by_array`), `getrandbits`
 * (k ≤ 32), `_randbelow`, `sample` (with CPython's set-size rule) and `shuffle`.
 *
 * The protocol draws challenge positions with `random.Random(seed)`, so a miner and a validator
 * in different languages agree only if this generator is bit-identical to CPython's. No npm
 * package reproduces CPython's seeding and sampling rules, hence this port.
 *
 * - Spec: docs/protocol.md §1.4; CPython `Modules/_randommodule.c`, `Lib/random.py` (3.11/3.12).
 *
 * @example
 * ```ts
 * import { PyRandom } from 'reliquary/grail'
 * const rng = PyRandom.fromBytes(new Uint8Array([1, 2, 3]))
 * rng.sample(100, 5)
 * ```
 */
export class PyRandom {
  private readonly mt = new Uint32Array(N)
  private mti = N + 1

  private constructor() {}

  /** `random.Random(seed)` for a `bytes` seed. */
  static fromBytes(seed: Uint8Array): PyRandom {
    const material = concatBytes(seed, sha512(seed))
    const r = new PyRandom()
    r.initByArray(keyFromBigEndian(material))
    return r
  }

  /** `random.Random(n)` for a non-negative integer seed. */
  static fromInt(seed: number | bigint): PyRandom {
    let a = BigInt(seed)
    if (a < 0n) a = -a
    const key: number[] = []
    while (a > 0n) {
      key.push(Number(a & 0xffffffffn))
      a >>= 32n
    }
    const r = new PyRandom()
    r.initByArray(key.length ? key : [0])
    return r
  }

  private initGenrand(s: number): void {
    const mt = this.mt
    mt[0] = s >>> 0
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30)
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0
    }
    this.mti = N
  }

  private initByArray(key: readonly number[]): void {
    const mt = this.mt
    this.initGenrand(19650218)
    let i = 1
    let j = 0
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30)
      mt[i] = ((mt[i]! ^ Math.imul(prev, 1664525)) + key[j]! + j) >>> 0
      i++
      j++
      if (i >= N) {
        mt[0] = mt[N - 1]!
        i = 1
      }
      if (j >= key.length) j = 0
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30)
      mt[i] = ((mt[i]! ^ Math.imul(prev, 1566083941)) - i) >>> 0
      i++
      if (i >= N) {
        mt[0] = mt[N - 1]!
        i = 1
      }
    }
    mt[0] = 0x80000000
  }

  /** `genrand_uint32`: the next 32-bit output. */
  nextUint32(): number {
    const mt = this.mt
    if (this.mti >= N) {
      let kk = 0
      for (; kk < N - M; kk++) {
        const y = (mt[kk]! & 0x80000000) | (mt[kk + 1]! & 0x7fffffff)
        mt[kk] = mt[kk + M]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0)
      }
      for (; kk < N - 1; kk++) {
        const y = (mt[kk]! & 0x80000000) | (mt[kk + 1]! & 0x7fffffff)
        mt[kk] = mt[kk + (M - N)]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0)
      }
      const y = (mt[N - 1]! & 0x80000000) | (mt[0]! & 0x7fffffff)
      mt[N - 1] = mt[M - 1]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0)
      this.mti = 0
    }
    let y = mt[this.mti++]!
    y ^= y >>> 11
    y ^= (y << 7) & 0x9d2c5680
    y ^= (y << 15) & 0xefc60000
    y ^= y >>> 18
    return y >>> 0
  }

  /** `getrandbits(k)` for 0 ≤ k ≤ 32. */
  getrandbits(k: number): number {
    if (!Number.isInteger(k) || k < 0 || k > 32) {
      throw new ReliquaryError(
        'INVALID_ARGUMENT',
        `"k" expected an integer in [0, 32], received ${String(k)}.`,
      )
    }
    if (k === 0) return 0
    return this.nextUint32() >>> (32 - k)
  }

  /** `_randbelow_with_getrandbits(n)` for 1 ≤ n ≤ 2^32. */
  randbelow(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 0x100000000) {
      throw new ReliquaryError(
        'INVALID_ARGUMENT',
        `"n" expected an integer in [1, 2^32], received ${String(n)}.`,
      )
    }
    const k = bitLength(n)
    let r = this.getrandbits(k)
    while (r >= n) r = this.getrandbits(k)
    return r
  }

  /** `sample(range(n), k)`: k distinct values of [0, n), in CPython's draw order. */
  sample(n: number, k: number): number[] {
    if (!Number.isInteger(n) || !Number.isInteger(k) || k < 0 || k > n) {
      throw new ReliquaryError(
        'INVALID_ARGUMENT',
        `sample: expected 0 ≤ k ≤ n, received n=${String(n)}, k=${String(k)}.`,
      )
    }
    const result = new Array<number>(k)
    let setsize = 21
    if (k > 5) setsize += 4 ** Math.ceil(Math.log(3 * k) / Math.log(4))
    if (n <= setsize) {
      const pool = Array.from({ length: n }, (_, i) => i)
      for (let i = 0; i < k; i++) {
        const j = this.randbelow(n - i)
        result[i] = pool[j]!
        pool[j] = pool[n - i - 1]!
      }
    } else {
      const selected = new Set<number>()
      for (let i = 0; i < k; i++) {
        let j = this.randbelow(n)
        while (selected.has(j)) j = this.randbelow(n)
        selected.add(j)
        result[i] = j
      }
    }
    return result
  }

  /** `shuffle(x)` in place (Python ≥ 3.11 form: swap x[i] with x[randbelow(i+1)], i from the end). */
  shuffle<T>(x: T[]): T[] {
    for (let i = x.length - 1; i > 0; i--) {
      const j = this.randbelow(i + 1)
      const t = x[i]!
      x[i] = x[j]!
      x[j] = t
    }
    return x
  }
}

/** Bit length of a positive integer ≤ 2^32. @internal */
function bitLength(n: number): number {
  return n >= 0x100000000 ? 33 : 32 - Math.clz32(n)
}

/**
 * The `init_by_array` key of a big-endian integer: 32-bit words least significant first, with
 * leading zero words dropped (CPython `random_seed`); `[0]` for zero.
 */
function keyFromBigEndian(bytes: Uint8Array): number[] {
  let start = 0
  while (start < bytes.length && bytes[start] === 0) start++
  const len = bytes.length - start
  if (len === 0) return [0]
  const words = Math.ceil(len / 4)
  const key = new Array<number>(words).fill(0)
  for (let i = 0; i < len; i++) {
    const byte = bytes[bytes.length - 1 - i]!
    const w = i >> 2
    key[w] = (key[w]! | (byte << (8 * (i & 3)))) >>> 0
  }
  return key
}
