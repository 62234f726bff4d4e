import { createHash } from 'node:crypto'
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { Keyring } from '@polkadot/keyring'
import { u8aWrapBytes } from '@polkadot/util'
import { cryptoWaitReady, sr25519Verify } from '@polkadot/util-crypto'
import { createHotkey, type Hotkey } from '../src/crypto/sr25519.js'
import { hashTokens } from '../src/grail/challenge.js'
import {
  batchDigest,
  custodyManifestSigningBytes,
  hashSnapshotFiles,
  isVerifiedCheckpointManifest,
  isVerifiedCustodyManifest,
  manifestDigest,
  manifestMessage,
  parseCheckpointManifest,
  parseCustodyManifest,
  signCustodyManifest,
  signManifest,
  verifyChain,
  verifyCustodyManifest,
  verifyManifest,
  verifySnapshotFiles,
  type CustodyFileEntry,
  type CustodyManifest,
  type SignCustodyManifestParameters,
  type VerifyChainOptions,
} from '../src/manifest/index.js'
import { expectCode, expectRejectCode } from './_errors.js'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const sha256hex = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex')
const REV = '0123456789abcdef0123456789abcdef01234567'
const REPO = 'aivolutionedge/reliquary-sn'

let alice: Hotkey
let bob: Hotkey
let charlie: Hotkey
let alicePair: ReturnType<Keyring['addFromUri']>
beforeAll(async () => {
  await cryptoWaitReady()
  alice = await createHotkey('//Alice')
  bob = await createHotkey('//Bob')
  charlie = await createHotkey('//Charlie')
  alicePair = new Keyring({ type: 'sr25519', ss58Format: 42 }).addFromUri('//Alice')
})

// ---------------------------------------------------------------------------------------------

