// The options of `reliquary validator` and `reliquary miner`, declared once for flags, environment
// variables, --config and help. Kept apart from the commands so that `--help` loads no model code.
import { defineCommand, type OptionDecl } from './_options.js'

/** Logging and configuration options of the long-running services. @internal */
export const SERVICE_OPTIONS = {
  config: {
    type: 'string',
    arg: 'FILE',
    description: 'JSON file of options ({"port": 8080, "archive-dir": "…"}); flags and env win',
  },
  'log-level': {
    type: 'string',
    arg: 'L',
    choices: ['trace', 'debug', 'info', 'warn', 'error', 'silent'],
    default: 'info',
    description: 'trace, debug, info, warn, error or silent',
  },
  'log-format': {
    type: 'string',
    arg: 'F',
    choices: ['pretty', 'json'],
    default: 'pretty',
    description: 'pretty (one human line per event) or json (one JSON object per line)',
  },
} as const satisfies Record<string, OptionDecl>

/** The `--backend` option every model command shares. @internal */
export const BACKEND = {
  type: 'string',
  arg: 'B',
  choices: ['wasm', 'cpu', 'webgpu', 'tensorflow'],
  default: 'wasm',
  description: 'TensorFlow.js backend: wasm, cpu, webgpu, tensorflow',
} as const satisfies OptionDecl

/** The `--precision` option of the commands that run the model on webgpu (add its description). @internal */
export const PRECISION = {
  type: 'string',
  arg: 'P',
  choices: ['f32', 'f16'],
  defaultText: "f32 (reproduces the reference's fp32 numbers)",
} as const satisfies Omit<OptionDecl, 'description'>

const PROFILE = {
  type: 'string',
  arg: 'P',
  choices: ['e3', 'e3-demo'],
  default: 'e3',
  description: 'e3 or e3-demo',
} as const satisfies OptionDecl

const HOTKEY = {
  type: 'string',
  arg: 'SURI',
  secret: true,
  env: 'RELIQUARY_HOTKEY',
  description: 'Hotkey secret URI (prefer the environment variable); e3-demo defaults to a dev key',
} as const satisfies OptionDecl

/** `reliquary validator`. @internal */
export const VALIDATOR_COMMAND = defineCommand({
  name: 'validator',
  usage: 'reliquary validator [--profile e3|e3-demo] [--model M] [--port P] [options]',
  about: `Runs an E3 validator: the HTTP service (GET /state, POST /submit, GET /checkpoint,
GET /verdicts/{hotkey}, GET /health) and the window loop (drand boundary, randomness,
admission, seal, GRPO step, checkpoint publishing with a chain-of-custody manifest, window
archives, EMA of won slots). Stops after --windows or on Ctrl-C (the open window is sealed
partially and finished first).

--profile e3-demo runs a self-contained local network: the bundled tiny model, the target-token
environment, a local BLS drand chain and a local Hub server, and prints the command that starts a
miner against it.`,
  options: {
    profile: PROFILE,
    'dedupe-repeats': {
      type: 'boolean',
      description:
        "Hardening (off in e3): refuse a hotkey's identical repeats in a window\n(docs/protocol.md §4.5; changes honest outcomes, see SECURITY.md)",
    },
    'sketch-tolerance-base': {
      type: 'int',
      arg: 'N',
      min: 0,
      description: 'Hardening: a stricter GRAIL sketch tolerance base (e3: 5000)',
    },
    'sketch-challenge-k': {
      type: 'int',
      arg: 'K',
      min: 32,
      max: 1024,
      description: 'Hardening: sketch positions challenged per rollout (e3: 32)',
    },
    model: {
      type: 'string',
      arg: 'M',
      description: 'Base checkpoint: a directory or owner/name@revision',
      defaultText: 'for e3-demo: the bundled tiny model',
    },
    environment: {
      type: 'string',
      arg: 'E',
      choices: ['math', 'target-token'],
      defaultText: 'math; target-token for e3-demo',
      description: 'math (--problems FILE for your own [{problem, solution}] JSON) or target-token',
    },
    problems: {
      type: 'string',
      arg: 'FILE',
      description: 'MATH problem set (JSON array of {problem, solution})',
      defaultText: 'the bundled sample',
    },
    hotkey: HOTKEY,
    drand: {
      type: 'string',
      arg: 'SRC',
      choices: ['local', 'relays'],
      defaultText: 'relays for e3 (the public quicknet relays), local for e3-demo',
      description: 'local or relays',
    },
    'drand-relay': {
      type: 'list',
      arg: 'URL',
      description:
        'A relay base URL instead of the default list (repeatable; env: comma-separated)',
    },
    period: {
      type: 'int',
      arg: 'S',
      min: 1,
      default: 2,
      description: 'Local drand period in seconds',
    },
    hub: {
      type: 'string',
      arg: 'H',
      defaultText: 'local for e3-demo',
      description: 'local (a local Hub server) or a Hub URL (https://huggingface.co)',
    },
    'repo-id': {
      type: 'string',
      arg: 'ID',
      description:
        'Model repo to publish to (namespace/name); with a Hub URL, token from env HF_TOKEN',
    },
    'state-dir': {
      type: 'string',
      arg: 'DIR',
      defaultText: '--archive-dir',
      description:
        'State directory (archives, checkpoints, trainer state; local Hub and drand chain): a restarted validator resumes from it',
    },
    'archive-dir': {
      type: 'string',
      arg: 'DIR',
      default: 'reliquary-validator',
      description: 'Same as --state-dir (its earlier name; archives keep their place in it)',
    },
    host: { type: 'string', arg: 'H', default: '127.0.0.1', description: 'Listen address' },
    port: {
      type: 'int',
      arg: 'P',
      min: 0,
      max: 65_535,
      default: 8080,
      description: 'Listen port (0 for any)',
    },
    chain: {
      type: 'string',
      arg: 'URL',
      description:
        'A subtensor node (ws://…): admission rejects unregistered hotkeys\n(hotkey_not_registered) and weights are set once per epoch from the EMA',
    },
    netuid: { type: 'int', arg: 'N', min: 0, max: 65_535, description: 'Subnet id (with --chain)' },
    'axon-ip': {
      type: 'string',
      arg: 'IP',
      description: 'With --chain: announce IP and the listen port with serve_axon',
    },
    'wallet.name': {
      type: 'string',
      arg: 'W',
      description: 'Sign with the btcli hotkey ~/.bittensor/wallets/W/hotkeys/<--wallet.hotkey>',
    },
    'wallet.hotkey': {
      type: 'string',
      arg: 'H',
      defaultText: "'default'",
      description: 'Hotkey name of the wallet',
    },
    'wallet.path': {
      type: 'string',
      arg: 'DIR',
      description: 'Wallets directory instead of ~/.bittensor/wallets',
    },
    windows: {
      type: 'int',
      arg: 'N',
      min: 1,
      description: 'Stop after N windows',
      defaultText: 'run until Ctrl-C',
    },
    backend: BACKEND,
    compute: {
      type: 'string',
      arg: 'C',
      choices: ['worker', 'in-process'],
      description:
        'worker: verification and GRPO steps in a worker thread (the HTTP API answers\nmeanwhile; wasm, cpu and webgpu), or in-process (half the memory)',
      defaultText: 'worker on wasm, cpu and webgpu, else in-process',
    },
    precision: {
      ...PRECISION,
      description:
        'webgpu only: verify at f32 or f16 (f16 weights, tensor cores where the GPU\nhas them); queued submissions are verified together in packed forwards',
    },
    'submit-workers': {
      type: 'int',
      arg: 'N',
      min: 0,
      description:
        'Threads that parse and envelope-check /submit bodies off the HTTP event loop (0: on it)',
      defaultText: 'half the cores, 2 to 8',
    },
    ...SERVICE_OPTIONS,
  },
})

