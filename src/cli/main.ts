import { resolve } from 'node:path'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { formatConformanceReport, runConformance } from '../conformance/run.js'
import { runSketchBench } from '../bench/sketch.js'
import { VERSION } from '../version.js'
import { backendName, usage } from './_args.js'
import { formatHelp } from './_help.js'
import { type CommandDecl, parseCommand } from './_options.js'
import { debugRequested, reportError } from './_report.js'
import { didYouMean } from './_suggest.js'
import { MINER_COMMAND, VALIDATOR_COMMAND } from './networkOptions.js'
import {
  BENCH_COMMAND,
  BENCHMARKS,
  CHAIN_METAGRAPH_COMMAND,
  CONFORMANCE_COMMAND,
  DEMO_COMMAND,
  demoChainOption,
  MANIFEST_COMMAND,
  VERIFY_COMMAND,
} from './toolOptions.js'

/** Every command, with its option declarations (help and `help <command>`). */
const COMMANDS: Record<string, CommandDecl> = {
  conformance: CONFORMANCE_COMMAND,
  demo: DEMO_COMMAND,
  verify: VERIFY_COMMAND,
  manifest: MANIFEST_COMMAND,
  bench: BENCH_COMMAND,
  chain: CHAIN_METAGRAPH_COMMAND,
  validator: VALIDATOR_COMMAND,
  miner: MINER_COMMAND,
}
const COMMAND_NAMES = [...Object.keys(COMMANDS), 'help']

const MAIN_HELP = `reliquary ${VERSION}: SDK and tools for the Reliquary GRPO market (Bittensor subnet 81)

Usage: reliquary <command> [options]

Commands:
  demo                A whole network on this machine, offline: validator, three miners, local
                      drand chain and Hub, the bundled tiny model; writes an HTML report
  validator           Run an E3 validator (HTTP service + window loop); --profile e3-demo runs
                      a local one on the bundled tiny model
  miner               Run a miner against a validator URL
  conformance <dir>   Run every conformance suite found in a reference vector directory
  verify <file>       Judge a submission or commit with the validator's per-rollout checks
  manifest verify <file|url>  Verify a reference or chain-of-custody checkpoint manifest
  chain metagraph     Print a subnet's metagraph from a subtensor node (--chain, --netuid)
  bench <what>        Run a benchmark (${BENCHMARKS.join(', ')})
  help [command]      Show help for a command

Options:
  -v, --version       Print the version
  -h, --help          Show this help

Run 'reliquary <command> --help' for the options of a command. Every option can also come from a
RELIQUARY_<OPTION> environment variable; validator and miner also read --config FILE (JSON).`

function helpOf(name: string | undefined): string {
  if (name === undefined) return MAIN_HELP
  const c = COMMANDS[name]
  if (c) return formatHelp(c)
  return usage(`No help for "${name}": not a command.${didYouMean(name, COMMAND_NAMES)}`)
}

async function conformance(argv: string[]): Promise<number> {
  const { values, positionals, help } = parseCommand(CONFORMANCE_COMMAND, argv)
  if (help) return print(formatHelp(CONFORMANCE_COMMAND))
  const dir = positionals[0] ?? usage('conformance needs a directory.')
  await selectBackend(values.backend)
  const report = await runConformance(resolve(dir), { only: values.only })
  if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
  else process.stdout.write(`${formatConformanceReport(report)}\n`)
  return report.totals.failed === 0 ? 0 : 1
}

/** Chooses the TensorFlow.js backend for commands that run the model (wasm unless told). */
async function selectBackend(name: string | undefined): Promise<void> {
  const b = backendName(name)
  const { useBackend } = await import('../model/backend.js')
  await useBackend(b)
}

function defaultBaseline(): string | undefined {
  const candidates = [
    resolve('../shared/bench/torch_baseline.py'),
    resolve(
      fileURLToPath(new URL('.', import.meta.url)),
      '../../../shared/bench/torch_baseline.py',
    ),
  ]
  return candidates.find((p) => existsSync(p))
}