describe('reference checkpoint manifest (docs/protocol.md §3.5, §9)', () => {
  test('signManifest signs the ASCII bytes of "{n}|{revision}" with sr25519, wire form "ed25519:"+hex', async () => {
    const m = signManifest(alice, { checkpointN: 7, repoId: REPO, revision: REV })
    expect(Object.keys(m).sort()).toEqual(['checkpoint_n', 'repo_id', 'revision', 'signature'])
    expect(m).toMatchObject({ checkpoint_n: 7, repo_id: REPO, revision: REV })
    expect(m.signature).toMatch(/^ed25519:[0-9a-f]{128}$/)
    // The message, built here independently of the SDK: the bytes of the ASCII string "7|<rev>".
    const expected = Uint8Array.from([...`7|${REV}`].map((c) => c.charCodeAt(0)))
    expect(hex(manifestMessage(7, REV))).toBe(hex(expected))
    const sig = Buffer.from(m.signature.slice('ed25519:'.length), 'hex')
    expect(sr25519Verify(expected, sig, alicePair.publicKey)).toBe(true)
    // …and not over anything else (repo_id is not signed; the number is decimal, not binary).
    expect(
      sr25519Verify(Uint8Array.from(Buffer.from(`7|${REV}|${REPO}`)), sig, alicePair.publicKey),
    ).toBe(false)
    expect(sr25519Verify(Uint8Array.from(Buffer.from(`07|${REV}`)), sig, alicePair.publicKey)).toBe(
      false,
    )

    const v = await verifyManifest(m, alice.address)
    expect(v.valid).toBe(true)
    if (v.valid) {
      expect(v.manifest).toEqual(m)
      expect(Object.isFrozen(v.manifest)).toBe(true)
      expect(isVerifiedCheckpointManifest(v.manifest)).toBe(true)
    }
  })

  test('verifies a manifest signed outside the SDK (polkadot-js keyring), as JSON text', async () => {
    const sig = alicePair.sign(Buffer.from(`12|${REV}`, 'ascii'))
    const doc = JSON.stringify({
      checkpoint_n: 12,
      repo_id: REPO,
      revision: REV,
      signature: `ed25519:${hex(sig)}`,
    })
    expect((await verifyManifest(doc, alice.address)).valid).toBe(true)
    expect((await verifyManifest(doc, alicePair.publicKey)).valid).toBe(true)
    // Upper-case hex, as Python's bytes.fromhex would accept.
    const upper = JSON.stringify({
      checkpoint_n: 12,
      repo_id: REPO,
      revision: REV,
      signature: `ed25519:${hex(sig).toUpperCase()}`,
    })
    expect((await verifyManifest(upper, alice.address)).valid).toBe(true)
  })

  test('a <Bytes>-wrapped signature (polkadot-js signRaw) verifies', async () => {
    const msg = Buffer.from(`3|${REV}`, 'ascii')
    const wrapped = alicePair.sign(u8aWrapBytes(msg))
    expect(sr25519Verify(msg, wrapped, alicePair.publicKey)).toBe(false) // really wrapped
    const v = await verifyManifest(
      { checkpoint_n: 3, repo_id: REPO, revision: REV, signature: `ed25519:${hex(wrapped)}` },
      alice.address,
    )
    expect(v.valid).toBe(true)
  })

  test('bad signatures give a verdict, never an exception, and no manifest', async () => {
    const m = signManifest(alice, { checkpointN: 7, repoId: REPO, revision: REV })
    const sig = m.signature.slice(8)
    const verdicts = await Promise.all([
      verifyManifest({ ...m, checkpoint_n: 8 }, alice.address),
      verifyManifest({ ...m, revision: REV.replace('0', '1') }, alice.address),
      verifyManifest(m, bob.address),
      verifyManifest(
        { ...m, signature: `ed25519:${sig.slice(0, -2)}${sig.endsWith('00') ? '01' : '00'}` },
        alice.address,
      ),
    ])
    for (const v of verdicts) {
      expect(v).toMatchObject({ valid: false, reason: 'signature_mismatch' })
      expect('manifest' in v).toBe(false)
    }
    for (const signature of [
      sig,
      `sr25519:${sig}`,
      `ed25519:${sig.slice(2)}`,
      `ed25519:${'zz'.repeat(64)}`,
      '',
    ]) {
      expect(await verifyManifest({ ...m, signature }, alice.address)).toMatchObject({
        valid: false,
        reason: 'signature_malformed',
      })
    }
    expect(await verifyManifest(m, alice.address, { expectedRepoId: 'other/repo' })).toMatchObject({
      valid: false,
      reason: 'repo_mismatch',
    })
    expect(await verifyManifest(m, alice.address, { minCheckpointN: 8 })).toMatchObject({
      valid: false,
      reason: 'checkpoint_regressed',
    })
    expect(
      (await verifyManifest(m, alice.address, { expectedRepoId: REPO, minCheckpointN: 7 })).valid,
    ).toBe(true)
  })

  test('malformed documents and hotkeys throw typed errors', async () => {
    const m = signManifest(alice, { checkpointN: 7, repoId: REPO, revision: REV })
    await expectRejectCode(
      verifyManifest({ ...m, checkpoint_n: '7' }, alice.address),
      'SCHEMA_INVALID',
    )
    await expectRejectCode(verifyManifest({ ...m, extra: 1 }, alice.address), 'SCHEMA_INVALID')
    await expectRejectCode(verifyManifest('{not json', alice.address), 'JSON_INVALID')
    await expectRejectCode(verifyManifest(m, 'not-an-address'), 'SIGNATURE_INVALID_KEY')
    expectCode(
      () => signManifest(alice, { checkpointN: -1, repoId: REPO, revision: REV }),
      'INVALID_ARGUMENT',
    )
    expectCode(
      () => signManifest(alice, { checkpointN: 1, repoId: REPO, revision: '' }),
      'INVALID_ARGUMENT',
    )
    expectCode(() => parseCheckpointManifest({ ...m, signature: 'ed25519:00' }), 'SCHEMA_INVALID')
  })
})

// ---------------------------------------------------------------------------------------------
// Chain of custody.

/** Independent canonical JSON for the test: recursively sorted keys, then JSON.stringify. */
function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep)
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortDeep((v as Record<string, unknown>)[k])]),
    )
  return v
}
const canonical = (v: unknown) => JSON.stringify(sortDeep(v))

let dir: string
let snapshot: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'reliquary-manifest-'))
  snapshot = join(dir, 'ckpt')
  mkdirSync(join(snapshot, 'sub'), { recursive: true })
  mkdirSync(join(snapshot, '.cache/huggingface'), { recursive: true })
  writeFileSync(join(snapshot, 'config.json'), '{"hidden_size":64}')
  writeFileSync(join(snapshot, 'model-00001-of-00002.safetensors'), Buffer.alloc(3000, 7))
  writeFileSync(join(snapshot, 'model-00002-of-00002.safetensors'), Buffer.alloc(1234, 9))
  writeFileSync(join(snapshot, 'sub', 'tokenizer.json'), '{"model":{}}')
  writeFileSync(join(snapshot, '.cache/huggingface', 'download.lock'), 'x')
  writeFileSync(join(dir, 'blob'), 'linked bytes')
  symlinkSync(join(dir, 'blob'), join(snapshot, 'generation_config.json'))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const BASE = { id: 'Qwen/Qwen3-0.6B', revision: 'c1899de289a04d12100db370d81485cdf75e47ca' }
