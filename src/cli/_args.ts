// Option parsing shared by the CLI commands (no model code: `--help` stays fast).
import { ReliquaryError } from '../errors/base.js'
import type { BackendName } from '../model/backend.js'

/** Throws the `CLI_USAGE` error the entry point prints with exit code 2. */
export function usage(msg: string, hint = "Run 'reliquary --help'."): never {
  throw new ReliquaryError('CLI_USAGE', msg, { hints: [hint] })
}

/** `--name` as an integer ≥ `min`, or undefined when absent. */
export function intOption(s: string | undefined, name: string, min: number): number | undefined {
  if (s === undefined) return undefined
  const n = Number(s)
  if (!Number.isSafeInteger(n) || n < min) usage(`--${name} must be an integer ≥ ${min}.`)
  return n
}

/** `--backend` (wasm unless told), checked against the backends `useBackend` knows. */
export function backendName(s: string | undefined): BackendName {
  const allowed: readonly BackendName[] = ['wasm', 'cpu', 'webgpu', 'tensorflow']
  const b = (s ?? 'wasm') as BackendName
  if (!allowed.includes(b)) usage(`--backend must be one of ${allowed.join(', ')}.`)
  return b
}
