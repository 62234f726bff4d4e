import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest'
import { fetchBeacon, type ChainClient, type ChainInfo, type RandomnessBeacon } from 'drand-client'
import { isReliquaryError } from '../src/errors/base.js'
import { DEFAULT_PROFILE } from '../src/protocol/profiles.js'
import { windowRandomnessE3 } from '../src/drand/windowRandomness.js'
import {
  isVerifiedBeacon,
  type DrandBeaconInput,
  type DrandChainInfo,
  type VerifiedBeacon,
} from '../src/drand/beacon.js'
import { verifyBeacon } from '../src/drand/verifyBeacon.js'
import {
  assertChainInfo,
  drandChainHash,
  QUICKNET_CHAIN_INFO,
  SUPPORTED_DRAND_SCHEMES,
} from '../src/drand/chainInfo.js'
import { createRecordedBeaconSource } from '../src/drand/recordedBeaconSource.js'
import { createLocalBeaconChain } from '../src/drand/localBeaconChain.js'
import { createHttpBeaconSource } from '../src/drand/httpBeaconSource.js'
import { windowRandomnessFromBeacon } from '../src/drand/windowRandomnessFromBeacon.js'
import { VECTORS_DIR } from './_vectors.js'
import { expectCode, expectRejectCode } from './_errors.js'

// ---------------------------------------------------------------------------------------------
// Fixture: real public drand beacons with their chain info (found by content, not by file name).

type FixtureBeacon = DrandBeaconInput & { chain: string; randomness: string }
type Fixture = { chains: Record<string, DrandChainInfo>; beacons: FixtureBeacon[] }

function loadFixture(): Fixture {
  for (const f of readdirSync(VECTORS_DIR)
    .filter((n: string) => n.endsWith('.json'))
    .sort()) {
    const doc = JSON.parse(readFileSync(join(VECTORS_DIR, f), 'utf8'))
    if (doc && typeof doc === 'object' && doc.chains && Array.isArray(doc.beacons))
      return doc as Fixture
  }
  throw new Error(`no drand beacon vectors in ${VECTORS_DIR}`)
}
const FX = loadFixture()
const chainOf = (b: FixtureBeacon): DrandChainInfo => FX.chains[b.chain]!
const raw = (b: FixtureBeacon): DrandBeaconInput => {
  const { round, signature, randomness, previous_signature } = b
  return {
    round,
    signature,
    randomness,
    ...(previous_signature !== undefined ? { previous_signature } : {}),
  }
}
const sha256hex = (hex: string) =>
  createHash('sha256').update(Buffer.from(hex, 'hex')).digest('hex')
const cases = FX.beacons.map((b) => ({ name: `${b.chain} round ${b.round}`, b }))

/** drand-client's own verifier, reached through fetchBeacon and a stub ChainClient. */
async function drandClientAccepts(
  beacon: DrandBeaconInput & { randomness: string },
  info: DrandChainInfo,
): Promise<boolean> {
  const client: ChainClient = {
    options: { disableBeaconVerification: false, noCache: false },
    chain: () => ({ baseUrl: 'stub', info: async () => info as ChainInfo }),
    latest: async () => beacon as RandomnessBeacon,
    get: async () => beacon as RandomnessBeacon,
  }
  try {
    await fetchBeacon(client, beacon.round)
    return true
  } catch {
    return false
  }
}

const flipLastNibble = (hex: string) => hex.slice(0, -1) + (hex.at(-1) === '0' ? '1' : '0')

let consoleError: ReturnType<typeof vi.spyOn>
beforeEach(() => {
  consoleError = vi.spyOn(console, 'error').mockImplementation(() => undefined)
})
afterEach(() => {
  // Neither our code nor drand-client (reached only after our checks pass) may log.
  expect(consoleError).not.toHaveBeenCalled()
  consoleError.mockRestore()
})

// ---------------------------------------------------------------------------------------------

describe('fixture sanity', () => {
  test('covers quicknet (bls-unchained-g1-rfc9380) and the chained and unchained mainnet schemes', () => {
    const schemes = new Set(FX.beacons.map((b) => chainOf(b).schemeID))
    expect(schemes).toContain('bls-unchained-g1-rfc9380')
    expect(schemes).toContain('pedersen-bls-chained')
    expect(schemes).toContain('pedersen-bls-unchained')
    for (const s of schemes) expect(SUPPORTED_DRAND_SCHEMES).toContain(s)
  })
})

