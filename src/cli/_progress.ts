// Checkpoint transfer progress in the CLI: a progress bar redrawn in place when stdout is a
// terminal (and the log format is pretty), a log line every few seconds otherwise.
import type { Logger } from 'pino'
import type { OnTransferProgress, TransferProgress } from '../hub/transferProgress.js'

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

/** `12.3 MiB`. */
export function formatBytes(n: number): string {
  let v = n
  let u = 0
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024
    u++
  }
  return `${u === 0 ? v.toFixed(0) : v.toFixed(1)} ${UNITS[u]}`
}

/** `1 h 02 min`, `3 min 05 s`, `42 s`, or `?` when unknown. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '?'
  const s = Math.round(seconds)
  if (s >= 3600)
    return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`
  if (s >= 60) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`
  return `${s} s`
}

/** `download 45% · 12.3 MiB of 27.1 MiB · 3.2 MiB/s · ETA 5 s`. */
export function describeProgress(p: TransferProgress): string {
  const amount = `${formatBytes(p.loaded)} of ${formatBytes(p.total)}`
  const rate = `${formatBytes(p.bytesPerSecond)}/s`
  if (p.status === 'done')
    return p.total === 0
      ? `${p.direction}: nothing to transfer`
      : `${p.direction} done · ${amount} in ${formatDuration(p.elapsedSeconds)} · ${rate}`
  return `${p.direction} ${p.progress.toFixed(0)}% · ${amount} · ${rate} · ETA ${formatDuration(p.etaSeconds)}`
}

/** One redraw of the terminal bar (`\r`, no newline). */
export function progressBar(p: TransferProgress, width = 24): string {
  const filled = Math.round((Math.min(100, p.progress) / 100) * width)
  return `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${describeProgress(p)}\x1b[K`
}

/**
 * The `onProgress` of the CLI's checkpoint transfers. With `tty`, a bar redrawn in place on
 * `write` (ended by a newline on `done`); without, an info log line at most every `intervalMs`
 * and one when the transfer ends, with the numbers as fields.
 */
export function cliProgress(o: {
  logger: Logger
  tty: boolean
  write: (s: string) => void
  intervalMs?: number
  now?: () => number
}): OnTransferProgress {
  const interval = o.intervalMs ?? 5000
  const now = o.now ?? (() => Date.now())
  let last = Number.NEGATIVE_INFINITY
  return (p) => {
    if (o.tty) {
      if (p.status === 'done') {
        if (p.total > 0) o.write(`${progressBar(p)}\n`)
      } else o.write(progressBar(p))
      return
    }
    const t = now()
    if (p.status !== 'done' && t - last < interval) return
    last = t
    const { direction, loaded, total, bytesPerSecond, etaSeconds } = p
    o.logger.info(
      { event: 'transfer_progress', direction, loaded, total, bytesPerSecond, etaSeconds },
      describeProgress(p),
    )
  }
}
