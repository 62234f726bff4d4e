import type { IncomingMessage } from 'node:http'
import type { PendingSubmissions } from './_pendingSubmissions.js'

/** Bounds of {@link readBoundedBody}. */
export type BodyBounds = {
  /** Largest body of one request (and so of one connection at a time), in bytes. */
  readonly maxBodyBytes: number
  /** Largest total of body bytes held by every request being read or handled. */
  readonly maxBufferedBytes: number
  /** The whole body must arrive within this many milliseconds of the start of the read. */
  readonly deadlineMs: number
}

/** Why a body was not read: over its own bound, over the global budget, or too slow. */
export type BodyRefusal = 'too_large' | 'budget' | 'timeout'

/**
 * Reads a request body within its bounds, counting the bytes held in `pending` as they arrive.
 * A body over `maxBodyBytes`, a chunk that would take the held total over `maxBufferedBytes`, or
 * a body still incomplete at the deadline stops the read at once: its bytes are released and the
 * refusal is returned, so a slow or oversized upload never holds memory or time beyond its bounds.
 *
 * @param req - The request.
 * @param bounds - {@link BodyBounds}
 * @param pending - Where the held bytes are counted; the caller releases a returned body's bytes.
 * @returns The body, or why it was refused.
 * @throws the request's stream error (its bytes are released).
 */
export function readBoundedBody(
  req: IncomingMessage,
  bounds: BodyBounds,
  pending: PendingSubmissions,
): Promise<Buffer | BodyRefusal> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let done = false
    const stop = (): void => {
      done = true
      clearTimeout(timer)
      req.off('data', onData)
    }
    const refuse = (why: BodyRefusal): void => {
      if (done) return
      stop()
      pending.hold(-size)
      chunks.length = 0
      resolve(why)
    }
    const timer = setTimeout(() => refuse('timeout'), bounds.deadlineMs)
    const onData = (c: Buffer): void => {
      if (done) return
      if (size + c.length > bounds.maxBodyBytes) {
        refuse('too_large')
        return
      }
      if (pending.buffered + c.length > bounds.maxBufferedBytes) {
        refuse('budget')
        return
      }
      size += c.length
      pending.hold(c.length)
      chunks.push(c)
    }
    req.on('data', onData)
    req.once('end', () => {
      if (done) return
      stop()
      resolve(Buffer.concat(chunks, size))
    })
    req.once('error', (e) => {
      if (done) return
      stop()
      pending.hold(-size)
      reject(e)
    })
  })
}
