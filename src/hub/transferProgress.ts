import { invalidArgument } from '../errors/base.js'

/**
 * One progress report of a checkpoint transfer, passed to the `onProgress` callback of
 * `downloadCheckpoint` and `publishCheckpoint` (the role of transformers.js's `progress_callback`).
 *
 * Reports come while bytes move (at most every `PROGRESS_INTERVAL_MS`, and when a file
 * completes), then once with `status: 'done'` when the transfer ends: for a download, after every
 * digest was checked; for a publish, once the commit landed. A snapshot found verified in the
 * cache, or a publish whose commit had already landed, moves no bytes: its only report is `done`
 * with `total` 0.
 */
export type TransferProgress = {
  /** `download` (`downloadCheckpoint`) or `upload` (`publishCheckpoint`). */
  readonly direction: 'download' | 'upload'
  /** `progress` while bytes move, `done` in the last report. */
  readonly status: 'progress' | 'done'
  /** Repo path of the file the last bytes belong to; null in the `done` report. */
  readonly file: string | null
  /** Bytes transferred so far, every file together. */
  readonly loaded: number
  /** Bytes the whole transfer moves (the sizes the custody manifest lists). */
  readonly total: number
  /** `loaded / total` as a percentage, 0–100 (100 when `total` is 0). */
  readonly progress: number
  /** Seconds since the transfer started. */
  readonly elapsedSeconds: number
  /** Average rate since the start, bytes per second (0 before the first byte). */
  readonly bytesPerSecond: number
  /** Seconds left at that rate; null before the first byte, 0 when done. */
  readonly etaSeconds: number | null
}

/** A receiver of {@link TransferProgress} reports. */
export type OnTransferProgress = (progress: TransferProgress) => void

/** Smallest interval between two `progress` reports of one transfer, in milliseconds. */
export const PROGRESS_INTERVAL_MS = 100

/** Counts a transfer's bytes and reports them, throttled. @internal */
export type ProgressTracker = {
  /** Sets the bytes of `file` transferred so far (monotonic per file); `fileDone` forces a report. */
  set(file: string, fileLoaded: number, fileDone?: boolean): void
  /** Adds `bytes` to `file`. */
  add(file: string, bytes: number, fileDone?: boolean): void
  /** The final report. */
  done(): void
}

/** Checks an `onProgress` parameter. @internal */
export function assertOnProgress(onProgress: unknown): void {
  if (onProgress !== undefined && typeof onProgress !== 'function')
    throw invalidArgument('onProgress', 'a function', onProgress)
}

/**
 * A tracker reporting to `onProgress` (a no-op tracker without it).
 * @internal
 */
export function createProgressTracker(
  direction: 'download' | 'upload',
  total: number,
  onProgress: OnTransferProgress | undefined,
  now: () => number = () => performance.now(),
): ProgressTracker {
  const start = now()
  const perFile = new Map<string, number>()
  let loaded = 0
  let last = Number.NEGATIVE_INFINITY
  const report = (status: 'progress' | 'done', file: string | null): void => {
    const t = now()
    const elapsed = (t - start) / 1000
    const rate = elapsed > 0 && loaded > 0 ? loaded / elapsed : 0
    const left = Math.max(0, total - loaded)
    last = t
    onProgress?.(
      Object.freeze({
        direction,
        status,
        file,
        loaded,
        total: status === 'done' && loaded === 0 ? 0 : total,
        progress: total > 0 && (status !== 'done' || loaded > 0) ? (100 * loaded) / total : 100,
        elapsedSeconds: elapsed,
        bytesPerSecond: rate,
        etaSeconds: status === 'done' ? 0 : rate > 0 ? left / rate : null,
      }),
    )
  }
  const set = (file: string, fileLoaded: number, fileDone = false): void => {
    if (!onProgress) return
    const before = perFile.get(file) ?? 0
    if (fileLoaded <= before && !fileDone) return
    const next = Math.max(before, fileLoaded)
    perFile.set(file, next)
    loaded += next - before
    if (fileDone || now() - last >= PROGRESS_INTERVAL_MS) report('progress', file)
  }
  return {
    set,
    add: (file, bytes, fileDone) => set(file, (perFile.get(file) ?? 0) + bytes, fileDone),
    done: () => {
      if (onProgress) report('done', null)
    },
  }
}
