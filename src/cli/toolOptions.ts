// The options of the one-shot commands (conformance, demo, verify, manifest verify, bench), declared
// once for flags, environment variables and help. No model code: `--help` stays fast.
import { z } from 'zod'
import { defineCommand, type OptionDecl } from './_options.js'
import { BACKEND, PRECISION } from './networkOptions.js'

const JSON_OUTPUT = {
  type: 'boolean',
  description: 'Machine-readable output',
} as const satisfies OptionDecl

/** The benchmarks `reliquary bench` runs. @internal */
export const BENCHMARKS = ['sketch', 'forward', 'generate', 'verify', 'grpo'] as const

/** `reliquary conformance`. @internal */
export const CONFORMANCE_COMMAND = defineCommand({
  name: 'conformance',
  usage: 'reliquary conformance <dir> [--json] [--only <prefix>]...',
  about: `Runs every conformance suite whose section appears in the JSON files of <dir> (a directory shaped
like the reference conformance set; files are recognised by content, so any seed works) and
prints a report. Exits 1 when a case fails.`,
  positionals: 1,
  options: {
    json: { ...JSON_OUTPUT, description: 'Per suite: cases checked, failed, worst metric' },
    only: {
      type: 'list',
      arg: 'PREFIX',
      description: 'Only suites whose id starts with PREFIX (repeatable), e.g. --only grail',
    },
    backend: { ...BACKEND, description: 'TensorFlow.js backend for the model suites' },
  },
})

/** `reliquary demo`. @internal */
export const DEMO_COMMAND = defineCommand({
  name: 'demo',
  usage:
    'reliquary demo [--windows N] [--seed S] [--out FILE|DIR] [--miners a,b,c] [--backend B] [--chain [URL]] [--no-threads] [--verbose]',
  about: `Runs a whole Reliquary network in one process, offline: a validator (admission, sealing, GRPO
steps, checkpoint publishing with a chain-of-custody manifest to a local Hub), three miners
(frontier predictor, uniform, and a cheater that fabricates sketches, lies about rewards and
replays old rollouts), a local BLS drand chain, the bundled tiny model and a synthetic
environment built for it. Prints live progress and a summary, and writes an HTML report.
The demo profile is e3 with a few numbers changed (listed in the summary); every rule is e3's.`,
  options: {
    windows: { type: 'int', arg: 'N', min: 1, defaultText: '12', description: 'Windows to run' },
    seed: { type: 'int', arg: 'S', min: 0, defaultText: '0', description: 'Seed' },
    out: {
      type: 'string',
      arg: 'FILE|DIR',
      default: 'reliquary-demo.html',
      description:
        'HTML report: a file (.html is appended when missing) or a directory (reliquary-demo.html in it)',
    },
    miners: {
      type: 'string',
      arg: 'LIST',
      defaultText: 'all three',
      description: 'Comma-separated kinds: frontier, uniform, cheater',
    },
    backend: { ...BACKEND, choices: ['wasm', 'cpu'], description: 'wasm or cpu' },
    period: {
      type: 'int',
      arg: 'S',
      min: 1,
      defaultText: '2',
      description: 'Local drand period in seconds',
    },
    chain: {
      type: 'string',
      arg: 'URL',
      implicit: 'true',
      // Not RELIQUARY_CHAIN: that names the validator's and miner's node URL.
      env: 'RELIQUARY_DEMO_CHAIN',
      schema: z.string().regex(/^(true|false|1|0|yes|no|wss?:\/\/\S+)$/i),
      expect: 'a ws:// or wss:// URL, or true/false',
      description:
        "Also run a subtensor chain: registration at admission, EMA weights set at each epoch's lead and read back.\nAlone: a local chopsticks node (npm install -D @acala-network/chopsticks@1.5.1); a URL: a chopsticks node already running on assets/chain's genesis",
    },
    'no-threads': {
      type: 'boolean',
      description:
        "Run the miners on the validator's thread, in turns (default: one worker thread per miner, all mining each window at once)",
    },
    verbose: { type: 'boolean', description: 'Log every submission' },
  },
})

/**
 * The demo's `--chain` value as `runDemo`'s `chain`: alone or true-ish, a local node the demo
 * starts; a `ws://` URL, that node; absent or false-ish, no chain. @internal
 */