const rolloutHashes = (w: number) => [1, 2, 3].map((i) => hex(hashTokens([w, i, 42])))

/** Builds head → … → first: [m3, m2, m1] plus a resolver over JSON text (untrusted storage). */
async function buildChain(
  files: CustodyFileEntry[],
  tweak: (
    n: number,
    p: SignCustodyManifestParameters,
  ) => { p: SignCustodyManifestParameters; key?: Hotkey } = (_n, p) => ({ p }),
) {
  const docs: CustodyManifest[] = []
  let parent: CustodyManifest | null = null
  for (const n of [1, 2, 3]) {
    const base: SignCustodyManifestParameters = {
      baseModel: BASE,
      profileId: 'e3',
      parent,
      checkpointN: n,
      windows: [
        { windowN: n * 10, batchDigest: batchDigest(rolloutHashes(n * 10)) },
        { windowN: n * 10 + 1, batchDigest: batchDigest(rolloutHashes(n * 10 + 1)) },
      ],
      files: n === 3 ? files : files.map((f) => ({ ...f, sha256: sha256hex(`${f.path}@${n}`) })),
    }
    const { p, key } = tweak(n, base)
    const m = signCustodyManifest(key ?? (n === 2 ? bob : alice), p)
    docs.unshift(m)
    parent = m
  }
  return docs // [head(3), 2, 1]
}
function storeOf(docs: CustodyManifest[]): Map<string, string> {
  return new Map(docs.map((d) => [manifestDigest(d), JSON.stringify(d)]))
}
const optionsFor = (
  store: Map<string, string>,
  extra: Partial<VerifyChainOptions> = {},
): VerifyChainOptions => ({
  resolveParent: async (digest) => store.get(digest),
  expectedBase: BASE,
  trustedSigners: [alice.address, bob.address],
  ...extra,
})

describe('hashSnapshotFiles / verifySnapshotFiles', () => {
  test('hashes every file (following symlinks), sorted, skipping .cache/huggingface/', async () => {
    const files = await hashSnapshotFiles(snapshot)
    expect(files.map((f) => f.path)).toEqual([
      'config.json',
      'generation_config.json',
      'model-00001-of-00002.safetensors',
      'model-00002-of-00002.safetensors',
      'sub/tokenizer.json',
    ])
    expect(files[0]).toEqual({
      path: 'config.json',
      size: 18,
      sha256: sha256hex('{"hidden_size":64}'),
    })
    expect(files[1]!.sha256).toBe(sha256hex('linked bytes'))
    expect(files[2]!.sha256).toBe(sha256hex(Buffer.alloc(3000, 7)))
  })

  test('refuses on a changed, missing or extra file', async () => {
    const scratch = join(dir, 'scratch')
    mkdirSync(scratch)
    writeFileSync(join(scratch, 'a.bin'), 'aaaa')
    writeFileSync(join(scratch, 'b.bin'), 'bbbb')
    const manifest = signCustodyManifest(alice, {
      baseModel: BASE,
      profileId: 'e3',
      parent: null,
      checkpointN: 1,
      windows: [],
      files: await hashSnapshotFiles(scratch),
    })
    expect(await verifySnapshotFiles(manifest, scratch)).toEqual({ files: 2, bytes: 8 })

    writeFileSync(join(scratch, 'a.bin'), 'aaab') // same size, other bytes
    let e = await expectRejectCode(
      verifySnapshotFiles(manifest, scratch),
      'MANIFEST_FILES_MISMATCH',
    )
    expect(e.meta.mismatched).toEqual(['a.bin'])
    writeFileSync(join(scratch, 'a.bin'), 'aaaa')
    writeFileSync(join(scratch, 'c.bin'), 'c')
    e = await expectRejectCode(verifySnapshotFiles(manifest, scratch), 'MANIFEST_FILES_MISMATCH')
    expect(e.meta.extra).toEqual(['c.bin'])
    expect(await verifySnapshotFiles(manifest, scratch, { ignore: ['c.bin'] })).toEqual({
      files: 2,
      bytes: 8,
    })
    unlinkSync(join(scratch, 'c.bin'))
    unlinkSync(join(scratch, 'b.bin'))
    e = await expectRejectCode(verifySnapshotFiles(manifest, scratch), 'MANIFEST_FILES_MISMATCH')
    expect(e.meta.missing).toEqual(['b.bin'])
  })
})