describe('verifyBeacon: every real beacon verifies offline', () => {
  test.each(cases)('$name', ({ b }) => {
    const v = verifyBeacon(raw(b), chainOf(b))
    expect(v.verified).toBe(true)
    expect(v.round).toBe(b.round)
    expect(v.signature).toBe(b.signature.toLowerCase())
    expect(v.randomness).toBe(sha256hex(b.signature))
    expect(v.randomness).toBe(b.randomness)
    expect(v.chainHash).toBe(chainOf(b).hash)
    expect(Object.isFrozen(v)).toBe(true)
    expect(isVerifiedBeacon(v)).toBe(true)
    // Also without the randomness field (the v2 HTTP API omits it).
    const { randomness: _r, ...noRandomness } = raw(b)
    expect(verifyBeacon(noRandomness, chainOf(b), { expectedRound: b.round }).randomness).toBe(
      b.randomness,
    )
  })

  test('drand-client agrees on every real beacon and on every round tamper', async () => {
    for (const { b } of cases) {
      expect(await drandClientAccepts({ ...raw(b), randomness: b.randomness }, chainOf(b))).toBe(
        true,
      )
      expect(
        await drandClientAccepts(
          { ...raw(b), round: b.round + 1, randomness: b.randomness },
          chainOf(b),
        ),
      ).toBe(false)
    }
  })
})

describe('verifyBeacon: tampered beacons are rejected with typed errors', () => {
  test.each(cases)('changed round: $name', ({ b }) => {
    const e = expectCode(
      () => verifyBeacon({ ...raw(b), round: b.round + 1 }, chainOf(b)),
      'DRAND_SIGNATURE_INVALID',
    )
    expect(e.meta.reason).toBe('pairing')
    expectCode(
      () => verifyBeacon({ ...raw(b), round: b.round - 1 || 2 }, chainOf(b)),
      'DRAND_SIGNATURE_INVALID',
    )
    expectCode(
      () => verifyBeacon(raw(b), chainOf(b), { expectedRound: b.round + 1 }),
      'DRAND_ROUND_MISMATCH',
    )
  })

  test.each(cases)('changed signature: $name', ({ b }) => {
    // A corrupted encoding (randomness recomputed so only the signature is at fault).
    const bad = flipLastNibble(b.signature)
    expectCode(
      () => verifyBeacon({ ...raw(b), signature: bad, randomness: sha256hex(bad) }, chainOf(b)),
      'DRAND_SIGNATURE_INVALID',
    )
    // A valid point of the right group: another beacon's signature.
    const other = FX.beacons.find(
      (o) => o !== b && o.signature.length === b.signature.length && o.signature !== b.signature,
    )!
    const e = expectCode(
      () =>
        verifyBeacon(
          { ...raw(b), signature: other.signature, randomness: sha256hex(other.signature) },
          chainOf(b),
        ),
      'DRAND_SIGNATURE_INVALID',
    )
    expect(e.meta.reason).toBe('pairing')
    // The signature left alone but the randomness changed.
    expectCode(
      () => verifyBeacon({ ...raw(b), randomness: flipLastNibble(b.randomness) }, chainOf(b)),
      'DRAND_RANDOMNESS_MISMATCH',
    )
  })

  test.each(cases)('changed chain public key: $name', ({ b }) => {
    const info = chainOf(b)
    // Corrupted key bytes.
    expectCode(
      () => verifyBeacon(raw(b), { ...info, public_key: flipLastNibble(info.public_key) }),
      'DRAND_CHAIN_INFO_INVALID',
      'DRAND_SIGNATURE_INVALID',
    )
    // A valid key of the right group, but another chain's.
    const otherKey = Object.values(FX.chains).find(
      (c) => c.public_key.length === info.public_key.length && c.public_key !== info.public_key,
    )!.public_key
    const e = expectCode(
      () => verifyBeacon(raw(b), { ...info, public_key: otherKey }),
      'DRAND_SIGNATURE_INVALID',
    )
    expect(e.meta.reason).toBe('pairing')
  })

  test('changed previous_signature on chained beacons', () => {
    const chained = cases.filter(({ b }) => chainOf(b).schemeID === 'pedersen-bls-chained')
    expect(chained.length).toBeGreaterThan(0)
    for (const { b } of chained) {
      expectCode(
        () =>
          verifyBeacon(
            { ...raw(b), previous_signature: flipLastNibble(b.previous_signature!) },
            chainOf(b),
          ),
        'DRAND_SIGNATURE_INVALID',
      )
      expectCode(
        () => verifyBeacon({ round: b.round, signature: b.signature }, chainOf(b)),
        'DRAND_BEACON_MALFORMED',
      )
    }
  })

  test('malformed beacons, keys and schemes', () => {
    const b = cases.find(({ b }) => chainOf(b).schemeID === 'bls-unchained-g1-rfc9380')!.b
    const info = chainOf(b)
    expectCode(
      () => verifyBeacon({ ...raw(b), signature: b.signature.slice(2) }, info),
      'DRAND_BEACON_MALFORMED',
    )
    expectCode(
      () => verifyBeacon({ ...raw(b), signature: `zz${b.signature.slice(2)}` }, info),
      'DRAND_BEACON_MALFORMED',
    )
    expectCode(() => verifyBeacon({ ...raw(b), round: 0 }, info), 'DRAND_BEACON_MALFORMED')
    expectCode(() => verifyBeacon({ ...raw(b), round: 1.5 }, info), 'DRAND_BEACON_MALFORMED')
    expectCode(
      () => verifyBeacon(null as unknown as DrandBeaconInput, info),
      'DRAND_BEACON_MALFORMED',
    )
    expectCode(
      () => verifyBeacon(raw(b), { ...info, schemeID: 'bls-bn254-unchained-on-g1' }),
      'DRAND_SCHEME_UNSUPPORTED',
    )
    expectCode(
      () => verifyBeacon(raw(b), { ...info, public_key: info.public_key.slice(0, 96) }),
      'DRAND_CHAIN_INFO_INVALID',
    )
    // The identity point is refused as a signature (compressed G1 infinity: 0xc0 then zeros).
    const inf = `c0${'00'.repeat(47)}`
    expectCode(
      () => verifyBeacon({ round: b.round, signature: inf }, info),
      'DRAND_SIGNATURE_INVALID',
    )
    // Upper-case hex is the same beacon (normalised), not a different randomness.
    expect(
      verifyBeacon({ ...raw(b), signature: b.signature.toUpperCase(), randomness: undefined }, info)
        .randomness,
    ).toBe(b.randomness)
  })

  test('verifyBeacon never logs', () => {
    const b = cases[0]!.b
    expectCode(
      () => verifyBeacon({ ...raw(b), round: b.round + 1 }, chainOf(b)),
      'DRAND_SIGNATURE_INVALID',
    )
    expect(consoleError).not.toHaveBeenCalled()
  })
})

