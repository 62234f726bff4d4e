// The CLI's option layer: one declaration per option (type, environment variable, description,
// default, check) feeds the command-line parser, the RELIQUARY_* environment variables, the
// --config file and the help text. No model code: `--help` stays fast.
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { ReliquaryError } from '../errors/base.js'
import { usage } from './_args.js'
import { didYouMean } from './_suggest.js'

/** How an option's value is read: text, a switch, an integer, or a repeatable text. */
export type OptionType = 'string' | 'boolean' | 'int' | 'list'

/** One option of one command, declared once. */
export type OptionDecl = {
  readonly type: OptionType
  /** Help text; `\n` starts a continuation line. */
  readonly description: string
  /** Placeholder shown in the help (`N`, `URL`, …). */
  readonly arg?: string
  /** Applied when the option is given nowhere (flag, environment, config file). */
  readonly default?: string | number | boolean
  /** Help text of a default the command computes (it depends on other options). */
  readonly defaultText?: string
  /** Bounds of an `int` option. */
  readonly min?: number
  readonly max?: number
  /** The accepted values of a `string` option. */
  readonly choices?: readonly string[]
  /**
   * A `string` option whose value may be left out (`--chain` alone): it then takes this value. A
   * following argument that is not an option is its value.
   */
  readonly implicit?: string
  /** One-letter alias (`-x`). */
  readonly short?: string
  /** Environment variable; default `RELIQUARY_<NAME>` (upper case, `-` and `.` as `_`); false for none. */
  readonly env?: string | false
  /** A secret (hotkey seed, token): never echoed, redacted from logs. */
  readonly secret?: boolean
  /** A further check of the converted value; `expect` says in words what it wants. */
  readonly schema?: z.ZodType
  readonly expect?: string
}

/** A command: its help text around the generated option list, and its options. */
export type CommandDecl<O extends Record<string, OptionDecl> = Record<string, OptionDecl>> = {
  /** As typed after `reliquary` (`validator`, `manifest verify`). */
  readonly name: string
  /** What follows `Usage: ` (may span lines). */
  readonly usage: string
  readonly about: string
  readonly options: O
  /** How many positional arguments the command takes (default 0). */
  readonly positionals?: number
  /** Text after the option list. */
  readonly footer?: string
}

type ValueOf<D extends OptionDecl> = D['type'] extends 'boolean'
  ? boolean
  : D['type'] extends 'int'
    ? number
    : D['type'] extends 'list'
      ? string[]
      : string

/** The parsed values of a command's options (defaulted options are never undefined). */
export type OptionValues<O extends Record<string, OptionDecl>> = {
  -readonly [K in keyof O]: O[K] extends { default: string | number | boolean }
    ? ValueOf<O[K]>
    : ValueOf<O[K]> | undefined
}

/** Where an option's value came from. */
export type OptionSource = 'flag' | 'env' | 'config' | 'default'

/** A parsed command line. */
export type ParsedCommand<O extends Record<string, OptionDecl>> = {
  values: OptionValues<O>
  positionals: string[]
  /** `-h`/`--help` was given (values are then not parsed). */
  help: boolean
  sources: Partial<Record<keyof O & string, OptionSource>>
}

/** Declares a command (identity; keeps the option names and types for {@link OptionValues}). */
export function defineCommand<const O extends Record<string, OptionDecl>>(
  c: CommandDecl<O>,
): CommandDecl<O> {
  return c
}

/** The environment variable of an option, or undefined when it has none. */
export function envNameOf(name: string, d: OptionDecl): string | undefined {
  if (d.env === false) return undefined
  return d.env ?? `RELIQUARY_${name.toUpperCase().replace(/[-.]/g, '_')}`
}

const BOOL: Record<string, boolean> = { true: true, '1': true, yes: true }
for (const k of ['false', '0', 'no']) BOOL[k] = false

/** The zod schema of an option's value, accepting text (flags, environment) or JSON (config). */
export function schemaOf(d: OptionDecl): z.ZodType {
  let s: z.ZodType
  if (d.type === 'int') {
    s = z
      .union([
        z.number(),
        z
          .string()
          .trim()
          .regex(/^[+-]?\d+$/)
          .transform(Number),
      ])
      .pipe(
        z
          .number()
          .refine(Number.isSafeInteger)
          .refine((n) => n >= (d.min ?? Number.MIN_SAFE_INTEGER) && n <= (d.max ?? Infinity)),
      )
  } else if (d.type === 'boolean') {
    s = z.union([
      z.boolean(),
      z
        .string()
        .refine((v) => v.toLowerCase() in BOOL)
        .transform((v) => BOOL[v.toLowerCase()]!),
    ])
  } else if (d.type === 'list') {
    s = z.union([
      z.array(z.string()),
      z.string().transform((v) =>
        v
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean),
      ),
    ])
  } else s = d.choices ? z.enum(d.choices as [string, ...string[]]) : z.string()
  return d.schema ? s.pipe(d.schema) : s
}

