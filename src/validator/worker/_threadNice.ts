import { readlinkSync } from 'node:fs'
import { getPriority, setPriority } from 'node:os'

/**
 * Lowers the calling thread's scheduling priority to nice `nice` (Linux, where the nice value is
 * per thread: `setpriority` on the thread's id, read from `/proc/thread-self`). Never raises it
 * (a thread already nicer keeps its value; raising needs privileges), and changes nothing
 * elsewhere or for `nice` 0. Never throws.
 *
 * @param nice - The nice value, 0 (unchanged) to 19 (lowest priority).
 * @returns The thread's nice value afterwards, or `null` where it was left alone.
 * @internal
 */
export function niceThisThread(nice: number): number | null {
  if (process.platform !== 'linux' || !Number.isSafeInteger(nice) || nice <= 0) return null
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop())
    if (!Number.isSafeInteger(tid) || tid <= 0) return null
    const now = getPriority(tid)
    if (now < Math.min(nice, 19)) setPriority(tid, Math.min(nice, 19))
    return getPriority(tid)
  } catch {
    return null
  }
}