describe('chain info', () => {
  test('drandChainHash recomputes every real chain hash', () => {
    const withHash = Object.values(FX.chains).filter((c) => /^[0-9a-f]{64}$/.test(c.hash))
    expect(withHash.length).toBeGreaterThanOrEqual(3)
    for (const c of withHash) {
      expect(drandChainHash(c)).toBe(c.hash)
      expect(assertChainInfo(c, { chainHash: c.hash }).public_key).toBe(c.public_key)
    }
  })

  test('QUICKNET_CHAIN_INFO matches the profile and the fixture', () => {
    expect(drandChainHash(QUICKNET_CHAIN_INFO)).toBe(QUICKNET_CHAIN_INFO.hash)
    expect(QUICKNET_CHAIN_INFO.hash).toBe(DEFAULT_PROFILE.drand.chainHash)
    expect(QUICKNET_CHAIN_INFO.period).toBe(DEFAULT_PROFILE.drand.periodSeconds)
    expect(QUICKNET_CHAIN_INFO.genesis_time).toBe(DEFAULT_PROFILE.drand.genesisTime)
    const fx = Object.values(FX.chains).find((c) => c.hash === QUICKNET_CHAIN_INFO.hash)
    if (fx) expect(fx.public_key).toBe(QUICKNET_CHAIN_INFO.public_key)
  })

  test('assertChainInfo refuses a swapped key, a wrong pin and a relabelled scheme', () => {
    const q = QUICKNET_CHAIN_INFO
    const other = Object.values(FX.chains).find(
      (c) => c.public_key.length === q.public_key.length && c.public_key !== q.public_key,
    )!
    expectCode(
      () => assertChainInfo({ ...q, public_key: other.public_key }),
      'DRAND_CHAIN_INFO_INVALID',
    )
    expectCode(() => assertChainInfo(q, { chainHash: 'ab'.repeat(32) }), 'DRAND_CHAIN_INFO_INVALID')
    // The scheme is not covered by drand's hash, so a known chain's scheme is compared field by field.
    expectCode(
      () => assertChainInfo({ ...q, schemeID: 'bls-unchained-on-g1' }),
      'DRAND_CHAIN_INFO_INVALID',
    )
    expectCode(() => assertChainInfo({ ...q, schemeID: 'nope' }), 'DRAND_SCHEME_UNSUPPORTED')
  })
})

