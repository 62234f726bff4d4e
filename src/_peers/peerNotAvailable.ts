import { ReliquaryError } from '../errors/base.js'

/**
 * The optional peer dependencies of the runtime (the model, GRPO training, the Hub, the services
 * and the CLI), with the ranges this version supports. The root entry and the protocol subpaths
 * need none of them.
 */
export const RUNTIME_PEERS: Readonly<Record<string, string>> = Object.freeze({
  '@tensorflow/tfjs-core': '^4.22.0',
  '@tensorflow/tfjs-backend-cpu': '^4.22.0',
  '@tensorflow/tfjs-backend-wasm': '^4.22.0',
  '@huggingface/hub': '^2.17.5',
})

/** The optional peer dependency of `reliquary/chain` alone (the Bittensor chain client). */
export const CHAIN_PEERS: Readonly<Record<string, string>> = Object.freeze({
  '@polkadot/api': '^16.5.6',
})

/** What a project runs to install the runtime's peers next to `reliquary`. */
export const RUNTIME_INSTALL_COMMAND: string = `npm install ${Object.entries(RUNTIME_PEERS)
  .map(([name, range]) => `${name}@${range}`)
  .join(' ')}`

/** Whether `e` is Node's "this package is not installed" error (from `require` or `import`). */
export function isModuleNotFound(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code
  return code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND'
}

/**
 * The error for an optional peer dependency that could not be loaded, with the install command:
 * `TFJS_NOT_AVAILABLE` for a TensorFlow.js package, `HUB_NOT_AVAILABLE` for `@huggingface/hub`,
 * `CHAIN_CLIENT_NOT_AVAILABLE` for `@polkadot/api`.
 */
export function peerNotAvailable(pkg: string, cause: unknown): ReliquaryError {
  if (pkg in CHAIN_PEERS)
    return new ReliquaryError(
      'CHAIN_CLIENT_NOT_AVAILABLE',
      `${pkg} is not installed; 'reliquary/chain' needs it.`,
      { hints: [`Install it next to reliquary: npm install ${pkg}@${CHAIN_PEERS[pkg]}`], cause },
    )
  const tfjs = pkg.startsWith('@tensorflow/')
  return new ReliquaryError(
    tfjs ? 'TFJS_NOT_AVAILABLE' : 'HUB_NOT_AVAILABLE',
    `${pkg} is not installed; ${tfjs ? 'the model runtime, GRPO training and the CLI need TensorFlow.js' : 'Hub checkpoints, the services and the CLI need it'}.`,
    {
      hints: [
        `Install the runtime next to reliquary: ${RUNTIME_INSTALL_COMMAND}`,
        "The root 'reliquary' entry and the protocol subpaths (grail, crypto, drand, protocol, reward, window, manifest, rollout) need none of these packages.",
      ],
      cause,
    },
  )
}