/** `reliquary miner`. @internal */
export const MINER_COMMAND = defineCommand({
  name: 'miner',
  usage: 'reliquary miner --validator URL --validator-hotkey SS58 [--profile e3|e3-demo] [options]',
  about: `Runs a miner against a validator: polls /state, downloads and verifies each announced checkpoint
(reference manifest, custody chain back to the base model, every file digest) before switching,
picks prompts with the frontier predictor (or uniformly), generates M rollouts per prompt, proves
(GRAIL sketches) and signs them, signs the envelope with the current drand round, submits, and
reads its verdicts. Stops after --windows or on Ctrl-C.`,
  options: {
    validator: { type: 'string', arg: 'URL', description: "The validator's base URL" },
    'validator-hotkey': {
      type: 'string',
      arg: 'SS58',
      description: 'The validator hotkey its checkpoint manifests must be signed by',
    },
    chain: {
      type: 'string',
      arg: 'URL',
      description:
        'Without --validator: find the validator on the subnet metagraph of this\nsubtensor node (first uid with a permit and an axon ip) and take its hotkey',
    },
    netuid: { type: 'int', arg: 'N', min: 0, max: 65_535, description: 'Subnet id (with --chain)' },
    profile: {
      ...PROFILE,
      description: 'e3 or e3-demo (then --drand-genesis and --drand-period are required)',
    },
    'drand-genesis': {
      type: 'int',
      arg: 'T',
      min: 0,
      defaultText: "e3: quicknet's",
      description: "drand genesis (unix seconds) of the validator's chain",
    },
    'drand-period': {
      type: 'int',
      arg: 'S',
      min: 1,
      defaultText: "e3: quicknet's",
      description: "drand period in seconds of the validator's chain",
    },
    model: {
      type: 'string',
      arg: 'M',
      defaultText: 'for e3-demo: the bundled tiny model',
      description: 'Bootstrap checkpoint: a directory or owner/name@revision',
    },
    environment: {
      type: 'string',
      arg: 'E',
      choices: ['math', 'target-token'],
      defaultText: 'math; target-token for e3-demo',
      description: "math or target-token; must be the validator's",
    },
    problems: { type: 'string', arg: 'FILE', description: "MATH problem set (as the validator's)" },
    hotkey: HOTKEY,
    'hub-url': {
      type: 'string',
      arg: 'URL',
      default: 'https://huggingface.co',
      description: 'Hub to download checkpoints from',
    },
    'cache-dir': {
      type: 'string',
      arg: 'DIR',
      default: 'reliquary-miner',
      description: 'Verified checkpoint snapshots',
    },
    picker: {
      type: 'string',
      arg: 'P',
      choices: ['frontier', 'uniform'],
      default: 'frontier',
      description: 'frontier or uniform',
    },
    groups: {
      type: 'int',
      arg: 'N',
      min: 1,
      default: 4,
      description: 'Groups attempted per window',
    },
    windows: {
      type: 'int',
      arg: 'N',
      min: 1,
      defaultText: 'run until Ctrl-C',
      description: 'Stop after N windows',
    },
    seed: {
      type: 'int',
      arg: 'S',
      min: 0,
      default: 0,
      description: 'Seed of the picker and of sampling',
    },
    backend: BACKEND,
    ...SERVICE_OPTIONS,
  },
})