/** What an option wants, in words (`an integer ≥ 1`, `one of wasm, cpu`). */
export function expectationOf(d: OptionDecl): string {
  if (d.expect) return d.expect
  if (d.type === 'int') {
    const min = d.min !== undefined ? ` ≥ ${d.min}` : ''
    const max = d.max !== undefined ? `${min ? ' and' : ''} ≤ ${d.max}` : ''
    return `an integer${min}${max}`
  }
  if (d.type === 'boolean') return 'true or false'
  if (d.type === 'list') return 'a list of strings'
  return d.choices ? `one of ${d.choices.join(', ')}` : 'a string'
}

/** Converts one raw value, or throws `code` naming where it came from. */
function convert(
  d: OptionDecl,
  raw: unknown,
  where: string,
  code: 'CLI_USAGE' | 'CLI_CONFIG_INVALID',
  hint: string,
): unknown {
  const r = schemaOf(d).safeParse(raw)
  if (r.success) return r.data
  const near = typeof raw === 'string' && d.choices ? didYouMean(raw, d.choices) : ''
  throw new ReliquaryError(code, `${where} must be ${expectationOf(d)}.${near}`, {
    hints: [hint],
  })
}

function flagToken(a: string): string | undefined {
  if (a.startsWith('--') && a.length > 2) return a.slice(2).split('=')[0]
  return undefined
}

/** The raw command-line values: strings per option (lists collect every occurrence). */
function scanFlags(
  c: CommandDecl,
  argv: readonly string[],
  hint: string,
): { raw: Map<string, string | string[] | boolean>; positionals: string[] } {
  const raw = new Map<string, string | string[] | boolean>()
  const positionals: string[] = []
  const names = Object.keys(c.options)
  const shorts = new Map(
    Object.entries(c.options).flatMap(([n, d]) => (d.short ? [[d.short, n] as const] : [])),
  )
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--') {
      positionals.push(...argv.slice(i + 1))
      break
    }
    let name = flagToken(a)
    let inline: string | undefined
    if (name !== undefined) {
      const eq = a.indexOf('=')
      inline = eq < 0 ? undefined : a.slice(eq + 1)
    } else if (/^-[^-\d]/.test(a)) {
      name = shorts.get(a.slice(1))
      if (name === undefined) usage(`Unknown option ${a} for "reliquary ${c.name}".`, hint)
    } else {
      positionals.push(a)
      continue
    }
    const d = c.options[name]
    if (!d) {
      const near = didYouMean(name, names, (n) => `--${n}`)
      usage(`Unknown option --${name} for "reliquary ${c.name}".${near}`, hint)
    }
    if (d.type === 'boolean') {
      raw.set(name, inline ?? true)
      continue
    }
    const next = argv[i + 1]
    const nextIsOption = next !== undefined && flagToken(next) !== undefined
    if (inline === undefined && d.implicit !== undefined && (next === undefined || nextIsOption)) {
      raw.set(name, d.implicit)
      continue
    }
    if (inline === undefined && (next === undefined || nextIsOption))
      usage(`--${name} needs a value${d.arg ? ` (${d.arg})` : ''}.`, hint)
    const value = inline ?? argv[++i]!
    const prev = raw.get(name)
    raw.set(name, d.type === 'list' ? [...((prev as string[] | undefined) ?? []), value] : value)
  }
  const max = c.positionals ?? 0
  if (positionals.length > max)
    usage(
      `Unexpected argument "${positionals[max]}" for "reliquary ${c.name}"${max === 0 ? ' (it takes no arguments)' : ''}.`,
      hint,
    )
  return { raw, positionals }
}

/** Largest accepted --config file. */
const MAX_CONFIG_BYTES = 1 << 20

/**
 * Reads a `--config` JSON file: an object keyed by option name (as on the command line, without
 * `--`), each value checked by the option's schema.
 * @throws {ReliquaryError} `CLI_CONFIG_INVALID` naming the file and the bad key.
 */