describe('custody manifest: schema, canonical bytes, digest', () => {
  test('signing bytes are canonical JSON (sorted keys, no whitespace) and the signature covers them', async () => {
    const files = await hashSnapshotFiles(snapshot)
    const m = signCustodyManifest(alice, {
      baseModel: BASE,
      profileId: 'e3',
      parent: null,
      checkpointN: 1,
      windows: [{ windowN: 5, batchDigest: batchDigest(rolloutHashes(5)) }],
      files,
    })
    const { signature, ...body } = m
    const expected = canonical(body)
    expect(expected).not.toMatch(/\s/)
    expect(Buffer.from(custodyManifestSigningBytes(m)).toString('utf8')).toBe(expected)
    expect(expected.startsWith('{"base_model":{"id":')).toBe(true)
    expect(
      sr25519Verify(
        Buffer.from(expected, 'utf8'),
        Buffer.from(signature, 'hex'),
        alicePair.publicKey,
      ),
    ).toBe(true)
    expect(manifestDigest(m)).toBe(sha256hex(canonical(m)))
    expect(manifestDigest(JSON.parse(JSON.stringify(m)))).toBe(manifestDigest(m))
  })

  test('batchDigest is SHA-256 over the concatenated 32-byte rollout hashes', () => {
    const hs = rolloutHashes(9)
    expect(batchDigest(hs)).toBe(sha256hex(Buffer.concat(hs.map((h) => Buffer.from(h, 'hex')))))
    expect(batchDigest(hs.map((h) => Buffer.from(h, 'hex')))).toBe(batchDigest(hs))
    expect(batchDigest(hs)).not.toBe(batchDigest([...hs].reverse()))
    expectCode(() => batchDigest([]), 'INVALID_ARGUMENT')
    expectCode(() => batchDigest(['abcd']), 'INVALID_ARGUMENT')
  })

  test('the schema is strict and versioned', async () => {
    const files = await hashSnapshotFiles(snapshot)
    const m = signCustodyManifest(alice, {
      baseModel: BASE,
      profileId: 'e3',
      parent: null,
      checkpointN: 1,
      windows: [],
      files,
    })
    expect(parseCustodyManifest(JSON.stringify(m))).toEqual(m)
    const bad: unknown[] = [
      { ...m, version: 2 },
      { ...m, format: 'other' },
      { ...m, extra: true },
      { ...m, files: [...m.files].reverse() },
      { ...m, files: [...m.files, m.files[0]] },
      { ...m, files: [{ ...m.files[0]!, path: '../etc/passwd' }] },
      { ...m, files: [{ ...m.files[0]!, path: '/abs' }] },
      { ...m, files: [] },
      { ...m, parent: 'AB'.repeat(32) },
      { ...m, signature: m.signature.toUpperCase() },
      { ...m, signer: 'nope' },
      {
        ...m,
        windows: [
          { window_n: 2, batch_digest: 'ab'.repeat(32) },
          { window_n: 2, batch_digest: 'ab'.repeat(32) },
        ],
      },
      { ...m, checkpoint_n: 1.5 },
    ]
    for (const b of bad) expectCode(() => parseCustodyManifest(b), 'SCHEMA_INVALID')
    expectCode(
      () =>
        signCustodyManifest(alice, {
          baseModel: BASE,
          profileId: 'e3',
          parent: 'xyz',
          checkpointN: 1,
          windows: [],
          files,
        }),
      'SCHEMA_INVALID',
    )
  })
})

