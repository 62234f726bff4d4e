import { parseArgs } from 'node:util'
import { resolve } from 'node:path'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { isReliquaryError } from '../errors/base.js'
import { formatConformanceReport, runConformance } from '../conformance/run.js'
import { runSketchBench } from '../bench/sketch.js'
import { VERSION } from '../version.js'
import { NETWORK_HELP } from './networkHelp.js'
import { backendName, intOption, usage } from './_args.js'

const HELP: Record<string, string> = {
  ...NETWORK_HELP,
  main: `reliquary ${VERSION}: SDK and tools for the Reliquary GRPO market (Bittensor subnet 81)

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
  bench <what>        Run a benchmark (sketch, forward, generate, verify, grpo)
  help [command]      Show help for a command

Run 'reliquary <command> --help' for the options of a command.`,
  conformance: `Usage: reliquary conformance <dir> [--json] [--only <prefix>]...

Runs every conformance suite whose section appears in the JSON files of <dir> (a directory shaped
like the reference conformance set; files are recognised by content, so any seed works) and
prints a report. Exits 1 when a case fails.

Options:
  --json            Machine-readable report: per suite, cases checked, failed, worst metric
  --only <prefix>   Only suites whose id starts with <prefix> (repeatable), e.g. --only grail
  --backend <name>  TensorFlow.js backend for the model suites: wasm (default), cpu, webgpu, tensorflow
  -h, --help        Show this help`,
  demo: `Usage: reliquary demo [--windows N] [--seed S] [--out FILE] [--miners a,b,c] [--backend B] [--verbose]

Runs a whole Reliquary network in one process, offline: a validator (admission, sealing, GRPO
steps, checkpoint publishing with a chain-of-custody manifest to a local Hub), three miners
(frontier predictor, uniform, and a cheater that fabricates sketches, lies about rewards and
replays old rollouts), a local BLS drand chain, the bundled tiny model and a synthetic
environment built for it. Prints live progress and a summary, and writes an HTML report.
The demo profile is e3 with a few numbers changed (listed in the summary); every rule is e3's.

Options:
  --windows N       Windows to run (default 12)
  --seed S          Seed (default 0)
  --out FILE        HTML report path (default reliquary-demo.html)
  --miners LIST     Comma-separated kinds: frontier, uniform, cheater (default all three)
  --backend B       wasm (default) or cpu
  --period S        Local drand period in seconds (default 2)
  --verbose         Log every submission
  -h, --help        Show this help`,
  verify: `Usage: reliquary verify <submission.json> --model <dir|owner/name@revision> [--randomness HEX] [--profile e3|e1] [--hotkey SS58] [--backend B] [--precision f32|f16] [--json]

Runs the validator's per-rollout checks (schema, tokens, prompt binding against the submitted
prompt, signature, randomness binding, GRAIL, termination, logprob, distribution) on every rollout
of a /submit body in the reference layout, or on one commit object. --randomness is the window
randomness the validator uses (default: each commit's beacon). Without a miner hotkey (a bare
commit) only GRAIL runs. Exits 0 when every rollout is accepted, 1 otherwise.

Options:
  --model M         Checkpoint directory or a pinned Hub revision
  --randomness HEX  The validator's window randomness
  --profile P       e3 (default) or e1
  --hotkey SS58     Miner hotkey (default: the body's miner_hotkey)
  --backend B       wasm (default), cpu, webgpu, tensorflow
  --precision P     webgpu only: f32 (default; reproduces the reference's fp32 numbers) or f16
                    (f16 weights, tensor cores where the GPU has them); rollouts run in batches
  --json            Machine-readable verdicts
  -h, --help        Show this help`,
  manifest: `Usage: reliquary manifest verify <file|url> --validator <SS58> [--json]

Verifies a reference checkpoint manifest ({checkpoint_n, repo_id, revision, signature}: sr25519
over "{n}|{revision}", <Bytes>-wrapped accepted) or a chain-of-custody manifest signed by the
given validator hotkey. Exits 0 when valid, 1 otherwise.

Options:
  --validator SS58  The validator hotkey the manifest must be signed by
  --json            Machine-readable result
  -h, --help        Show this help`,
  bench: `Usage: reliquary bench sketch [--rows N] [--cols D] [--repeats R] [--baseline PATH] [--json]
       reliquary bench forward|generate|verify --model DIR [--seq N] [--backend B] [--repeats R] [--json]
       reliquary bench grpo --model DIR [--groups G] [--rollouts M] [--seq N] [--backend B] [--repeats R] [--json]

sketch times computeSketch on a [rows, cols] float32 matrix and verifySketch on 32 positions (median of
≥ 5 runs). With --baseline (default: ../shared/bench/torch_baseline.py when present) the torch
baseline runs in the same invocation for a side-by-side figure.

Options:
  --rows N          Positions (default 4096)
  --cols D          Hidden size (default 2560)
  --repeats R       Timed runs, at least 5 (default 7)
  --baseline PATH   torch baseline script (needs python3 with torch)
  --python PATH     Python interpreter for the baseline (default /usr/bin/python3)
  --json            One JSON document instead of a table
  --model DIR       Checkpoint directory (forward, generate, verify)
  --seq N           Tokens: sequence length (forward, verify) or new tokens (generate); default 256
  --backend B       wasm (default), cpu, webgpu, tensorflow
  -h, --help        Show this help

forward also runs the torch baseline's forward on the same checkpoint and length; grpo runs
bench/torch_grpo.py (the same step in torch) on the same shapes. Each run reports
the peak RSS of its process: run one configuration per invocation.`,
}

