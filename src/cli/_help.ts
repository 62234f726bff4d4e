// Help text generated from a command's option declarations.
import { type CommandDecl, envNameOf } from './_options.js'

const MAX_LEFT = 26

function defaultPart(d: CommandDecl['options'][string]): string {
  if (d.defaultText !== undefined) return ` (default: ${d.defaultText})`
  if (d.default === undefined || d.default === false) return ''
  return ` (default: ${String(d.default)})`
}

/** The option table: `  --name ARG   description (default …)`, continuation lines aligned. */
export function formatOptions(c: CommandDecl): string[] {
  const rows = Object.entries(c.options).map(([name, d]) => {
    const arg = d.arg && d.implicit !== undefined ? ` [${d.arg}]` : d.arg ? ` ${d.arg}` : ''
    const left = `${d.short ? `-${d.short}, ` : ''}--${name}${arg}`
    const env = envNameOf(name, d)
    const custom = env !== undefined && d.env !== undefined ? `; env ${env}` : ''
    return [left, `${d.description}${defaultPart(d)}${custom}`]
  })
  rows.push(['-h, --help', 'Show this help'])
  const width = Math.min(MAX_LEFT, Math.max(...rows.map(([l]) => l!.length)) + 2)
  const pad = ' '.repeat(width + 2)
  return rows.flatMap(([left, desc]) => {
    const [first, ...more] = desc!.split('\n')
    const head =
      left!.length + 2 > width
        ? [`  ${left}`, `${pad}${first}`]
        : [`  ${left!.padEnd(width)}${first}`]
    return [...head, ...more.map((m) => `${pad}${m}`)]
  })
}

function example(c: CommandDecl): [string, CommandDecl['options'][string]] {
  const [name, d] =
    Object.entries(c.options).find(([n]) => n.includes('-')) ?? Object.entries(c.options)[0]!
  return [name, { type: d.type, description: d.description }]
}

/** The whole help of a command. */
export function formatHelp(c: CommandDecl): string {
  const hasEnv = Object.entries(c.options).some(([n, d]) => envNameOf(n, d) !== undefined)
  const configNote =
    'config' in c.options
      ? ',\nelse from the --config file (a JSON object keyed by option name)'
      : ''
  return [
    `Usage: ${c.usage}`,
    '',
    c.about,
    '',
    'Options:',
    ...formatOptions(c),
    ...(hasEnv
      ? [
          '',
          'An option not given on the command line is read from its environment variable',
          `(RELIQUARY_<OPTION>: upper case, - and . as _, e.g. ${envNameOf(...example(c))})${configNote}.`,
        ]
      : []),
    ...(c.footer ? ['', c.footer] : []),
  ].join('\n')
}