describe('verifyCustodyManifest', () => {
  test('verifies signature and signer; <Bytes>-wrapped signatures verify', async () => {
    const files = await hashSnapshotFiles(snapshot)
    const m = signCustodyManifest(alice, {
      baseModel: BASE,
      profileId: 'e3',
      parent: null,
      checkpointN: 1,
      windows: [],
      files,
    })
    const v = await verifyCustodyManifest(JSON.stringify(m), { trustedSigners: [alice.address] })
    expect(v.valid).toBe(true)
    if (v.valid) {
      expect(v.digest).toBe(manifestDigest(m))
      expect(isVerifiedCustodyManifest(v.manifest)).toBe(true)
      expect(Object.isFrozen(v.manifest) && Object.isFrozen(v.manifest.files[0])).toBe(true)
    }
    const wrapped = {
      ...m,
      signature: hex(alicePair.sign(u8aWrapBytes(custodyManifestSigningBytes(m)))),
    }
    expect(
      (await verifyCustodyManifest(wrapped, { trustedSigners: [alice.publicKey] })).valid,
    ).toBe(true)

    expect(
      await verifyCustodyManifest({ ...m, checkpoint_n: 2 }, { trustedSigners: [alice.address] }),
    ).toMatchObject({ valid: false, field: 'signature' })
    expect(await verifyCustodyManifest(m, { trustedSigners: [bob.address] })).toMatchObject({
      valid: false,
      field: 'signer',
    })
    await expectRejectCode(verifyCustodyManifest(m, { trustedSigners: [] }), 'INVALID_ARGUMENT')
  })
})

