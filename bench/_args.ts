// The command-line arguments of the bench scripts, parsed with node:util's parseArgs: typed
// options (strings, numbers, integers, switches) and positionals, each with its default
// (benchArgs), or node's own option shape (parseArgs). An unknown option, a missing value, a value
// that is not a number or too many positionals end the script with exit code 2 and a usage line
// naming every option. Relative imports only: bench/gpu scripts are bundled with esbuild.
import { basename } from 'node:path'
import { parseArgs as nodeParseArgs, type ParseArgsConfig } from 'node:util'

/** One option or positional: its type, and the value it takes when absent. */
export type ArgSpec =
  | { type: 'string'; default?: string }
  | { type: 'number'; default?: number }
  | { type: 'integer'; default?: number }
  | { type: 'boolean' }

/** The parsed value of one {@link ArgSpec}: undefined only when it has no default. */
export type ArgValue<S extends ArgSpec> = S extends { type: 'boolean' }
  ? boolean
  : S extends { type: 'string' }
    ? S extends { default: string }
      ? string
      : string | undefined
    : S extends { default: number }
      ? number
      : number | undefined

/** Every option and positional by name. */
export type BenchArgs<O extends Record<string, ArgSpec>, P extends Record<string, ArgSpec>> = {
  [K in keyof O]: ArgValue<O[K]>
} & { [K in keyof P]: ArgValue<P[K]> }

const metavar = (s: ArgSpec): string =>
  s.type === 'boolean' ? '' : s.type === 'string' ? ' S' : ' N'

/** `[--name N=default] … [first=default] …`, the usage line of an error. */
function usageLine(options: Record<string, ArgSpec>, positionals: Record<string, ArgSpec>): string {
  const dflt = (s: ArgSpec) => ('default' in s && s.default !== undefined ? `=${s.default}` : '')
  const opts = Object.entries(options).map(([k, s]) => `[--${k}${metavar(s)}${dflt(s)}]`)
  const pos = Object.entries(positionals).map(([k, s]) => `[${k}${dflt(s)}]`)
  return [basename(process.argv[1] ?? 'bench'), ...opts, ...pos].join(' ')
}

function convert(name: string, s: ArgSpec, raw: string | boolean | undefined): unknown {
  if (s.type === 'boolean') return raw === true
  if (raw === undefined) return s.default
  if (s.type === 'string') return raw
  const n = Number(raw)
  const ok =
    String(raw).trim() !== '' &&
    (s.type === 'integer' ? Number.isSafeInteger(n) : Number.isFinite(n))
  if (!ok)
    throw new TypeError(
      `${name} must be ${s.type === 'integer' ? 'an integer' : 'a number'}, got '${raw}'`,
    )
  return n
}

/**
 * Parses `argv` (the script's arguments unless given) against `options` (`--name value`,
 * `--name=value`, or `--name` for a switch) and `positionals` (in the order listed, each
 * optional). On a usage error prints it with the usage line to stderr and exits with code 2.
 *
 * @example
 * const args = benchArgs({ runs: { type: 'integer', default: 100 }, json: { type: 'boolean' } })
 */
export function benchArgs<
  const O extends Record<string, ArgSpec>,
  const P extends Record<string, ArgSpec> = Record<never, ArgSpec>,
>(options: O, positionals?: P, argv: readonly string[] = process.argv.slice(2)): BenchArgs<O, P> {
  const pos = (positionals ?? {}) as Record<string, ArgSpec>
  try {
    const parsed = nodeParseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: Object.keys(pos).length > 0,
      options: Object.fromEntries(
        Object.entries(options).map(([k, s]) => [
          k,
          { type: s.type === 'boolean' ? ('boolean' as const) : ('string' as const) },
        ]),
      ),
    })
    const names = Object.keys(pos)
    if (parsed.positionals.length > names.length)
      throw new TypeError(`unexpected argument '${parsed.positionals[names.length]}'`)
    const out: Record<string, unknown> = {}
    for (const [k, s] of Object.entries(options)) out[k] = convert(`--${k}`, s, parsed.values[k])
    names.forEach((k, i) => {
      out[k] = convert(k, pos[k]!, parsed.positionals[i])
    })
    return out as BenchArgs<O, P>
  } catch (e) {
    return usageError(e, options, pos)
  }
}

/**
 * node:util's `parseArgs` for the scripts that keep its option shape and convert the values
 * themselves: a usage error (an unknown option, a missing value) ends the script with exit code 2
 * and a usage line, as in {@link benchArgs}, instead of a stack trace.
 */
export function parseArgs<T extends ParseArgsConfig>(
  config: T,
): ReturnType<typeof nodeParseArgs<T>> {
  try {
    return nodeParseArgs(config)
  } catch (e) {
    const specs = Object.fromEntries(
      Object.entries(config.options ?? {}).map(([k, o]): [string, ArgSpec] => [
        k,
        o.type === 'boolean'
          ? { type: 'boolean' }
          : { type: 'string', ...(typeof o.default === 'string' ? { default: o.default } : {}) },
      ]),
    )
    return usageError(e, specs, {})
  }
}

function usageError(
  e: unknown,
  options: Record<string, ArgSpec>,
  positionals: Record<string, ArgSpec>,
): never {
  const msg = e instanceof Error ? e.message : String(e)
  process.stderr.write(`${msg}\nusage: ${usageLine(options, positionals)}\n`)
  process.exit(2)
}
