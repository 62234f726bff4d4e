import type { ValidatorEvent } from '../validator/createValidator.js'
import { fmt, pad } from './_format.js'
import type { DemoContext } from './demoContext.js'

/**
 * The demo's live progress from the validator's events: window open, every reject and verdict,
 * seal (which also ends the miners' work on the window), GRPO step, publish. Published
 * checkpoints are recorded for the summary.
 * @internal
 */
export function logValidatorEvent(ctx: DemoContext, e: ValidatorEvent): void {
  const { log } = ctx
  switch (e.type) {
    case 'open':
      log(
        `window ${e.windowN} open · drand round ${e.round} · randomness ${e.randomness.slice(0, 12)}… · checkpoint ${e.checkpointN}`,
      )
      break
    case 'submission': {
      const s = e.submission
      if (s.stage === 'handler' && s.accepted) break
      const who =
        s.hotkey === null
          ? '(unparsed body)'
          : (ctx.labels.get(s.hotkey) ?? `${s.hotkey.slice(0, 8)}…`)
      log(
        `  w${e.windowN} ${pad(who, 18)} ${s.stage === 'worker' ? 'verdict' : `HTTP ${s.status}`}: ${s.reason}`,
      )
      break
    }
    case 'sealed':
      ctx.seal.sealed = e.windowN
      ctx.seal.onSealed?.()
      log(
        `  w${e.windowN} sealed (${e.reason}): ${e.validSubmissions} valid submission(s), batch of ${e.batchSize}${e.trained ? '' : ' (partial: no training)'}`,
      )
      break
    case 'trained':
      log(
        `  w${e.windowN} GRPO step: loss ${fmt(e.loss, 5)} · KL ${fmt(e.kl, 6)} · lr ${e.learningRate.toExponential(2)} · ${e.rolloutsUsed} rollouts`,
      )
      break
    case 'train_failed':
      log(`  w${e.windowN} training failed: ${e.error}`)
      break
    case 'published':
      ctx.checkpoints.push({ windowN: e.windowN, checkpointN: e.checkpointN, revision: e.revision })
      log(
        `  w${e.windowN} published checkpoint ${e.checkpointN} to the local hub: ${e.repoId}@${e.revision.slice(0, 12)}… (custody manifest signed)`,
      )
      break
    case 'publish_failed':
      log(`  w${e.windowN} publish failed: ${e.error}`)
      break
    default:
      break
  }
}
