/**
 * Waits `ms` milliseconds (0 for a negative `ms`). When `signal` aborts first, the timer is
 * cleared and the promise rejects with the signal's reason; an already aborted signal rejects at
 * once.
 * @internal
 */
export function sleep(ms: number, signal?: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const onAbort = (): void => {
      clearTimeout(t)
      reject(signal?.reason)
    }
    const t = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort)
        resolve()
      },
      Math.max(0, ms),
    )
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