// ---------------------------------------------------------------------------------------------

const SECRET = '0f'.repeat(32)
const GENESIS = 1_700_000_000

describe('createLocalBeaconChain', () => {
  const at = (round: number) => (GENESIS + (round - 1) * 3) * 1000 + 500
  let nowMs = at(10)
  const chain = createLocalBeaconChain({
    secretKey: SECRET,
    genesisTime: GENESIS,
    periodSeconds: 3,
    now: () => nowMs,
  })

  test('chain info: quicknet scheme, its own key, a hash that recomputes', () => {
    expect(chain.info.schemeID).toBe('bls-unchained-g1-rfc9380')
    expect(chain.info.public_key).toMatch(/^[0-9a-f]{192}$/)
    expect(assertChainInfo(chain.info, { chainHash: chain.info.hash }).hash).toBe(
      drandChainHash(chain.info),
    )
  })

  test('beacons verify through the same path (verifyBeacon, and drand-client)', async () => {
    nowMs = at(10)
    expect(chain.currentRound()).toBe(10)
    for (const round of [1, 2, 9, 10]) {
      const v = await chain.beacon(round)
      expect(isVerifiedBeacon(v)).toBe(true)
      expect(v.randomness).toBe(sha256hex(v.signature))
      const r = chain.rawBeacon(round)
      expect(verifyBeacon(r, chain.info, { expectedRound: round }).signature).toBe(v.signature)
      expect(
        await drandClientAccepts(r as DrandBeaconInput & { randomness: string }, chain.info),
      ).toBe(true)
    }
    expect((await chain.latest()).round).toBe(10)
    nowMs = at(11)
    expect((await chain.latest()).round).toBe(11)
  })

  test('signatures are deterministic for a key; another key is another chain', async () => {
    const again = createLocalBeaconChain({
      secretKey: SECRET,
      genesisTime: GENESIS,
      periodSeconds: 3,
    })
    expect(again.rawBeacon(5).signature).toBe(chain.rawBeacon(5).signature)
    expect(again.info.hash).toBe(chain.info.hash)
    const fresh = createLocalBeaconChain({ genesisTime: GENESIS, periodSeconds: 3 })
    expect(fresh.info.public_key).not.toBe(chain.info.public_key)
    expectCode(() => verifyBeacon(fresh.rawBeacon(5), chain.info), 'DRAND_SIGNATURE_INVALID')
  })

  test('tampered local beacons are rejected like real ones', () => {
    const r = chain.rawBeacon(7)
    expectCode(() => verifyBeacon({ ...r, round: 8 }, chain.info), 'DRAND_SIGNATURE_INVALID')
    expectCode(
      () =>
        verifyBeacon(
          { ...r, signature: chain.rawBeacon(8).signature, randomness: undefined },
          chain.info,
        ),
      'DRAND_SIGNATURE_INVALID',
    )
    expectCode(
      () => verifyBeacon(r, { ...chain.info, public_key: QUICKNET_CHAIN_INFO.public_key }),
      'DRAND_SIGNATURE_INVALID',
    )
  })

  test('refuses future rounds and bad keys', async () => {
    nowMs = at(10)
    await expectRejectCode(chain.beacon(11), 'DRAND_UNAVAILABLE')
    const early = createLocalBeaconChain({
      secretKey: SECRET,
      genesisTime: GENESIS,
      periodSeconds: 3,
      now: () => GENESIS * 1000 - 1,
    })
    await expectRejectCode(early.latest(), 'DRAND_UNAVAILABLE')
    expectCode(
      () =>
        createLocalBeaconChain({
          secretKey: '00'.repeat(32),
          genesisTime: GENESIS,
          periodSeconds: 3,
        }),
      'INVALID_ARGUMENT',
    )
    expectCode(
      () =>
        createLocalBeaconChain({
          secretKey: 'ff'.repeat(32),
          genesisTime: GENESIS,
          periodSeconds: 3,
        }),
      'INVALID_ARGUMENT',
    )
    expectCode(
      () => createLocalBeaconChain({ secretKey: SECRET, genesisTime: GENESIS, periodSeconds: 0 }),
      'INVALID_ARGUMENT',
    )
  })
})

