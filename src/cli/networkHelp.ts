// Kept apart from network.ts so that `reliquary --help` loads no model code.

/** Help text of `reliquary validator` and `reliquary miner`. @internal */
export const NETWORK_HELP = {
  validator: `Usage: reliquary validator [--profile e3|e3-demo] [--model M] [--port P] [options]

Runs an E3 validator: the HTTP service (GET /state, POST /submit, GET /checkpoint,
GET /verdicts/{hotkey}, GET /health) and the window loop (drand boundary, randomness,
admission, seal, GRPO step, checkpoint publishing with a chain-of-custody manifest, window
archives, EMA of won slots). Stops after --windows or on Ctrl-C (the open window is sealed
partially and finished first).

--profile e3-demo runs a self-contained local network: the bundled tiny model, the target-token
environment, a local BLS drand chain and a local Hub server, and prints the command that starts a
miner against it.

Options:
  --profile P         e3 (default) or e3-demo
  --model M           Base checkpoint: a directory or owner/name@revision (default for e3-demo: the bundled tiny model)
  --environment E     math (e3 default; --problems FILE for your own [{problem, solution}] JSON) or target-token (e3-demo default)
  --problems FILE     MATH problem set (JSON array of {problem, solution}); default the bundled sample
  --hotkey SURI       Validator hotkey secret URI (or env RELIQUARY_HOTKEY); e3-demo defaults to a dev key
  --drand SRC         local (e3-demo default) or relays (e3 default: the public quicknet relays)
  --drand-relay URL   A relay base URL instead of the default list (repeatable)
  --period S          Local drand period in seconds (default 2)
  --hub H             local (e3-demo default: a local Hub server), or a Hub URL (https://huggingface.co)
  --repo-id ID        Model repo to publish to (namespace/name); with a Hub URL, token from env HF_TOKEN
  --archive-dir DIR   Window archives and saved checkpoints (default ./reliquary-validator)
  --host H            Listen address (default 127.0.0.1)
  --port P            Listen port (default 8080; 0 for any)
  --chain URL         A subtensor node (ws://…): admission rejects unregistered hotkeys
                      (hotkey_not_registered) and weights are set once per epoch from the EMA
  --netuid N          Subnet id (with --chain)
  --axon-ip IP        With --chain: announce IP and the listen port with serve_axon
  --wallet.name W     Sign with the btcli hotkey ~/.bittensor/wallets/W/hotkeys/<--wallet.hotkey>
  --wallet.hotkey H   Hotkey name (default 'default'); --wallet.path DIR overrides the wallets dir
  --windows N         Stop after N windows (default: run until Ctrl-C)
  --backend B         wasm (default), cpu, webgpu, tensorflow
  -h, --help          Show this help`,
  miner: `Usage: reliquary miner --validator URL --validator-hotkey SS58 [--profile e3|e3-demo] [options]

Runs a miner against a validator: polls /state, downloads and verifies each announced checkpoint
(reference manifest, custody chain back to the base model, every file digest) before switching,
picks prompts with the frontier predictor (or uniformly), generates M rollouts per prompt, proves
(GRAIL sketches) and signs them, signs the envelope with the current drand round, submits, and
reads its verdicts. Stops after --windows or on Ctrl-C.

Options:
  --validator URL          The validator's base URL
  --validator-hotkey SS58  The validator hotkey its checkpoint manifests must be signed by
  --chain URL --netuid N   Without --validator: find the validator on the subnet metagraph
                           (first uid with a permit and an axon ip) and take its hotkey
  --profile P              e3 (default) or e3-demo (then --drand-genesis and --drand-period are required)
  --drand-genesis T        drand genesis (unix seconds) of the validator's chain (e3: quicknet's)
  --drand-period S         drand period in seconds (e3: quicknet's)
  --model M                Bootstrap checkpoint: a directory or owner/name@revision (default for e3-demo: the bundled tiny model)
  --environment E          math (e3 default) or target-token (e3-demo default); must be the validator's
  --problems FILE          MATH problem set (as the validator's)
  --hotkey SURI            Miner hotkey secret URI (or env RELIQUARY_HOTKEY); e3-demo defaults to a dev key
  --hub-url URL            Hub to download checkpoints from (default https://huggingface.co)
  --cache-dir DIR          Verified checkpoint snapshots (default ./reliquary-miner)
  --picker P               frontier (default) or uniform
  --groups N               Groups attempted per window (default 4)
  --windows N              Stop after N windows (default: run until Ctrl-C)
  --seed S                 Seed of the picker and of sampling (default 0)
  --backend B              wasm (default), cpu, webgpu, tensorflow
  -h, --help               Show this help`,
} as const
