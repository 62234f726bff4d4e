// CPU time per thread of this process from Linux `/proc` (utime + stime, 10 ms ticks), shared by
// the benches that split a load's CPU between threads. Unlike wall-clock latencies it does not
// grow with the machine's load. Relative imports only.
import { readdirSync, readFileSync } from 'node:fs'

/** CPU ms of one `/proc/.../stat` line's thread. */
function cpuMsOf(stat: string): number {
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) * 10
}

/** CPU ms of each thread of this process, by thread id (empty where `/proc` is missing). */
export function threadCpu(): Map<string, number> {
  const out = new Map<string, number>()
  let tasks: string[] = []
  try {
    tasks = readdirSync('/proc/self/task')
  } catch {
    return out
  }
  for (const t of tasks) {
    try {
      out.set(t, cpuMsOf(readFileSync(`/proc/self/task/${t}/stat`, 'utf8')))
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out
}

/** CPU ms of the process's main thread (NaN where `/proc` is missing). */
export function mainThreadCpuMs(): number {
  try {
    return cpuMsOf(readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8'))
  } catch {
    return Number.NaN
  }
}