// ---------------------------------------------------------------------------------------------

const quicknetBeacons = FX.beacons.filter(
  (b) => b.chain && chainOf(b).hash === QUICKNET_CHAIN_INFO.hash,
)

describe('createRecordedBeaconSource', () => {
  test('serves verified recorded beacons; latest is the highest round', async () => {
    expect(quicknetBeacons.length).toBeGreaterThan(1)
    const src = createRecordedBeaconSource({
      chainInfo: QUICKNET_CHAIN_INFO,
      chainHash: DEFAULT_PROFILE.drand.chainHash,
      beacons: quicknetBeacons.map(raw),
    })
    for (const b of quicknetBeacons) {
      const v = await src.beacon(b.round)
      expect(isVerifiedBeacon(v)).toBe(true)
      expect(v.randomness).toBe(b.randomness)
    }
    expect((await src.latest()).round).toBe(Math.max(...quicknetBeacons.map((b) => b.round)))
    await expectRejectCode(src.beacon(4), 'DRAND_UNAVAILABLE')
    expect(consoleError).not.toHaveBeenCalled()
  })

  test('works for every chain of the fixture, chained schemes included', async () => {
    for (const [name, info] of Object.entries(FX.chains)) {
      const bs = FX.beacons.filter((b) => b.chain === name)
      const src = createRecordedBeaconSource({ chainInfo: info, beacons: bs.map(raw) })
      for (const b of bs) expect((await src.beacon(b.round)).randomness).toBe(b.randomness)
    }
  })

  test('a tampered recording is refused when served, never returned', async () => {
    const [a, b] = quicknetBeacons
    const src = createRecordedBeaconSource({
      chainInfo: QUICKNET_CHAIN_INFO,
      beacons: [
        { ...raw(a!), signature: b!.signature, randomness: b!.randomness },
        { ...raw(b!), randomness: flipLastNibble(b!.randomness) },
      ],
    })
    await expectRejectCode(src.beacon(a!.round), 'DRAND_SIGNATURE_INVALID')
    await expectRejectCode(src.beacon(b!.round), 'DRAND_RANDOMNESS_MISMATCH')
    expect(consoleError).not.toHaveBeenCalled()
  })

  test('pinning refuses the wrong chain; duplicate rounds are refused', () => {
    const walkthrough = Object.values(FX.chains).find(
      (c) => c.hash !== QUICKNET_CHAIN_INFO.hash && c.schemeID === 'bls-unchained-g1-rfc9380',
    )!
    expectCode(
      () =>
        createRecordedBeaconSource({
          chainInfo: walkthrough,
          chainHash: QUICKNET_CHAIN_INFO.hash,
          beacons: [],
        }),
      'DRAND_CHAIN_INFO_INVALID',
    )
    const b = raw(quicknetBeacons[0]!)
    expectCode(
      () => createRecordedBeaconSource({ chainInfo: QUICKNET_CHAIN_INFO, beacons: [b, b] }),
      'INVALID_ARGUMENT',
    )
  })
})

// ---------------------------------------------------------------------------------------------

type Route = (url: URL, init: RequestInit | undefined) => Response | Promise<Response>
function fakeFetch(route: Route) {
  const calls: string[] = []
  const f = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input))
    calls.push(`${url.host}${url.pathname}`)
    return route(url, init)
  }) as typeof fetch
  return { fetch: f, calls }
}
const json = (v: unknown) =>
  new Response(JSON.stringify(v), { status: 200, headers: { 'content-type': 'application/json' } })
