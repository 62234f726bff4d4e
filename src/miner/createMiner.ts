import { ReliquaryError } from '../errors/base.js'
import { generateGroup } from './generateGroup.js'
import { loadBootstrapModel } from './loadBootstrapModel.js'
import { createMinerLedger } from './minerLedger.js'
import { createMinerLog, type MinerContext } from './minerContext.js'
import { newGroupRecord } from './newGroupRecord.js'
import { nextCheat } from './nextCheat.js'
import { pickPrompt } from './pickPrompt.js'
import { planWindow } from './planWindow.js'
import { proveGroup } from './proveGroup.js'
import { readVerdicts } from './readVerdicts.js'
import { resolveMinerConfig } from './resolveMinerConfig.js'
import { screenGroup } from './screenGroup.js'
import { submitGroup } from './submitGroup.js'
import { syncCheckpoint } from './syncCheckpoint.js'
import type { PromptPicker } from './promptPicker.js'
import type { CreateMinerParameters, GroupRecord, Miner, MinerWindowReport } from './types.js'
import { createValidatorClient } from './validatorClient.js'
import { waitForOpenWindow } from './waitForOpenWindow.js'
import { windowReport } from './windowReport.js'

/**
 * Creates a Reliquary miner for the E3 wire (docs/protocol.md §3, §4.3): it polls the validator's
 * `/state`, keeps its model on the announced checkpoint (downloaded and verified with
 * `downloadCheckpoint`: reference manifest signature, commit title, custody chain and every file
 * digest, before anything is loaded), picks prompts with its {@link PromptPicker} (skipping the
 * `/state` cooldown prompts), generates M = `profile.group.rolloutsPerGroup` rollouts per prompt
 * with the protocol sampling (`profile.sampling` temperature, top-p, top-k; at most
 * `maxNewTokensCap − prompt length` new tokens; stops at EOS), rewards each decoded completion
 * with `environment.computeReward`, proves each rollout with `proveWithModel` against
 * `/state.randomness`, and posts a signed request per group (merkle root, `checkpoint_hash` `""`
 * while `checkpoint_n` is 0 and the revision verbatim afterwards, `drand_round` current at send
 * time, a random 16-byte nonce, the envelope signature). Each group is sent as soon as it is
 * proven (an earlier drand round orders first). Verdicts are then read back from
 * `/verdicts/{hotkey}` and counted in {@link MinerStats}; each generated group's rewards are fed
 * to the picker once the verdicts are in (or `verdictTimeoutMs` passed: a late verdict is still
 * counted by a later `runWindow`).
 *
 * Local filters keep back groups the validator would certainly reject: out of the zone
 * (`skipOutOfZone`), or with a rollout that keeps repeating an earlier one of its group
 * (`hash_duplicate`; see `duplicateResamples`). Nothing is loaded until the first `runWindow`.
 * Prompt text is encoded without special tokens, as the validator does to bind
 * `tokens[:prompt_length]` (§2.4).
 *
 * `strategy: 'cheat'` is the demo's adversary: each group uses, in rotation, fabricated
 * sketches, lied rewards, or a replay of a group proven in an earlier window (see
 * {@link CheatKind}); a correct validator rejects every one of them. It is only for tests and
 * demonstrations.
 *
 * - Spec: docs/protocol.md §1.9, §1.10 (E3 randomness), §3.1–§3.5, §4.3, §9 (checkpoint
 *   verification).
 *
 * @param parameters - {@link CreateMinerParameters}
 * @returns A {@link Miner}.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for missing or malformed parameters, or a profile
 *   that is not E3-ordered. `runWindow` rejects with the checkpoint verification error
 *   (`HUB_REFERENCE_MANIFEST_INVALID`, `HUB_CUSTODY_INVALID`, `MANIFEST_FILES_MISMATCH`, …) when
 *   an announced checkpoint does not verify (nothing is generated with it), `SCHEMA_INVALID` /
 *   `JSON_INVALID` when the validator sends a malformed document, and with the signal's reason
 *   when aborted.
 * @example
 * ```ts
 * // src/miner/index.ts (no package entry point exports it yet)
 * import { createMiner, createFrontierPicker } from './src/miner/index.js'
 * const miner = createMiner({
 *   validatorUrl: 'http://127.0.0.1:8888', hotkey, modelDir: './Qwen3-4B', environment,
 *   picker: createFrontierPicker({ size: environment.size, seed: 1 }), now: () => Date.now() / 1000,
 *   drand: { genesisTime: 1692803367, periodSeconds: 3 }, validatorHotkey,
 *   hub: { cacheDir: 'state/hub', baseModel: { id: 'Qwen/Qwen3-4B', revision: baseSha } },
 *   groupsPerWindow: 4, seed: 7,
 * })
 * for (;;) console.log((await miner.runWindow()).stats)
 * ```
 */
