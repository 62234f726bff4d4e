// The services' logger: pino with a level, JSON lines or today's human lines, and redaction of every
// secret (hotkey seeds and mnemonics, Hub tokens) from both. Loaded only by the CLI commands that
// run services, so the SDK's entry points never import pino.
import { pino, type Logger } from 'pino'
import { cliProgress } from './_progress.js'
import {
  type CommandDecl,
  describeOptions,
  type OptionDecl,
  type ParsedCommand,
  secretValues,
} from './_options.js'

/** Log levels, most verbose first (pino's, plus `silent`). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'silent'] as const
/** A log level. */
export type LogLevel = (typeof LOG_LEVELS)[number]

/** Object keys whose values are never logged, at any depth pino's redaction reaches. */
const SECRET_KEYS = [
  'suri',
  'seed',
  'mnemonic',
  'secret',
  'password',
  'token',
  'accessToken',
  'hfToken',
  'authorization',
]
const REDACT_PATHS = [...SECRET_KEYS, ...SECRET_KEYS.map((k) => `*.${k}`)]
const CENSOR = '[redacted]'

/** The CLI logger: pino, plus the secrets its output is scrubbed of. */
export type CliLogger = {
  readonly logger: Logger
  /** Adds a secret (the whole string is replaced by `[redacted]` wherever it appears). */
  addSecret(value: string | undefined): void
}

/** The strings to scrub for one secret: itself, and a mnemonic or seed without its derivation path. */
function secretForms(value: string): string[] {
  const base = value.split('/')[0]!.trim()
  return base.length >= 8 && base !== value ? [value, base] : [value]
}

/**
 * Creates the logger of `reliquary validator` / `reliquary miner`.
 *
 * `pretty` writes each record's message as one line (today's output; the level filters which
 * lines appear); `json` writes one JSON object per line (`level`, `time`, `msg`, event fields).
 * Values under secret-named keys are censored by pino's redaction, and every registered secret
 * string is replaced in the final line, so a seed that reaches a message text is scrubbed too.
 */
export function createCliLogger(o: {
  level: LogLevel
  format: 'pretty' | 'json'
  /** Where lines go (without the trailing newline for `pretty`). */
  write: (line: string) => void
  secrets?: readonly (string | undefined)[]
  name?: string
}): CliLogger {
  const secrets = new Set<string>()
  const addSecret = (value: string | undefined): void => {
    if (value === undefined || value.length < 4) return
    for (const s of secretForms(value)) {
      secrets.add(s)
      secrets.add(JSON.stringify(s).slice(1, -1))
    }
  }
  for (const s of o.secrets ?? []) addSecret(s)
  const scrub = (line: string): string => {
    let out = line
    for (const s of secrets) out = out.split(s).join(CENSOR)
    return out
  }
  const destination = {
    write(chunk: string): void {
      const line = scrub(chunk)
      if (o.format === 'json') {
        o.write(line.endsWith('\n') ? line.slice(0, -1) : line)
        return
      }
      const record = JSON.parse(line) as { msg?: unknown }
      o.write(typeof record.msg === 'string' ? record.msg : '')
    },
  }
  const logger = pino(
    {
      level: o.level,
      ...(o.name !== undefined ? { name: o.name } : {}),
      base: o.format === 'json' ? { pid: process.pid } : null,
      redact: { paths: REDACT_PATHS, censor: CENSOR },
    },
    destination,
  )
  return { logger, addSecret }
}

/**
 * The logger of a service command from its parsed options (`log-level`, `log-format`, secret
 * options, `HF_TOKEN`); logs the effective options (secrets redacted) at debug level.
 */
export function serviceLogger<O extends Record<string, OptionDecl>>(
  c: CommandDecl<O>,
  parsed: ParsedCommand<O>,
  write: (line: string) => void,
): CliLogger & { log: (line: string) => void } {
  const values = parsed.values as Record<string, unknown>
  const cli = createCliLogger({
    level: (values['log-level'] as LogLevel | undefined) ?? 'info',
    format: values['log-format'] === 'json' ? 'json' : 'pretty',
    write,
    secrets: [...secretValues(c, values), process.env.HF_TOKEN],
    name: c.name,
  })
  cli.logger.debug({ event: 'options' }, `options: ${describeOptions(c, parsed)}`)
  return { ...cli, log: (line) => cli.logger.info(line) }
}

/** The `onProgress` of a service's checkpoint transfers: a bar on a terminal, log lines otherwise. */
export function transferProgress(logger: Logger, format: unknown): ReturnType<typeof cliProgress> {
  return cliProgress({
    logger,
    tty: process.stdout.isTTY === true && format !== 'json' && logger.isLevelEnabled('info'),
    write: (s) => void process.stdout.write(s),
  })
}