const notFound = () => new Response('not found', { status: 404 })
const byRound = new Map(quicknetBeacons.map((b) => [b.round, b]))
/** A relay serving the v1 API only (v2 paths 404), optionally rewriting beacons. */
const v1Relay =
  (rewrite: (b: FixtureBeacon) => unknown = raw): Route =>
  (url) => {
    const m = /^\/([0-9a-f]{64})\/public\/(\d+)$/.exec(url.pathname)
    const b = m ? byRound.get(Number(m[2])) : undefined
    return b && m![1] === QUICKNET_CHAIN_INFO.hash ? json(rewrite(b)) : notFound()
  }

describe('createHttpBeaconSource (injected fetch, no network)', () => {
  const R = quicknetBeacons[0]!.round

  test('fetches from the v2 path, then v1, and returns verified beacons', async () => {
    const v2 = fakeFetch((url) => {
      const m = /^\/v2\/chains\/([0-9a-f]{64})\/rounds\/(\d+)$/.exec(url.pathname)
      const b = m ? byRound.get(Number(m[2])) : undefined
      return b ? json({ round: b.round, signature: b.signature }) : notFound()
    })
    const src = createHttpBeaconSource({ relays: ['https://relay-a.test'], fetch: v2.fetch })
    const v = await src.beacon(R)
    expect(isVerifiedBeacon(v)).toBe(true)
    expect(v.randomness).toBe(byRound.get(R)!.randomness)
    expect(v2.calls).toEqual([`relay-a.test/v2/chains/${QUICKNET_CHAIN_INFO.hash}/rounds/${R}`])

    const v1 = fakeFetch(v1Relay())
    const src1 = createHttpBeaconSource({ relays: ['https://relay-b.test/'], fetch: v1.fetch })
    expect((await src1.beacon(R)).round).toBe(R)
    expect(v1.calls).toEqual([
      `relay-b.test/v2/chains/${QUICKNET_CHAIN_INFO.hash}/rounds/${R}`,
      `relay-b.test/${QUICKNET_CHAIN_INFO.hash}/public/${R}`,
    ])
    expect(consoleError).not.toHaveBeenCalled()
  })

  test('skips a relay serving a tampered beacon and uses the next one', async () => {
    const f = fakeFetch((url, init) =>
      url.host === 'evil.test'
        ? v1Relay((b) => ({
            ...raw(b),
            round: b.round,
            signature: quicknetBeacons[1]!.signature,
            randomness: undefined,
          }))(url, init)
        : v1Relay()(url, init),
    )
    const src = createHttpBeaconSource({
      relays: ['https://evil.test', 'https://good.test'],
      fetch: f.fetch,
      retries: 0,
    })
    const v = await src.beacon(R)
    expect(v.signature).toBe(byRound.get(R)!.signature)
    expect(f.calls.some((c) => c.startsWith('good.test'))).toBe(true)
  })

  test('every relay tampered: rejected with a typed error, nothing returned', async () => {
    const f = fakeFetch(
      v1Relay((b) => ({
        ...raw(b),
        signature: flipLastNibble(b.signature),
        randomness: undefined,
      })),
    )
    const src = createHttpBeaconSource({
      relays: ['https://a.test', 'https://b.test'],
      fetch: f.fetch,
      retries: 1,
      retryDelayMs: 0,
    })
    const e = await expectRejectCode(src.beacon(R), 'DRAND_UNAVAILABLE')
    expect(isReliquaryError(e.cause, 'DRAND_SIGNATURE_INVALID')).toBe(true)
    const failures = e.meta.failures as { relay: string; code: string }[]
    expect(failures).toHaveLength(4)
    expect(failures.every((x) => x.code === 'DRAND_SIGNATURE_INVALID')).toBe(true)
    // A relay answering with the wrong round is refused too.
    const wrongRound = fakeFetch(v1Relay(() => raw(quicknetBeacons[1]!)))
    const src2 = createHttpBeaconSource({
      relays: ['https://a.test'],
      fetch: wrongRound.fetch,
      retries: 0,
    })
    const e2 = await expectRejectCode(src2.beacon(R), 'DRAND_UNAVAILABLE')
    expect(isReliquaryError(e2.cause, 'DRAND_ROUND_MISMATCH')).toBe(true)
    expect(consoleError).not.toHaveBeenCalled()
  })

  test('timeouts, retries and abort', async () => {
    let failuresLeft = 2
    const hanging: Route = (_url, init) =>
      new Promise<Response>((_resolve, reject) =>
        init?.signal?.addEventListener('abort', () => reject(init.signal!.reason), { once: true }),
      )
    const flaky = fakeFetch((url, init) => {
      if (url.host === 'slow.test') return hanging(url, init)
      if (failuresLeft-- > 0) return new Response('busy', { status: 503 })
      return v1Relay()(url, init)
    })
    const src = createHttpBeaconSource({
      relays: ['https://slow.test', 'https://flaky.test'],
      fetch: flaky.fetch,
      timeoutMs: 50,
      retries: 2,
      retryDelayMs: 1,
    })
    expect((await src.beacon(R)).round).toBe(R)
    expect(flaky.calls.filter((c) => c.startsWith('slow.test')).length).toBeGreaterThanOrEqual(2)

    const ctrl = new AbortController()
    const never = fakeFetch(hanging)
    const src2 = createHttpBeaconSource({
      relays: ['https://slow.test'],
      fetch: never.fetch,
      timeoutMs: 10_000,
      signal: ctrl.signal,
    })
    setTimeout(() => ctrl.abort(), 20)
    const e = await expectRejectCode(src2.beacon(R), 'DRAND_UNAVAILABLE')
    expect(e.meta.aborted).toBe(true)
  })

  test('error details carry relay origins only, never credentials', async () => {
    const f = fakeFetch(() => new Response('no', { status: 500 }))
    const src = createHttpBeaconSource({
      relays: ['https://user:secret@relay.test/some/path'],
      fetch: f.fetch,
      retries: 0,
    })
    const e = await expectRejectCode(src.beacon(R), 'DRAND_UNAVAILABLE')
    expect(JSON.stringify(e.meta) + e.message).not.toContain('secret')
  })

  test('latest() follows the clock and falls back one round when relays lag', async () => {
    const b = quicknetBeacons.find((x) => !byRound.has(x.round + 1))!
    const nowAt = (round: number) =>
      (QUICKNET_CHAIN_INFO.genesis_time + (round - 1) * QUICKNET_CHAIN_INFO.period) * 1000 + 100
    const f = fakeFetch(v1Relay())
    const src = createHttpBeaconSource({
      relays: ['https://a.test'],
      fetch: f.fetch,
      retries: 0,
      now: () => nowAt(b.round),
    })
    expect((await src.latest()).round).toBe(b.round)
    const lagging = createHttpBeaconSource({
      relays: ['https://a.test'],
      fetch: f.fetch,
      retries: 0,
      now: () => nowAt(b.round + 1),
    })
    expect((await lagging.latest()).round).toBe(b.round)
  })

  test('a chain other than quicknet: /info is fetched and must hash to the pin', async () => {
    const local = createLocalBeaconChain({
      secretKey: SECRET,
      genesisTime: GENESIS,
      periodSeconds: 3,
    })
    const serve =
      (info: DrandChainInfo): Route =>
      (url) => {
        if (url.pathname === `/${local.info.hash}/info`) return json(info)
        const m = /^\/([0-9a-f]{64})\/public\/(\d+)$/.exec(url.pathname)
        return m ? json(local.rawBeacon(Number(m[2]))) : notFound()
      }
    const ok = createHttpBeaconSource({
      relays: ['https://a.test'],
      chainHash: local.info.hash,
      fetch: fakeFetch(serve(local.info)).fetch,
      retries: 0,
    })
    expect((await ok.beacon(3)).randomness).toBe(local.rawBeacon(3).randomness)

    // A relay that substitutes its own key (and signs with it) is refused at /info.
    const evil = createLocalBeaconChain({ genesisTime: GENESIS, periodSeconds: 3 })
    const lying = createHttpBeaconSource({
      relays: ['https://a.test'],
      chainHash: local.info.hash,
      retries: 0,
      fetch: fakeFetch((url, init) =>
        url.pathname.endsWith('/info')
          ? json({ ...local.info, public_key: evil.info.public_key })
          : serve(local.info)(url, init),
      ).fetch,
    })
    const e = await expectRejectCode(lying.beacon(3), 'DRAND_UNAVAILABLE')
    expect(isReliquaryError(e.cause, 'DRAND_CHAIN_INFO_INVALID')).toBe(true)
  })

  test('bad options throw INVALID_ARGUMENT', () => {
    expectCode(() => createHttpBeaconSource({ relays: [] }), 'INVALID_ARGUMENT')
    expectCode(() => createHttpBeaconSource({ relays: ['ftp://x'] }), 'INVALID_ARGUMENT')
    expectCode(() => createHttpBeaconSource({ chainHash: 'xyz' }), 'INVALID_ARGUMENT')
    expectCode(() => createHttpBeaconSource({ timeoutMs: 0 }), 'INVALID_ARGUMENT')
  })
})