describe('verifyChain', () => {
  let files: CustodyFileEntry[]
  let chain: CustodyManifest[]
  beforeAll(async () => {
    files = await hashSnapshotFiles(snapshot)
    chain = await buildChain(files)
  })

  test('a chain of 3 manifests verifies back to the base model', async () => {
    expect(chain[0]!.parent).toBe(manifestDigest(chain[1]!))
    expect(chain[1]!.parent).toBe(manifestDigest(chain[2]!))
    expect(chain[2]!.parent).toBeNull()
    const v = await verifyChain(
      JSON.stringify(chain[0]),
      optionsFor(storeOf(chain), { files, expectedProfileId: 'e3' }),
    )
    expect(v.valid).toBe(true)
    if (v.valid) {
      expect(v.links.map((l) => l.checkpoint_n)).toEqual([3, 2, 1])
      expect(v.digests).toEqual(chain.map((c) => manifestDigest(c)))
      expect(v.links.every(isVerifiedCustodyManifest)).toBe(true)
    }
  })

  // Altering a field of link k without re-signing breaks exactly link k's signature.
  const FIELDS: [string, (m: CustodyManifest) => CustodyManifest][] = [
    ['base_model.id', (m) => ({ ...m, base_model: { ...m.base_model, id: 'Qwen/Other' } })],
    [
      'base_model.revision',
      (m) => ({ ...m, base_model: { ...m.base_model, revision: 'f'.repeat(40) } }),
    ],
    ['profile_id', (m) => ({ ...m, profile_id: 'e1' })],
    ['checkpoint_n', (m) => ({ ...m, checkpoint_n: m.checkpoint_n + 100 })],
    [
      'windows[0].batch_digest',
      (m) => ({
        ...m,
        windows: [{ ...m.windows[0]!, batch_digest: 'ab'.repeat(32) }, ...m.windows.slice(1)],
      }),
    ],
    ['windows dropped', (m) => ({ ...m, windows: m.windows.slice(1) })],
    [
      'files[1].sha256',
      (m) => ({
        ...m,
        files: m.files.map((f, i) => (i === 1 ? { ...f, sha256: 'cd'.repeat(32) } : f)),
      }),
    ],
    [
      'files[0].size',
      (m) => ({ ...m, files: m.files.map((f, i) => (i === 0 ? { ...f, size: f.size + 1 } : f)) }),
    ],
    ['parent', (m) => ({ ...m, parent: m.parent === null ? 'ef'.repeat(32) : null })],
    ['signer', (m) => ({ ...m, signer: m.signer === alice.address ? bob.address : alice.address })],
  ]
  for (const k of [0, 1, 2]) {
    test.each(FIELDS)(
      `altering %s of link ${k} breaks link ${k} (signature)`,
      async (_name, alter) => {
        const docs = chain.map((d, i) => (i === k ? alter(d) : d))
        // Storage keeps the tampered document under the original digest, as a compromised store would.
        const store = new Map(chain.map((d, i) => [manifestDigest(d), JSON.stringify(docs[i])]))
        const v = await verifyChain(docs[0], optionsFor(store))
        expect(v).toMatchObject({ valid: false, index: k, field: 'signature' })
      },
    )
  }

  test('re-signing a link with an untrusted key breaks that link (signer)', async () => {
    for (const k of [0, 1, 2]) {
      const docs = await buildChain(files, (n, p) => ({
        p,
        ...(n === 3 - k ? { key: charlie } : {}),
      }))
      expect(await verifyChain(docs[0], optionsFor(storeOf(docs)))).toMatchObject({
        valid: false,
        index: k,
        field: 'signer',
      })
    }
  })

  test('a trusted re-signature of altered content breaks the child link (parent digest)', async () => {
    for (const k of [1, 2]) {
      const forged = signCustodyManifest(alice, {
        baseModel: chain[k]!.base_model,
        profileId: chain[k]!.profile_id,
        parent: chain[k]!.parent,
        checkpointN: chain[k]!.checkpoint_n,
        windows: chain[k]!.windows.map((w) => ({
          windowN: w.window_n,
          batchDigest: 'ab'.repeat(32),
        })),
        files: chain[k]!.files,
      })
      const store = new Map(
        chain.map((d, i) => [manifestDigest(d), JSON.stringify(i === k ? forged : d)]),
      )
      expect(await verifyChain(chain[0], optionsFor(store))).toMatchObject({
        valid: false,
        index: k - 1,
        field: 'parent',
      })
    }
  })

  test('a parent link re-pointed or unresolvable breaks at that link (parent)', async () => {
    const store = storeOf(chain)
    const repointed = signCustodyManifest(alice, {
      baseModel: BASE,
      profileId: 'e3',
      parent: 'ef'.repeat(32),
      checkpointN: 3,
      windows: chain[0]!.windows.map((w) => ({ windowN: w.window_n, batchDigest: w.batch_digest })),
      files,
    })
    expect(await verifyChain(repointed, optionsFor(store))).toMatchObject({
      valid: false,
      index: 0,
      field: 'parent',
    })
    const missingFirst = new Map(store)
    missingFirst.delete(manifestDigest(chain[2]!))
    expect(await verifyChain(chain[0], optionsFor(missingFirst))).toMatchObject({
      valid: false,
      index: 1,
      field: 'parent',
    })
    // A resolver returning garbage: the parent document fails its schema.
    expect(
      await verifyChain(chain[0], optionsFor(store, { resolveParent: () => ({ hello: 'world' }) })),
    ).toMatchObject({ valid: false, index: 1, field: 'schema' })
  })

  test('base model, profile, checkpoint order and window order are enforced per link', async () => {
    const store = storeOf(chain)
    expect(
      await verifyChain(
        chain[0],
        optionsFor(store, { expectedBase: { ...BASE, revision: 'f'.repeat(40) } }),
      ),
    ).toMatchObject({ valid: false, index: 0, field: 'base_model' })
    expect(
      await verifyChain(chain[0], optionsFor(store, { expectedProfileId: 'e1' })),
    ).toMatchObject({ valid: false, index: 0, field: 'profile_id' })

    const otherBase = await buildChain(files, (n, p) => ({
      p: n === 1 ? { ...p, baseModel: { id: 'Other/base', revision: BASE.revision } } : p,
    }))
    expect(await verifyChain(otherBase[0], optionsFor(storeOf(otherBase)))).toMatchObject({
      valid: false,
      index: 2,
      field: 'base_model',
    })

    const sameN = await buildChain(files, (n, p) => ({ p: n === 2 ? { ...p, checkpointN: 1 } : p }))
    expect(await verifyChain(sameN[0], optionsFor(storeOf(sameN)))).toMatchObject({
      valid: false,
      index: 1,
      field: 'checkpoint_n',
    })

    const overlap = await buildChain(files, (n, p) => ({
      p: n === 2 ? { ...p, windows: [{ windowN: 11, batchDigest: 'ab'.repeat(32) }] } : p,
    }))
    expect(await verifyChain(overlap[0], optionsFor(storeOf(overlap)))).toMatchObject({
      valid: false,
      index: 1,
      field: 'windows',
    })
  })

  test('the head must list the snapshot files given; a changed file on disk is caught', async () => {
    const store = storeOf(chain)
    expect((await verifyChain(chain[0], optionsFor(store, { files }))).valid).toBe(true)
    const changed = files.map((f, i) => (i === 2 ? { ...f, sha256: 'aa'.repeat(32) } : f))
    expect(await verifyChain(chain[0], optionsFor(store, { files: changed }))).toMatchObject({
      valid: false,
      index: 0,
      field: 'files',
    })
    expect(await verifyChain(chain[0], optionsFor(store, { files: files.slice(1) }))).toMatchObject(
      { valid: false, index: 0, field: 'files' },
    )
    await expect(verifySnapshotFiles(chain[0], snapshot)).resolves.toMatchObject({
      files: files.length,
    })
    writeFileSync(join(snapshot, 'config.json'), '{"hidden_size":65}')
    try {
      const onDisk = await hashSnapshotFiles(snapshot)
      expect(await verifyChain(chain[0], optionsFor(store, { files: onDisk }))).toMatchObject({
        valid: false,
        index: 0,
        field: 'files',
      })
      await expectRejectCode(verifySnapshotFiles(chain[0], snapshot), 'MANIFEST_FILES_MISMATCH')
    } finally {
      writeFileSync(join(snapshot, 'config.json'), '{"hidden_size":64}')
    }
  })

  test('garbage heads are a verdict; bad options throw', async () => {
    const store = storeOf(chain)
    expect(await verifyChain('{"not":"a manifest"}', optionsFor(store))).toMatchObject({
      valid: false,
      index: 0,
      field: 'schema',
    })
    expect(await verifyChain(null, optionsFor(store))).toMatchObject({
      valid: false,
      index: 0,
      field: 'schema',
    })
    await expectRejectCode(
      verifyChain(chain[0], optionsFor(store, { trustedSigners: [] })),
      'INVALID_ARGUMENT',
    )
    await expectRejectCode(
      verifyChain(chain[0], optionsFor(store, { trustedSigners: ['garbage'] })),
      'SIGNATURE_INVALID_KEY',
    )
    await expectRejectCode(
      verifyChain(chain[0], { ...optionsFor(store), resolveParent: 'x' as never }),
      'INVALID_ARGUMENT',
    )
    expect(await verifyChain(chain[0], optionsFor(store, { maxLength: 2 }))).toMatchObject({
      valid: false,
      index: 1,
      field: 'parent',
    })
  })
})

