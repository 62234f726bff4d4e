// The local Hub (src/hub/localHubServer.ts) route by route, over plain HTTP: write
// authorization with a per-server random token, repo creation, the commit route, range reads,
// the tree and commit listings, and unknown routes. test/hub.test.ts drives the same server
// through `@huggingface/hub`.
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { startHubServer, type HubServer } from '../src/hub/localHubServer.js'

let hub: HubServer
beforeAll(async () => {
  hub = await startHubServer({ lfsThresholdBytes: 16 })
})
afterAll(() => hub.close())

const call = (path: string, init: RequestInit & { token?: string | null } = {}) => {
  const { token = hub.token, ...rest } = init
  return fetch(`${hub.url}${path}`, {
    ...rest,
    headers: { ...(token !== null ? { authorization: `Bearer ${token}` } : {}), ...rest.headers },
  })
}
const ndjson = (lines: unknown[]) => lines.map((l) => JSON.stringify(l)).join('\n')

describe('write token', () => {
  test('is random per server unless given, and never the old constant', async () => {
    const other = await startHubServer()
    try {
      expect(other.token).not.toBe(hub.token)
      expect(other.token).not.toBe('hf_test_token_reliquary')
      expect(other.token).toMatch(/^hf_local_[0-9a-f]{48}$/)
    } finally {
      await other.close()
    }
    const given = await startHubServer({ token: 'hf_given' })
    expect(given.token).toBe('hf_given')
    await given.close()
  })

  test('writes without the token, or with the old constant, are refused with 401', async () => {
    const body = JSON.stringify({ name: 'x', organization: 'o', type: 'model' })
    for (const token of [null, 'hf_test_token_reliquary']) {
      const res = await call('/api/repos/create', { method: 'POST', body, token })
      expect(res.status).toBe(401)
    }
    expect(hub.commits('o/x')).toEqual([])
  })
})

describe('routes', () => {
  const repo = 'org/model'
  beforeAll(async () => {
    const body = JSON.stringify({ name: 'model', organization: 'org', type: 'model' })
    expect((await call('/api/repos/create', { method: 'POST', body })).status).toBe(200)
  })

  test('a second create is 409; a new repo holds the initial commit with .gitattributes', async () => {
    const body = JSON.stringify({ name: 'model', organization: 'org' })
    expect((await call('/api/repos/create', { method: 'POST', body })).status).toBe(409)
    expect(hub.commits(repo)).toEqual([
      {
        oid: expect.stringMatching(/^[0-9a-f]{40}$/),
        title: 'initial commit',
        paths: ['.gitattributes'],
      },
    ])
  })

  test('commit, then read back with ranges, tree and commit list', async () => {
    const content = Buffer.from('hello hub')
    const res = await call(`/api/models/${repo}/commit/main`, {
      method: 'POST',
      body: ndjson([
        { key: 'header', value: { summary: 'checkpoint 1', description: '' } },
        { key: 'file', value: { path: 'dir/a.txt', content: content.toString('base64') } },
      ]),
    })
    expect(res.status).toBe(200)
    const { commitOid } = (await res.json()) as { commitOid: string }
    const whole = await call(`/${repo}/resolve/${commitOid}/dir/a.txt`)
    expect(Buffer.from(await whole.arrayBuffer()).toString()).toBe('hello hub')
    const part = await call(`/${repo}/resolve/main/dir/a.txt`, { headers: { range: 'bytes=6-' } })
    expect(part.status).toBe(206)
    expect(part.headers.get('content-range')).toBe('bytes 6-8/9')
    expect(await part.text()).toBe('hub')
    const tree = (await (await call(`/api/models/${repo}/tree/main`)).json()) as { path: string }[]
    expect(tree.map((e) => e.path)).toEqual(['dir', '.gitattributes'])
    const commits = (await (await call(`/api/models/${repo}/commits/main`)).json()) as {
      title: string
    }[]
    expect(commits.map((c) => c.title)).toEqual(['checkpoint 1', 'initial commit'])
    hub.disableCommitsApi(true)
    expect((await call(`/api/models/${repo}/commits/main`)).status).toBe(404)
    hub.disableCommitsApi(false)
  })

  test('a stale parent commit is 412; an LFS file never uploaded is 422', async () => {
    const stale = await call(`/api/models/${repo}/commit/main`, {
      method: 'POST',
      body: ndjson([{ key: 'header', value: { summary: 's', parentCommit: '0'.repeat(40) } }]),
    })
    expect(stale.status).toBe(412)
    const oid = createHash('sha256').update('never sent').digest('hex')
    const lfs = await call(`/api/models/${repo}/commit/main`, {
      method: 'POST',
      body: ndjson([
        { key: 'header', value: { summary: 's' } },
        { key: 'lfsFile', value: { path: 'w.bin', oid, size: 10 } },
      ]),
    })
    expect(lfs.status).toBe(422)
  })

  test('unknown repos, revisions, files and routes are 404', async () => {
    expect((await call('/api/models/no/such')).status).toBe(404)
    expect((await call(`/${repo}/resolve/${'f'.repeat(40)}/x`)).headers.get('x-error-code')).toBe(
      'RevisionNotFound',
    )
    expect((await call(`/${repo}/resolve/main/missing`)).headers.get('x-error-code')).toBe(
      'EntryNotFound',
    )
    expect((await call('/nowhere')).status).toBe(404)
  })
})
