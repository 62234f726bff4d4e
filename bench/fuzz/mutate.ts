// Structure-aware fast-check generators for hostile documents: a valid seed with a few edits at
// random paths (replace, delete, add an unknown key, grow or cut an array), its JSON text with
// byte-level damage, and free-form values and bytes. Shared by bench/fuzz.ts and test/fuzz.test.ts.
import * as fc from 'fast-check'

type Json = unknown

/** Values that have broken parsers before: non-finite numbers, huge or odd strings, prototypes. */
export function nastyValue(): fc.Arbitrary<Json> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
    {
      weight: 3,
      arbitrary: fc.constantFrom<Json>(
        Number.NaN,
        Number.POSITIVE_INFINITY,
        Number.NEGATIVE_INFINITY,
        -0,
        -1,
        0.5,
        1e308,
        2 ** 53,
        2 ** 64,
        -(2 ** 63),
        '',
        '0',
        '1',
        'NaN',
        '__proto__',
        '\u0000',
        '\ud800',
        'é'.repeat(70),
        'f'.repeat(64),
        'F'.repeat(128),
        null,
        true,
        false,
        [],
        {},
        { __proto__: { polluted: true } },
        JSON.parse('{"__proto__":{"polluted":true}}'),
        { constructor: { prototype: {} } },
      ),
    },
    { weight: 2, arbitrary: fc.integer() },
    { weight: 1, arbitrary: fc.double() },
    { weight: 1, arbitrary: fc.bigInt() },
    { weight: 2, arbitrary: fc.string({ maxLength: 80, unit: 'binary' }) },
    { weight: 1, arbitrary: fc.array(fc.integer(), { maxLength: 200 }) },
    { weight: 1, arbitrary: fc.array(fc.nat(70_000), { minLength: 1, maxLength: 2000 }) },
    { weight: 1, arbitrary: fc.nat(300).map((n) => 'a'.repeat(n * 100)) },
    { weight: 1, arbitrary: fc.nat(12_000).map(deepArray) },
    { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) },
  )
}

function deepArray(depth: number): Json {
  let v: Json = 0
  for (let i = 0; i < depth; i++) v = [v]
  return v
}

type Slot = { parent: Record<string, Json> | Json[]; key: string | number }

function slots(root: Json): Slot[] {
  const out: Slot[] = []
  const walk = (v: Json, depth: number): void => {
    if (depth > 8 || v === null || typeof v !== 'object') return
    if (Array.isArray(v)) {
      // Long arrays: visit a few entries so paths inside them stay reachable but cheap.
      const step = Math.max(1, Math.floor(v.length / 8))
      for (let i = 0; i < v.length; i += step) {
        out.push({ parent: v, key: i })
        walk(v[i], depth + 1)
      }
      return
    }
    for (const k of Object.keys(v)) {
      out.push({ parent: v as Record<string, Json>, key: k })
      walk((v as Record<string, Json>)[k], depth + 1)
    }
  }
  walk(root, 0)
  return out
}

/** One edit: which slot (modulo the slot count), which operation, and the value it may use. */
type Edit = [number, number, Json]

function applyEdit(root: Json, [where, op, value]: Edit): Json {
  const all = slots(root)
  if (all.length === 0) return value
  const { parent, key } = all[where % all.length]!
  if (Array.isArray(parent)) {
    const i = key as number
    if (op === 0) parent[i] = value
    else if (op === 1) parent.splice(i, 1)
    else if (op === 2) parent.splice(i, 0, parent[i])
    else if (op === 3) parent.length = i
    else if (op === 4) parent.push(value)
    else parent[i] = typeof parent[i] === 'number' ? -(parent[i] as number) - 1 : value
    return root
  }
  const k = key as string
  if (op === 0) parent[k] = value
  else if (op === 1) delete parent[k]
  else if (op === 2) parent[`${k}_extra`] = value
  else if (op === 3) parent[k] = typeof parent[k] === 'string' ? `${parent[k]}x` : null
  else if (op === 4)
    Object.defineProperty(parent, '__proto__', {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    })
  else parent[k] = typeof parent[k] === 'number' ? (parent[k] as number) + 1 : value
  return root
}

/** A deep copy of `seed` with one to four random edits. */
export function mutated<T>(seed: T): fc.Arbitrary<Json> {
  return fc
    .array(fc.tuple(fc.nat(), fc.nat(5), nastyValue()), { minLength: 1, maxLength: 4 })
    .map((edits) => {
      let v: Json = structuredClone(seed)
      for (const e of edits) v = applyEdit(v, e as Edit)
      return v
    })
}

/** Byte-level damage to a buffer: flips, truncation, insertion, overwrite. */
export function damagedBytes(bytes: Uint8Array): fc.Arbitrary<Uint8Array> {
  const n = bytes.length
  return fc.oneof(
    fc
      .array(fc.tuple(fc.nat(n - 1), fc.integer({ min: 1, max: 255 })), {
        minLength: 1,
        maxLength: 8,
      })
      .map((flips) => {
        const out = bytes.slice()
        for (const [i, x] of flips) out[i] = (out[i] as number) ^ x
        return out
      }),
    fc.nat(n).map((cut) => bytes.slice(0, cut)),
    fc
      .tuple(fc.nat(n), fc.uint8Array({ minLength: 1, maxLength: 64 }))
      .map(([at, ins]) => Buffer.concat([bytes.subarray(0, at), ins, bytes.subarray(at)])),
    fc.uint8Array({ maxLength: 512 }),
  )
}

/**
 * JSON text of any generated value: bigints are written as plain integer literals (wider than a
 * double) and a value too deep to serialise becomes an unterminated nest.
 */
export function toJsonText(v: Json): string {
  try {
    return (
      JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `@big${x}@` : x))?.replace(
        /"@big(-?\d+)@"/g,
        '$1',
      ) ?? 'null'
    )
  } catch {
    return '[[[['
  }
}

/** JSON text of a document (or of a mutated copy), sometimes damaged at the byte level. */
export function asText(values: fc.Arbitrary<Json>): fc.Arbitrary<string> {
  return values.chain((v) => {
    const text = toJsonText(v)
    return fc.oneof(
      fc.constant(text),
      damagedBytes(new TextEncoder().encode(text)).map((b) => Buffer.from(b).toString('latin1')),
    )
  })
}

/** The usual mix for a JSON parser: mutated seeds (as values and as text) and free-form input. */
export function hostileJson<T>(seeds: readonly T[]): fc.Arbitrary<Json> {
  const seed = fc.constantFrom(...seeds)
  const edited = seed.chain((s) => mutated(s))
  return fc.oneof(
    { weight: 5, arbitrary: edited },
    { weight: 3, arbitrary: asText(fc.oneof(seed as fc.Arbitrary<Json>, edited)) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }) },
    { weight: 1, arbitrary: nastyValue() },
  )
}