export function createMiner(parameters: CreateMinerParameters): Miner {
  const config = resolveMinerConfig(parameters)
  const log = createMinerLog(parameters.log)
  const ctx: MinerContext = {
    config,
    log,
    http: createValidatorClient(config.validatorUrl, config.fetchImpl, log),
    ledger: createMinerLedger(),
    state: {
      loading: null,
      model: null,
      tokenizer: null,
      checkpoint: { n: 0, revision: '', dir: config.modelDir },
      groupCounter: 0,
      cheatCycle: 0,
      replayStash: [],
      tried: { windowN: -1, prompts: new Set() },
    },
  }
  let disposed = false
  let chain: Promise<unknown> = Promise.resolve()
  return Object.freeze({
    runWindow(signal?: AbortSignal): Promise<MinerWindowReport> {
      const run = chain.then(() => {
        if (disposed)
          throw new ReliquaryError('INVALID_ARGUMENT', 'This miner was disposed.', {
            hints: ['Create a new miner.'],
          })
        return mineWindow(ctx, signal)
      })
      chain = run.catch(() => undefined)
      return run
    },
    stats: () => ctx.ledger.stats(),
    dispose(): void {
      if (disposed) return
      disposed = true
      void chain.then(() => {
        ctx.state.model?.dispose()
        ctx.state.model = null
      })
    },
  })
}

/**
 * One window, in the protocol's order: wait for the window to open, sync the checkpoint, then
 * per group pick a prompt, generate, screen, prove and submit; finally read the verdicts. The
 * picker hears every generated group's rewards (the miner's own measurement whatever the
 * verdict) and gets back every prompt it handed out but no group used.
 */
async function mineWindow(
  ctx: MinerContext,
  signal: AbortSignal | undefined,
): Promise<MinerWindowReport> {
  signal?.throwIfAborted()
  await loadBootstrapModel(ctx)
  const s = await waitForOpenWindow(ctx, signal)
  const downloaded = await syncCheckpoint(ctx, s, signal)
  const window = planWindow(ctx, s)
  const { windowN: w, slots } = window
  const checkpointN = ctx.state.checkpoint.n
  ctx.log(
    'info',
    'window_open',
    `mining window ${w} (${slots} group(s), checkpoint ${checkpointN})`,
    {
      windowN: w,
      checkpointN,
    },
  )
  const groups: GroupRecord[] = []
  const inFlight = new Set<number>()
  try {
    for (let slot = 0; slot < slots; slot++) {
      signal?.throwIfAborted()
      const cheat = ctx.config.strategy === 'cheat' ? nextCheat(ctx, window) : null
      if (cheat?.replay) {
        const { promptIdx, windowN: provenInWindow, rewards, rollouts } = cheat.replay
        const g = newGroupRecord({
          promptIdx,
          kind: 'replay',
          windowN: w,
          provenInWindow,
          rewards,
          picked: false,
        })
        groups.push(g)
        await submitGroup(ctx, g, window, rollouts, signal)
        ctx.state.cheatCycle++
        continue
      }
      const t0 = performance.now()
      const promptIdx = pickPrompt(ctx, window)
      if (promptIdx === undefined) break
      const predicted = ctx.config.picker.predict?.(promptIdx) ?? null
      inFlight.add(promptIdx)
      const t1 = performance.now()
      const gen = await generateGroup(ctx, promptIdx, w, signal)
      inFlight.delete(promptIdx)
      const g = screenGroup(ctx, window, promptIdx, gen, cheat)
      groups.push(g)
      const t2 = performance.now()
      if (gen !== null && g.skipped === null) {
        const rollouts = await proveGroup(ctx, window, gen, g, cheat)
        const t3 = performance.now()
        await submitGroup(ctx, g, window, rollouts, signal)
        logGroupTiming(ctx, g, predicted, [t0, t1, t2, t3, performance.now()])
        if (cheat?.advances) ctx.state.cheatCycle++
      } else logGroupTiming(ctx, g, predicted, [t0, t1, t2, t2, t2])
    }
    await readVerdicts(ctx, w, signal)
  } finally {
    for (const prompt of inFlight) ctx.config.picker.release(prompt)
    for (const g of groups) {
      if (g.observed || !g.picked) continue
      g.observed = true
      ctx.config.picker.observe(g.promptIdx, g.rewards, {
        duplicate: g.skipped === 'duplicate_rollouts',
        givenUp: g.skipped === 'given_up',
      })
    }
  }
  return windowReport(ctx, window, groups, downloaded)
}

/**
 * A `group_timing` debug entry: where one group's time went (picking, generating, proving,
 * submitting, in ms) and when it was sent (unix seconds, and the drand round it signed), so a run
 * can be explained without changing it; `predicted` is the picker's in-zone probability for the
 * group at pick time ({@link PromptPicker.predict}), null when the picker has none.
 */
function logGroupTiming(
  ctx: MinerContext,
  g: GroupRecord,
  predicted: number | null,
  t: readonly number[],
): void {
  const ms = (i: number): number => Math.round((t[i + 1]! - t[i]!) * 10) / 10
  ctx.log('debug', 'group_timing', `prompt ${g.promptIdx}: ${ms(1)} ms generating`, {
    windowN: g.windowN,
    promptIdx: g.promptIdx,
    kind: g.kind,
    skipped: g.skipped,
    rewards: g.rewards,
    predicted,
    sigma: g.sigma,
    merkleRoot: g.merkleRoot,
    drandRound: g.drandRound,
    response: g.response?.reason ?? null,
    pickMs: ms(0),
    generateMs: ms(1),
    proveMs: ms(2),
    submitMs: ms(3),
    sentAt: ctx.config.now() - (t[4]! - t[3]!) / 1000,
  })
}