async function conformance(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      only: { type: 'string', multiple: true },
      backend: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) return print(HELP.conformance!)
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

async function bench(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      json: { type: 'boolean' },
      rows: { type: 'string' },
      cols: { type: 'string' },
      repeats: { type: 'string' },
      baseline: { type: 'string' },
      python: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      model: { type: 'string' },
      seq: { type: 'string' },
      backend: { type: 'string' },
      groups: { type: 'string' },
      rollouts: { type: 'string' },
    },
  })
  if (values.help) return print(HELP.bench!)
  const what = positionals[0] ?? usage('bench needs a target: sketch, forward, generate, verify.')
  const int = (s: string | undefined, name: string) => intOption(s, name, 1)
  let out: {
    machine: Record<string, unknown>
    results: { what: string; median_s: number; per_s: number; unit: string }[]
  }
  if (what === 'sketch') {
    out = runSketchBench({
      rows: int(values.rows, 'rows'),
      cols: int(values.cols, 'cols'),
      repeats: int(values.repeats, 'repeats'),
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
      seqLen: int(values.seq, 'seq') ?? 256,
      repeats: int(values.repeats, 'repeats') ?? 3,
      baseline: values.baseline ?? defaultBaseline(),
      python: values.python,
      groups: int(values.groups, 'groups'),
      rollouts: int(values.rollouts, 'rollouts'),
      grpoBaseline,
    })
  } else {
    usage(`Unknown benchmark "${what}". Available: sketch, forward, generate, verify.`)
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
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      randomness: { type: 'string' },
      profile: { type: 'string' },
      hotkey: { type: 'string' },
      backend: { type: 'string' },
      precision: { type: 'string' },
      'hub-url': { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) return print(HELP.verify!)
  const precision = values.precision
  if (precision !== undefined && precision !== 'f32' && precision !== 'f16')
    usage('--precision must be f32 or f16.')
  const file = positionals[0] ?? usage('verify needs a submission or commit JSON file.')
  const model = values.model ?? usage('verify needs --model <dir|owner/name@revision>.')
  await selectBackend(values.backend)
  const { verifyCommand } = await import('./verify.js')
  const r = await verifyCommand({
    file,
    model,
    randomness: values.randomness,
    profile: values.profile,
    hotkey: values.hotkey,
    hubUrl: values['hub-url'],
    precision,
  })
  if (values.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`)
  else
    for (const v of r.rollouts)
      process.stdout.write(
        `rollout ${v.index}: ${v.accepted ? 'accepted' : `rejected (${v.reason})`}${v.passed ? `  grail ${v.passed}, sketch_diff_max ${v.sketchDiffMax}` : ''}${v.detail ? `  ${v.detail}` : ''}\n`,
      )
  return r.accepted ? 0 : 1
}

async function demo(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      windows: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      miners: { type: 'string' },
      backend: { type: 'string' },
      period: { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) return print(HELP.demo!)
  const kinds = values.miners?.split(',').map((k) => k.trim())
  if (kinds && !kinds.every((k) => ['frontier', 'uniform', 'cheater'].includes(k)))
    usage('--miners takes frontier, uniform and/or cheater.')
  const backend = (values.backend ?? 'wasm') as 'wasm' | 'cpu'
  if (!['wasm', 'cpu'].includes(backend)) usage('--backend must be wasm or cpu.')
  const { runDemo } = await import('../demo/runDemo.js')
  const r = await runDemo({
    windows: intOption(values.windows, 'windows', 1),
    seed: intOption(values.seed, 'seed', 0),
    out: values.out ?? 'reliquary-demo.html',
    miners: kinds as ('frontier' | 'uniform' | 'cheater')[] | undefined,
    backend,
    periodSeconds: intOption(values.period, 'period', 1),
    verbose: values.verbose ?? false,
    log: (line) => process.stdout.write(`${line}\n`),
  })
  process.stdout.write(`\nReport: ${r.out ?? '(none)'}  (${r.seconds.toFixed(0)} s)\n`)
  return 0
}

async function manifest(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      validator: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help || positionals[0] !== 'verify') {
    if (values.help) return print(HELP.manifest!)
    usage('Usage: reliquary manifest verify <file|url> --validator <SS58>')
  }
  const source = positionals[1] ?? usage('manifest verify needs a file or URL.')
  const validator = values.validator ?? usage('manifest verify needs --validator <SS58>.')
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

/** CLI entry: returns the exit code. @internal */
export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv
  try {
    switch (cmd) {
      case undefined:
      case '-h':
      case '--help':
        return print(HELP.main!)
      case 'help':
        return print(HELP[rest[0] ?? 'main'] ?? HELP.main!)
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
        if (rest.includes('--help') || rest.includes('-h')) return print(HELP[cmd]!)
        const log = (line: string): void => void process.stdout.write(`${line}\n`)
        if (cmd === 'validator')
          return await (await import('./validatorCommand.js')).validatorCommand(rest, log)
        return await (await import('./minerCommand.js')).minerCommand(rest, log)
      }
      default:
        usage(`Unknown command "${cmd}".`)
    }
  } catch (e) {
    if (isReliquaryError(e)) {
      process.stderr.write(`${e.message}\n`)
      return 2
    }
    if (e instanceof TypeError && (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`${e.message}\nRun 'reliquary --help'.\n`)
      return 2
    }
    throw e
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