describe('no entry point returns a manifest as trusted before verifying', () => {
  test('parse and sign outputs are never marked verified', async () => {
    const m = signManifest(alice, { checkpointN: 1, repoId: REPO, revision: REV })
    expect(isVerifiedCheckpointManifest(m)).toBe(false)
    expect(isVerifiedCheckpointManifest(parseCheckpointManifest(m))).toBe(false)
    const files = await hashSnapshotFiles(snapshot)
    const c = signCustodyManifest(alice, {
      baseModel: BASE,
      profileId: 'e3',
      parent: null,
      checkpointN: 1,
      windows: [],
      files,
    })
    expect(isVerifiedCustodyManifest(c)).toBe(false)
    expect(isVerifiedCustodyManifest(parseCustodyManifest(c))).toBe(false)
  })
  test('verifyManifest returns no manifest on failure; a verified copy is not transferable', async () => {
    const m = signManifest(alice, { checkpointN: 1, repoId: REPO, revision: REV })
    const bad = await verifyManifest(m, bob.address)
    expect(bad.valid).toBe(false)
    expect(Object.keys(bad)).not.toContain('manifest')
    const good = await verifyManifest(m, alice.address)
    if (!good.valid) throw new Error('expected valid')
    expect(isVerifiedCheckpointManifest({ ...good.manifest })).toBe(false)
  })
  test('verifyCustodyManifest and verifyChain return nothing trusted on failure', async () => {
    const files = await hashSnapshotFiles(snapshot)
    const chain = await buildChain(files)
    const v = await verifyCustodyManifest(chain[0], { trustedSigners: [charlie.address] })
    expect(Object.keys(v)).not.toContain('manifest')
    const c = await verifyChain(
      chain[0],
      optionsFor(storeOf(chain), { trustedSigners: [alice.address] }),
    ) // Bob signed link 1
    expect(c).toMatchObject({ valid: false, index: 1, field: 'signer' })
    expect(Object.keys(c)).not.toContain('links')
  })
  test('verifySnapshotFiles refuses instead of returning on mismatch', async () => {
    const files = await hashSnapshotFiles(snapshot)
    const c = signCustodyManifest(alice, {
      baseModel: BASE,
      profileId: 'e3',
      parent: null,
      checkpointN: 1,
      windows: [],
      files: files.slice(1),
    })
    await expectRejectCode(verifySnapshotFiles(c, snapshot), 'MANIFEST_FILES_MISMATCH')
  })
})
