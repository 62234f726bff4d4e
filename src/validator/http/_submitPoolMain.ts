// Entry of a `/submit` parsing thread (started by SubmitPool): decodes, schema-checks and
// envelope-verifies bodies posted by the HTTP event loop, and answers each with its PreparedSubmit.
import { parentPort, workerData } from 'node:worker_threads'
import { ensureCryptoReady } from '../../crypto/sr25519.js'
import type { ProtocolProfile } from '../../protocol/profiles.js'
import { prepareSubmit, requestHead } from './_prepareSubmit.js'
import type { SubmitPoolRequest, SubmitPoolResponse } from './_submitPoolMessages.js'

const port = parentPort
if (port) {
  const profile = (workerData as { profile: ProtocolProfile }).profile
  const post = (m: SubmitPoolResponse): void => port.postMessage(m)
  port.on('message', (r: SubmitPoolRequest) => {
    for (const m of r.jobs)
      prepareSubmit(m.bytes, { profile, randomness: m.randomness }).then(
        (p) => {
          if (p.kind !== 'parsed') return post({ id: m.id, ok: true, value: p })
          // The head and the bytes go back instead of the parsed request (see PreparedRemote).
          const value = {
            kind: 'parsed_bytes' as const,
            head: requestHead(p.request),
            bytes: m.bytes,
            envelope: p.envelope,
          }
          port.postMessage({ id: m.id, ok: true, value }, [m.bytes.buffer as ArrayBuffer])
        },
        (e: unknown) => post({ id: m.id, ok: false, message: String((e as Error)?.message ?? e) }),
      )
  })
  ensureCryptoReady().then(
    () => post({ id: 0, ok: true, value: null }),
    (e: unknown) => post({ id: 0, ok: false, message: String((e as Error)?.message ?? e) }),
  )
}