export function demoChainOption(v: string | undefined): boolean | { url: string } {
  if (v === undefined) return false
  if (/^wss?:\/\//i.test(v)) return { url: v }
  return /^(true|1|yes)$/i.test(v)
}

/** `reliquary verify`. @internal */
export const VERIFY_COMMAND = defineCommand({
  name: 'verify',
  usage:
    'reliquary verify <submission.json> --model <dir|owner/name@revision> [--randomness HEX] [--profile e3|e1] [--hotkey SS58] [--backend B] [--precision f32|f16] [--json]',
  about: `Runs the validator's per-rollout checks (schema, tokens, prompt binding against the submitted
prompt, signature, randomness binding, GRAIL, termination, logprob, distribution) on every rollout
of a /submit body in the reference layout, or on one commit object. The window randomness is
--randomness, else each commit's own beacon randomness (said in the output); a commit with neither
is a usage error. Without a miner hotkey (a bare commit) only GRAIL runs. Exits 0 when every
rollout is accepted, 1 otherwise.`,
  positionals: 1,
  options: {
    model: {
      type: 'string',
      arg: 'M',
      description: 'Checkpoint directory or a pinned Hub revision',
    },
    randomness: {
      type: 'string',
      arg: 'HEX',
      description: "The validator's window randomness (default: each commit's beacon)",
    },
    profile: {
      type: 'string',
      arg: 'P',
      choices: ['e3', 'e1'],
      default: 'e3',
      description: 'e3 or e1',
    },
    hotkey: {
      type: 'string',
      arg: 'SS58',
      env: 'RELIQUARY_MINER_HOTKEY',
      description: "Miner hotkey (default: the body's miner_hotkey)",
    },
    'hub-url': {
      type: 'string',
      arg: 'URL',
      description: 'Hub for an owner/name@revision model',
      defaultText: 'https://huggingface.co',
    },
    backend: BACKEND,
    precision: {
      ...PRECISION,
      description:
        'webgpu only: f32 or f16 (f16 weights, tensor cores where the GPU has\nthem); rollouts run in batches',
    },
    json: { ...JSON_OUTPUT, description: 'Machine-readable verdicts' },
  },
})

/** `reliquary manifest verify`. @internal */
export const MANIFEST_COMMAND = defineCommand({
  name: 'manifest verify',
  usage: 'reliquary manifest verify <file|url> --validator <SS58> [--json]',
  about: `Verifies a reference checkpoint manifest ({checkpoint_n, repo_id, revision, signature}: sr25519
over "{n}|{revision}", <Bytes>-wrapped accepted) or a chain-of-custody manifest signed by the
given validator hotkey. Exits 0 when valid, 1 when invalid or unreachable.`,
  positionals: 2,
  options: {
    validator: {
      type: 'string',
      arg: 'SS58',
      env: 'RELIQUARY_VALIDATOR_HOTKEY',
      description: 'The validator hotkey the manifest must be signed by',
    },
    json: { ...JSON_OUTPUT, description: 'Machine-readable result' },
  },
})

/** `reliquary bench`. @internal */
export const BENCH_COMMAND = defineCommand({
  name: 'bench',
  usage: `reliquary bench sketch [--rows N] [--cols D] [--repeats R] [--baseline PATH] [--json]
       reliquary bench forward|generate|verify --model DIR [--seq N] [--backend B] [--repeats R] [--json]
       reliquary bench grpo --model DIR [--groups G] [--rollouts M] [--seq N] [--backend B] [--repeats R] [--json]`,
  about: `sketch times computeSketch on a [rows, cols] float32 matrix and verifySketch on 32 positions (median of
≥ 5 runs). With --baseline (default: ../shared/bench/torch_baseline.py when present) the torch
baseline runs in the same invocation for a side-by-side figure.`,
  positionals: 1,
  options: {
    rows: { type: 'int', arg: 'N', min: 1, defaultText: '4096', description: 'Positions' },
    cols: { type: 'int', arg: 'D', min: 1, defaultText: '2560', description: 'Hidden size' },
    repeats: {
      type: 'int',
      arg: 'R',
      min: 1,
      defaultText: '7 for sketch (at least 5), 3 otherwise',
      description: 'Timed runs',
    },
    baseline: {
      type: 'string',
      arg: 'PATH',
      description: 'torch baseline script (needs python3 with torch)',
    },
    python: {
      type: 'string',
      arg: 'PATH',
      defaultText: '/usr/bin/python3',
      description: 'Python interpreter for the baseline',
    },
    json: { ...JSON_OUTPUT, description: 'One JSON document instead of a table' },
    model: {
      type: 'string',
      arg: 'DIR',
      description: 'Checkpoint directory (forward, generate, verify, grpo)',
    },
    seq: {
      type: 'int',
      arg: 'N',
      min: 1,
      default: 256,
      description: 'Tokens: sequence length (forward, verify, grpo) or new tokens (generate)',
    },
    backend: BACKEND,
    groups: { type: 'int', arg: 'G', min: 1, description: 'grpo: groups per step' },
    rollouts: { type: 'int', arg: 'M', min: 1, description: 'grpo: rollouts per group' },
  },
  footer: `forward also runs the torch baseline's forward on the same checkpoint and length; grpo runs
bench/torch_grpo.py (the same step in torch) on the same shapes. Each run reports
the peak RSS of its process: run one configuration per invocation.`,
})

/** `reliquary chain metagraph`. @internal */
export const CHAIN_METAGRAPH_COMMAND = defineCommand({
  name: 'chain metagraph',
  usage: 'reliquary chain metagraph --chain <ws://…> --netuid <N> [--json]',
  about: `Reads a subnet's metagraph from a subtensor node (storage at the head block): uid, hotkey,
coldkey, stake, validator permit, axon and last update, and the validator a miner would discover
(the first uid with a permit and an axon ip, as the reference miner picks it).`,
  positionals: 0,
  options: {
    chain: {
      type: 'string',
      arg: 'URL',
      description: 'WebSocket endpoint of a subtensor node (ws:// or wss://)',
    },
    netuid: { type: 'int', arg: 'N', min: 0, max: 65_535, description: 'Subnet id' },
    json: { ...JSON_OUTPUT, description: 'Machine-readable output (stake in rao, as a string)' },
    'timeout-ms': {
      type: 'int',
      arg: 'MS',
      min: 1,
      defaultText: '30000',
      description: 'Read timeout',
    },
  },
})
