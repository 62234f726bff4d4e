/**
 * Every error code the SDK throws. Codes are public API: removing or renaming one is a breaking
 * change. Each code is prefixed by the domain where the failure happened.
 */
export const ERROR_CODES = Object.freeze({
  INVALID_ARGUMENT: 'An argument has the wrong type, shape or range.',
  INVALID_HEX: 'A hex string is malformed (non-hex characters, wrong length).',
  NON_FINITE_VALUE: 'A number that must be finite is NaN or infinite.',
  PROFILE_UNKNOWN: 'No protocol profile with that id exists.',
  GRAIL_SHAPE_MISMATCH: 'Hidden states, commitments or positions do not line up.',
  GRAIL_CHALLENGE_INVALID: 'Challenge parameters are impossible (k > population, empty tokens).',
  SIGNATURE_INVALID_KEY: 'A hotkey address or secret cannot be decoded.',
  SCHEMA_INVALID: 'A wire document failed its strict schema.',
  PAYLOAD_TOO_LARGE: 'A wire document exceeds the size bound.',
  JSON_INVALID: 'A wire document is not valid JSON.',
  CONFORMANCE_DIR_INVALID: 'A conformance directory is missing or holds no known suite.',
  CONFORMANCE_FILE_INVALID: 'A conformance vector file is malformed.',
  TFJS_NOT_AVAILABLE: 'TensorFlow.js is needed for this call but is not installed.',
  GPU_MEMORY_INSUFFICIENT:
    'The model needs more GPU memory than the device has (estimated before loading).',
  HUB_NOT_AVAILABLE: '@huggingface/hub is needed for this call but is not installed.',
  CHAIN_CLIENT_NOT_AVAILABLE: '@polkadot/api is needed for this call but is not installed.',
  CHAIN_NODE_NOT_AVAILABLE:
    'The local subtensor node of `demo --chain` (@acala-network/chopsticks, a development dependency) is not installed.',
  CLI_USAGE: 'The command line was not understood.',
  CLI_CONFIG_INVALID:
    'A --config file is unreadable, not a JSON object, or has an unknown key or a bad value.',
  NETWORK_REQUEST_FAILED:
    'A URL could not be fetched (DNS, refused connection, TLS, timeout) or answered an error status.',
  DRAND_BEACON_MALFORMED:
    'A drand beacon is not well formed (missing fields, bad hex, wrong length).',
  DRAND_SIGNATURE_INVALID:
    'A drand beacon signature is not a valid point or fails BLS verification.',
  DRAND_ROUND_MISMATCH: 'A drand beacon is for another round than the one requested.',
  DRAND_RANDOMNESS_MISMATCH: 'A drand beacon randomness is not SHA-256 of its signature.',
  DRAND_CHAIN_INFO_INVALID:
    'drand chain info is malformed, its key is not a valid point, or it is not the pinned chain.',
  DRAND_SCHEME_UNSUPPORTED: 'The drand chain uses a signature scheme the SDK cannot verify.',
  DRAND_UNAVAILABLE: 'No drand source could serve a verified beacon for that round.',
  DRAND_BEACON_NOT_VERIFIED:
    'A beacon that did not come out of verifyBeacon was passed where a verified one is required.',
  MANIFEST_FILES_MISMATCH: 'The files on disk do not match the hashes a manifest lists.',
  MODEL_FILE_MISSING:
    'A model directory lacks a file it needs (config.json, weights, tokenizer.json).',
  MODEL_CONFIG_INVALID: 'config.json or generation_config.json is malformed or inconsistent.',
  MODEL_ARCHITECTURE_UNSUPPORTED:
    'The checkpoint is of an architecture or feature the decoder does not implement.',
  MODEL_WEIGHT_MISSING: 'A weight the architecture needs is absent from the checkpoint.',
  MODEL_SHAPE_MISMATCH: 'A weight has a different shape than the config implies.',
  MODEL_SAFETENSORS_HEADER_INVALID:
    'A safetensors header is oversized, not JSON, or inconsistent with its data.',
  MODEL_SAFETENSORS_TRUNCATED: 'A safetensors file ends before the data its header describes.',
  MODEL_SAFETENSORS_DTYPE_UNSUPPORTED:
    'A safetensors tensor has a dtype this reader cannot convert.',
  MODEL_SAFETENSORS_SHARD_MISSING:
    'A shard named by model.safetensors.index.json is missing or unsafe.',
  MODEL_TOKENIZER_INVALID: 'tokenizer.json or tokenizer_config.json cannot be loaded.',
  HUB_REQUEST_FAILED:
    'A Hugging Face Hub request failed (network error, error status or malformed response).',
  HUB_CHECKPOINT_CONFLICT:
    'The Hub repo head is already a `checkpoint {n}` commit whose custody manifest differs from this one.',
  HUB_REFERENCE_MANIFEST_INVALID:
    'A reference checkpoint manifest fails its signature, repo, revision or checkpoint_n check.',
  HUB_COMMIT_TITLE_MISMATCH:
    'The Hub commit at the pinned revision is not titled `checkpoint {n}`.',
  HUB_CUSTODY_INVALID:
    "A checkpoint's custody manifest is missing, malformed, or its chain does not verify.",
  WINDOW_STATE_INVALID:
    'A window lifecycle call is illegal in the current state (bad transition, sealing twice or too early).',
  VALIDATOR_WORKER_FAILED:
    "The validator's model worker thread could not start, crashed or was stopped (calls in flight fail; the next call starts a new worker).",
  VALIDATOR_SUBMIT_POOL_FAILED:
    "A validator's /submit parsing thread could not start, crashed, stalled or was stopped (its requests are answered 500; the next request starts a new thread).",
  STATE_CONFLICT:
    'An archive or checkpoint already written holds other content; it is never replaced.',
  STATE_INVALID:
    'A validator state directory is malformed, or belongs to another hotkey or profile.',
  GRPO_STATE_INVALID:
    'A saved GRPO trainer state is missing, malformed, or does not match the model it is restored into.',
  CHAIN_UNAVAILABLE:
    'The Bittensor chain endpoint cannot be reached, or its connection failed or stalled.',
  CHAIN_TIMEOUT: 'A chain read or write did not complete within its timeout.',
  CHAIN_MODULE_ERROR:
    'The chain rejected an extrinsic with a decoded module error (no permit, rate limit, …).',
  CHAIN_EXTRINSIC_INVALID:
    'The chain refused an extrinsic before inclusion (bad nonce, fees, invalid transaction).',
  CHAIN_UNSUPPORTED:
    'The runtime lacks a call or storage item the SDK needs, or a subnet setting (commit-reveal) it does not support.',
  CHAIN_NOT_REGISTERED: 'A hotkey is not registered on the subnet (no uid in the metagraph).',
  WALLET_INVALID: 'A Bittensor wallet file is missing, unreadable, encrypted or malformed.',
  DEMO_MINER_THREAD_FAILED: 'A miner thread of the demo could not start or stopped unexpectedly.',
} as const)

/** A stable error code; see {@link ERROR_CODES} for the meaning of each. */
export type ErrorCode = keyof typeof ERROR_CODES