type BenchOutput = {
  machine: Record<string, unknown>
  results: { what: string; median_s: number; per_s: number; unit: string }[]
}

async function bench(argv: string[]): Promise<number> {
  const { values, positionals, help } = parseCommand(BENCH_COMMAND, argv)
  if (help) return print(formatHelp(BENCH_COMMAND))
  const list = BENCHMARKS.join(', ')
  const what =
    positionals[0] ?? usage(`bench needs a target: ${list}.`, "Run 'reliquary bench --help'.")
  let out: BenchOutput
  if (what === 'sketch') {
    out = runSketchBench({
      rows: values.rows,
      cols: values.cols,
      repeats: values.repeats,
      baseline: values.baseline ?? defaultBaseline(),
      python: values.python,
    })
  } else if (what === 'forward' || what === 'generate' || what === 'verify' || what === 'grpo') {
    const modelDir = values.model ?? usage(`bench ${what} needs --model <dir>.`)
    await selectBackend(values.backend)
    const { runModelBench } = await import('../bench/model.js')
    const grpoBaseline = [
      resolve('bench/torch_grpo.py'),
      resolve(fileURLToPath(new URL('.', import.meta.url)), '../../bench/torch_grpo.py'),
    ].find((p) => existsSync(p))
    out = await runModelBench({
      modelDir: resolve(modelDir),
      what,
      seqLen: values.seq,
      repeats: values.repeats ?? 3,
      baseline: values.baseline ?? defaultBaseline(),
      python: values.python,
      groups: values.groups,
      rollouts: values.rollouts,
      grpoBaseline,
    })
  } else {
    usage(
      `Unknown benchmark "${what}". Available: ${list}.${didYouMean(what, BENCHMARKS)}`,
      "Run 'reliquary bench --help'.",
    )
  }
  if (values.json) process.stdout.write(`${JSON.stringify(out, null, 2)}\n`)
  else {
    process.stdout.write(`machine: ${JSON.stringify(out.machine)}\n`)
    for (const r of out.results)
      process.stdout.write(
        `${r.what.padEnd(26)} median ${(r.median_s * 1e3).toFixed(3).padStart(9)} ms  ${Math.round(r.per_s).toLocaleString('en-US').padStart(12)} ${r.unit}/s\n`,
      )
  }
  return 0
}

