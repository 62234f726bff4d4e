/**
 * A seedable PRNG shared by sampling (model/), the miner's prompt picks and the demo environment.
 * @internal
 */

/** A deterministic uniform [0, 1) source (xoshiro128**, seeded through splitmix32). */
export type Rng = () => number

function splitmix32(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (s + 0x9e3779b9) >>> 0
    let z = s
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }
}

/** Seeds xoshiro128** from a safe integer (both 32-bit halves feed the state). */
export function createRng(seed: number): Rng {
  const hi = Math.floor(seed / 2 ** 32) >>> 0
  const sm = splitmix32((seed >>> 0) ^ Math.imul(hi, 0x27d4eb2d))
  let a = sm() ^ hi
  let b = sm()
  let c = sm()
  let d = sm()
  if ((a | b | c | d) === 0) a = 1
  const next = (): number => {
    const r = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0
    const t = b << 9
    c ^= a
    d ^= b
    b ^= c
    a ^= d
    c ^= t
    d = rotl(d, 11)
    return r
  }
  // 53 random bits → a double in [0, 1).
  return () => ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k))
}
