import { ReliquaryError } from '../errors/base.js'

/**
 * Races `work` against a timer: rejects with `CHAIN_TIMEOUT` naming `label` when `ms` pass first
 * (and calls `onTimeout`, for example to drop a stalled connection). The timer never keeps the
 * process alive and is cleared as soon as `work` settles.
 * @internal
 */
export function withTimeout<T>(
  work: Promise<T>,
  ms: number,
  label: string,
  onTimeout?: () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      try {
        onTimeout?.()
      } catch {
        /* dropping a connection never masks the timeout */
      }
      reject(
        new ReliquaryError('CHAIN_TIMEOUT', `${label} did not complete within ${ms} ms.`, {
          hints: [
            'The chain endpoint may be stalled or overloaded; the client reconnects on the next call.',
          ],
          meta: { label, timeoutMs: ms },
        }),
      )
    }, ms)
    timer.unref?.()
    work.then(
      (v) => {
        clearTimeout(timer)
        resolve(v)
      },
      (e: unknown) => {
        clearTimeout(timer)
        reject(e)
      },
    )
  })
}