async function verify(argv: string[]): Promise<number> {
  const { values, positionals, help } = parseCommand(VERIFY_COMMAND, argv)
  if (help) return print(formatHelp(VERIFY_COMMAND))
  const hint = "Run 'reliquary verify --help'."
  const file = positionals[0] ?? usage('verify needs a submission or commit JSON file.', hint)
  const model = values.model ?? usage('verify needs --model <dir|owner/name@revision>.', hint)
  await selectBackend(values.backend)
  const { verifyCommand } = await import('./verify.js')
  const r = await verifyCommand({
    file,
    model,
    randomness: values.randomness,
    profile: values.profile,
    hotkey: values.hotkey,
    hubUrl: values['hub-url'],
    precision: values.precision as 'f32' | 'f16' | undefined,
  })
  if (values.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`)
  else {
    if (r.randomnessFrom === 'beacon')
      process.stdout.write("randomness: each commit's beacon randomness (no --randomness given)\n")
    for (const v of r.rollouts)
      process.stdout.write(
        `rollout ${v.index}: ${v.accepted ? 'accepted' : `rejected (${v.reason})`}${v.passed ? `  grail ${v.passed}, sketch_diff_max ${v.sketchDiffMax}` : ''}${v.detail ? `  ${v.detail}` : ''}\n`,
      )
  }
  return r.accepted ? 0 : 1
}

async function demo(argv: string[]): Promise<number> {
  const { values, help } = parseCommand(DEMO_COMMAND, argv)
  if (help) return print(formatHelp(DEMO_COMMAND))
  const kinds = values.miners?.split(',').map((k) => k.trim())
  const known = ['frontier', 'uniform', 'cheater']
  const bad = kinds?.find((k) => !known.includes(k))
  if (bad !== undefined)
    usage(
      `--miners takes frontier, uniform and/or cheater, not "${bad}".${didYouMean(bad, known)}`,
      "Run 'reliquary demo --help'.",
    )
  const backend = values.backend as 'wasm' | 'cpu'
  const { runDemo } = await import('../demo/runDemo.js')
  const r = await runDemo({
    windows: values.windows,
    seed: values.seed,
    out: values.out,
    miners: kinds as ('frontier' | 'uniform' | 'cheater')[] | undefined,
    backend,
    periodSeconds: values.period,
    verbose: values.verbose ?? false,
    chain: demoChainOption(values.chain),
    minerThreads: !values['no-threads'],
    log: (line) => process.stdout.write(`${line}\n`),
  })
  process.stdout.write(`\nReport: ${r.out ?? '(none)'}  (${r.seconds.toFixed(0)} s)\n`)
  return 0
}

async function manifest(argv: string[]): Promise<number> {
  const { values, positionals, help } = parseCommand(MANIFEST_COMMAND, argv)
  if (help) return print(formatHelp(MANIFEST_COMMAND))
  const hint = "Run 'reliquary manifest --help'."
  if (positionals[0] !== 'verify')
    usage(
      positionals[0] === undefined
        ? 'manifest needs a subcommand: reliquary manifest verify <file|url> --validator <SS58>.'
        : `Unknown manifest command "${positionals[0]}".${didYouMean(positionals[0], ['verify'])}`,
      hint,
    )
  const source = positionals[1] ?? usage('manifest verify needs a file or URL.', hint)
  const validator = values.validator ?? usage('manifest verify needs --validator <SS58>.', hint)
  const { manifestVerifyCommand } = await import('./verify.js')
  const r = await manifestVerifyCommand({ source, validator })
  if (values.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`)
  else process.stdout.write(`${r.kind} manifest: ${r.valid ? 'valid' : 'INVALID'} (${r.detail})\n`)
  return r.valid ? 0 : 1
}

function print(s: string): number {
  process.stdout.write(`${s}\n`)
  return 0
}

async function dispatch(cmd: string | undefined, rest: string[]): Promise<number> {
  switch (cmd) {
    case undefined:
    case '-h':
    case '--help':
      return print(MAIN_HELP)
    case 'help':
      return print(helpOf(rest[0]))
    case '--version':
    case '-v':
      return print(VERSION)
    case 'conformance':
      return await conformance(rest)
    case 'bench':
      return await bench(rest)
    case 'verify':
      return await verify(rest)
    case 'demo':
      return await demo(rest)
    case 'manifest':
      return await manifest(rest)
    case 'chain': {
      const { chainCommand } = await import('./chain.js')
      return await chainCommand(rest, (line) => void process.stdout.write(`${line}\n`))
    }
    case 'validator':
    case 'miner': {
      const log = (line: string): void => void process.stdout.write(`${line}\n`)
      if (cmd === 'validator')
        return await (await import('./validatorCommand.js')).validatorCommand(rest, log)
      return await (await import('./minerCommand.js')).minerCommand(rest, log)
    }
    default: {
      const near = cmd.startsWith('-')
        ? didYouMean(cmd.replace(/^-+/, ''), ['help', 'version'], (c) => `--${c}`)
        : didYouMean(cmd, COMMAND_NAMES)
      return usage(`Unknown ${cmd.startsWith('-') ? 'option' : 'command'} "${cmd}".${near}`)
    }
  }
}

/** CLI entry: returns the exit code. @internal */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv
  try {
    return await dispatch(cmd, rest)
  } catch (e) {
    return reportError(e, {
      debug: debugRequested(argv),
      write: (s) => void process.stderr.write(s),
    })
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (e: unknown) => {
    process.stderr.write(`${(e as Error)?.stack ?? String(e)}\n`)
    process.exitCode = 3
  },
)
