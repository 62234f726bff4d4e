// A minimal validator: the SDK's validator service and window loop on the bundled tiny model, a
// local BLS drand chain and the target-token environment (the e3-demo profile), no network.
// It prints the `reliquary miner` command that points a miner at it (examples/custom-miner.ts
// takes the same --validator, --drand-genesis and --drand-period options).
//
//   npx tsx examples/minimal-validator.ts            # one short window, then exit
//   npx tsx examples/minimal-validator.ts 1000 8080  # 1000 windows on port 8080; start miners meanwhile
//
// For the live network use `reliquary validator` (quicknet over HTTP, your hotkey, a Hub repo).
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHotkey, defineProfile } from 'reliquary'
import { bundledModelDir, createDemoProfile, createTargetTokenEnvironment } from 'reliquary/demo'
import { createLocalBeaconChain } from 'reliquary/drand'
import { loadTokenizer, useBackend } from 'reliquary/model'
import { runValidator } from 'reliquary/validator'

const windows = Number(process.argv[2] ?? 1)
const port = Number(process.argv[3] ?? 0)
await useBackend('wasm')

const modelDir = bundledModelDir()
const tokenizer = await loadTokenizer(modelDir)
const environment = createTargetTokenEnvironment({ tokenizer })
const chain = createLocalBeaconChain({
  genesisTime: Math.floor(Date.now() / 1000) - 4,
  periodSeconds: 2,
})
// e3 rules with the demo's numbers; a window without enough groups ends after 8 s here.
const profile = defineProfile(
  createDemoProfile({
    genesisTime: chain.info.genesis_time,
    periodSeconds: chain.info.period,
    chainHash: chain.info.hash,
  }),
  {
    id: 'e3-demo-short',
    window: { windowTimeoutSeconds: 8 },
  },
)
const hotkey = await createHotkey('//my-validator') // your validator hotkey's secret URI

const { reports, ema } = await runValidator({
  profile,
  modelDir,
  environment,
  tokenizer,
  hotkey,
  beacons: chain,
  windows,
  archiveDir: await mkdtemp(join(tmpdir(), 'validator-')),
  server: { port },
  onStart: (v) => {
    console.log(`validator ${hotkey.address} on ${v.url}, profile ${profile.id}`)
    console.log(
      `miner: npx reliquary miner --profile e3-demo --validator ${v.url} --validator-hotkey ${hotkey.address} --drand-genesis ${chain.info.genesis_time} --drand-period ${chain.info.period}`,
    )
  },
  onEvent: (e) => {
    if (e.type === 'open') console.log(`window ${e.windowN} open (drand round ${e.round})`)
    if (e.type === 'sealed')
      console.log(
        `window ${e.windowN} sealed (${e.reason}) with ${e.validSubmissions} valid submission(s)`,
      )
    if (e.type === 'trained')
      console.log(
        `window ${e.windowN} GRPO step: loss ${e.loss.toFixed(5)}, KL ${e.kl.toExponential(2)}`,
      )
  },
})
for (const r of reports)
  console.log(`window ${r.windowN}: ${r.sealReason}, batch ${r.batchSize}, trained ${r.trained}`)
console.log(
  `EMA weights: ${[...ema].map(([k, w]) => `${k.slice(0, 8)}… ${w.toFixed(4)}`).join(', ') || 'none yet'}`,
)
