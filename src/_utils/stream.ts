import { concatBytes } from './bytes.js'

/**
 * Reads a byte stream to the end, stopping (and cancelling the stream) as soon as more than
 * `maxBytes` arrived. Returns the bytes, or `null` when the bound was exceeded, so each caller
 * reports the overflow with its own error. Read errors propagate.
 * @internal
 */
export async function readBounded(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  maxBytes: number,
): Promise<Uint8Array | null> {
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return concatBytes(...chunks)
    total += value.length
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined)
      return null
    }
    chunks.push(value)
  }
}