export function readConfigFile(c: CommandDecl, path: string): Record<string, unknown> {
  const hint = `Keys are the options of 'reliquary ${c.name} --help', without the leading --.`
  const fail = (msg: string, cause?: unknown): never => {
    throw new ReliquaryError('CLI_CONFIG_INVALID', msg, { hints: [hint], cause })
  }
  let text = ''
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    fail(`Cannot read the config file "${path}" (${(e as Error).message}).`, e)
  }
  if (text.length > MAX_CONFIG_BYTES) fail(`The config file "${path}" is larger than 1 MiB.`)
  let doc: unknown
  try {
    doc = JSON.parse(text)
  } catch (e) {
    fail(`The config file "${path}" is not JSON (${(e as Error).message}).`, e)
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    fail(`The config file "${path}" must hold a JSON object of option names and values.`)
  const allowed = Object.keys(c.options).filter((n) => n !== 'config')
  const shape = Object.fromEntries(allowed.map((n) => [n, schemaOf(c.options[n]!).optional()]))
  const r = z.strictObject(shape).safeParse(doc)
  if (r.success) return r.data as Record<string, unknown>
  const issue = r.error.issues[0]!
  if (issue.code === 'unrecognized_keys') {
    const key = issue.keys[0]!
    fail(`Unknown key "${key}" in the config file "${path}".${didYouMean(key, allowed)}`)
  }
  const key = String(issue.path[0])
  return fail(
    `"${key}" in the config file "${path}" must be ${expectationOf(c.options[key]!)}.`,
  ) as never
}

/** True when `-h`/`--help` appears before any `--`. */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--')
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '-h' || a === '--help')
}

/**
 * Parses a command's arguments. Each option is taken from the command line, else its environment
 * variable, else the `--config` file (when the command declares `config`), else its default.
 * @throws {ReliquaryError} `CLI_USAGE` (unknown option with a suggestion, missing or bad value,
 * extra argument), `CLI_CONFIG_INVALID` (unreadable config file, unknown key, bad value).
 */
export function parseCommand<O extends Record<string, OptionDecl>>(
  c: CommandDecl<O>,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): ParsedCommand<O> {
  const hint = `Run 'reliquary ${c.name} --help'.`
  if (wantsHelp(argv))
    return { values: {} as OptionValues<O>, positionals: [], help: true, sources: {} }
  const { raw, positionals } = scanFlags(c, argv, hint)
  const values: Record<string, unknown> = {}
  const sources: Record<string, OptionSource> = {}
  const fromEnv = (name: string): string | undefined => {
    const v = envNameOf(name, c.options[name]!)
    return v === undefined || !env[v] ? undefined : env[v]
  }
  for (const [name, d] of Object.entries(c.options)) {
    if (raw.has(name)) {
      values[name] = convert(d, raw.get(name), `--${name}`, 'CLI_USAGE', hint)
      sources[name] = 'flag'
    } else if (fromEnv(name) !== undefined) {
      const v = envNameOf(name, d)!
      values[name] = convert(d, fromEnv(name), `${v} (--${name})`, 'CLI_USAGE', hint)
      sources[name] = 'env'
    }
  }
  const configPath = 'config' in c.options ? (values.config as string | undefined) : undefined
  const config = configPath !== undefined ? readConfigFile(c, configPath) : {}
  for (const [name, d] of Object.entries(c.options)) {
    if (name in values) continue
    if (config[name] !== undefined) {
      values[name] = config[name]
      sources[name] = 'config'
    } else if (d.default !== undefined) {
      values[name] = d.default
      sources[name] = 'default'
    } else values[name] = undefined
  }
  return {
    values: values as OptionValues<O>,
    positionals,
    help: false,
    sources: sources as ParsedCommand<O>['sources'],
  }
}

/** The values of a command's secret options (for log redaction). */
export function secretValues(c: CommandDecl, values: Record<string, unknown>): string[] {
  return Object.entries(c.options)
    .filter(([n, d]) => d.secret && typeof values[n] === 'string' && values[n] !== '')
    .map(([n]) => values[n] as string)
}

/** The effective options as `name=value (source)` with secrets redacted, for a debug log line. */
export function describeOptions<O extends Record<string, OptionDecl>>(
  c: CommandDecl<O>,
  p: ParsedCommand<O>,
): string {
  return Object.entries(p.sources)
    .map(([n, src]) => {
      const v = (p.values as Record<string, unknown>)[n]
      return `${n}=${c.options[n]!.secret ? '[redacted]' : JSON.stringify(v)} (${src})`
    })
    .join(', ')
}
