import type { IncomingMessage } from 'node:http'
import type { PendingSubmissions } from './_pendingSubmissions.js'

/**
 * Reads a request body of at most `maxBodyBytes`, counting the bytes held in `pending` as they
 * arrive. A larger body stops the read at once (its bytes are released) and gives `null`.
 *
 * @param req - The request.
 * @param maxBodyBytes - The bound.
 * @param pending - Where the held bytes are counted; the caller releases them after use.
 * @returns The body, or `null` when it is larger than the bound.
 * @throws the request's stream error (its bytes are released).
 */
export function readBoundedBody(
  req: IncomingMessage,
  maxBodyBytes: number,
  pending: PendingSubmissions,
): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    const finish = (v: Buffer | null): void => {
      if (done) return
      done = true
      req.off('data', onData)
      resolve(v)
    }
    const onData = (c: Buffer): void => {
      if (done) return
      size += c.length
      if (size > maxBodyBytes) {
        pending.buffered -= size - c.length
        chunks.length = 0
        finish(null)
        return
      }
      pending.hold(c.length)
      chunks.push(c)
    }
    req.on('data', onData)
    req.once('end', () => finish(Buffer.concat(chunks, size)))
    req.once('error', (e) => {
      if (!done) {
        done = true
        pending.buffered -= size
        reject(e)
      }
    })
  })
}