// ---------------------------------------------------------------------------------------------

describe('windowRandomnessFromBeacon', () => {
  test('equals windowRandomnessE3 over the verified randomness and round', () => {
    for (const { b } of cases) {
      const v = verifyBeacon(raw(b), chainOf(b))
      expect(windowRandomnessFromBeacon(v)).toBe(windowRandomnessE3(b.randomness, b.round))
    }
  })

  test('refuses anything that did not come out of verification', () => {
    const b = quicknetBeacons[0]!
    const v = verifyBeacon(raw(b), QUICKNET_CHAIN_INFO)
    const lookalikes: unknown[] = [
      raw(b),
      { ...v },
      JSON.parse(JSON.stringify(v)),
      {
        round: b.round,
        signature: b.signature,
        randomness: b.randomness,
        verified: true,
        chainHash: QUICKNET_CHAIN_INFO.hash,
        schemeID: QUICKNET_CHAIN_INFO.schemeID,
      },
      null,
      'ab'.repeat(32),
    ]
    for (const x of lookalikes)
      expectCode(() => windowRandomnessFromBeacon(x as VerifiedBeacon), 'DRAND_BEACON_NOT_VERIFIED')
    expectCode(
      () => windowRandomnessFromBeacon(v, { chainHash: 'ab'.repeat(32) }),
      'DRAND_CHAIN_INFO_INVALID',
    )
    expect(windowRandomnessFromBeacon(v, { chainHash: QUICKNET_CHAIN_INFO.hash })).toMatch(
      /^[0-9a-f]{64}$/,
    )
  })
})

describe('no entry point hands out randomness before verifying', () => {
  const b = quicknetBeacons[0]!
  const forged = {
    ...raw(b),
    signature: quicknetBeacons[1]!.signature,
    randomness: quicknetBeacons[1]!.randomness,
  }

  test('verifyBeacon', () => {
    expectCode(() => verifyBeacon(forged, QUICKNET_CHAIN_INFO), 'DRAND_SIGNATURE_INVALID')
  })
  test('recorded source: beacon() and latest()', async () => {
    const src = createRecordedBeaconSource({ chainInfo: QUICKNET_CHAIN_INFO, beacons: [forged] })
    await expectRejectCode(src.beacon(b.round), 'DRAND_SIGNATURE_INVALID')
    await expectRejectCode(src.latest(), 'DRAND_SIGNATURE_INVALID')
  })
  test('HTTP source: beacon() and latest()', async () => {
    const f = fakeFetch(() => json(forged))
    const src = createHttpBeaconSource({
      relays: ['https://a.test'],
      fetch: f.fetch,
      retries: 0,
      now: () => (QUICKNET_CHAIN_INFO.genesis_time + (b.round - 1) * 3) * 1000,
    })
    await expectRejectCode(src.beacon(b.round), 'DRAND_UNAVAILABLE')
    await expectRejectCode(src.latest(), 'DRAND_UNAVAILABLE')
  })
  test('local chain: rawBeacon() is not verified; beacon() refuses rounds not yet produced', async () => {
    const chain = createLocalBeaconChain({
      secretKey: SECRET,
      genesisTime: GENESIS,
      periodSeconds: 3,
      now: () => (GENESIS + 30) * 1000,
    })
    expect(isVerifiedBeacon(chain.rawBeacon(1))).toBe(false)
    expectCode(
      () => windowRandomnessFromBeacon(chain.rawBeacon(1) as unknown as VerifiedBeacon),
      'DRAND_BEACON_NOT_VERIFIED',
    )
    await expectRejectCode(chain.beacon(100), 'DRAND_UNAVAILABLE')
    expect(isVerifiedBeacon(await chain.latest())).toBe(true)
  })
  test('windowRandomnessFromBeacon', () => {
    expectCode(
      () => windowRandomnessFromBeacon(forged as unknown as VerifiedBeacon),
      'DRAND_BEACON_NOT_VERIFIED',
    )
  })
})
