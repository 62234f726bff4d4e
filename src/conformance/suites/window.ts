import { defineProfile, e1, e3 } from '../../protocol/profiles.js'
import { Cooldown } from '../../window/seal/cooldown.js'
import { selectBatchAndDistribute } from '../../window/seal/selectBatchAndDistribute.js'
import type { WindowSubmission } from '../../window/seal/selectBatchAndDistribute.js'
import { Recorder, cases, vnum } from '../recorder.js'
import type { Suite } from '../types.js'

/** Rewards agree with the reference within this (they are bit-identical on the seed set). */
const FLOAT_TOLERANCE = 1e-12

type VectorSubmission = WindowSubmission & { readonly wire: Record<string, any> }

function toSubmission(s: Record<string, any>): VectorSubmission {
  return {
    hotkey: s.hotkey,
    promptIdx: s.prompt_idx,
    merkleRoot: s.merkle_root,
    ...(s.drand_round !== undefined ? { drandRound: s.drand_round } : {}),
    ...(s.signed_round !== undefined ? { signedRound: s.signed_round } : {}),
    wire: s,
  }
}

function sameWire(a: Record<string, any>, b: Record<string, any>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)])
  for (const k of keys) if (a[k] !== b[k]) return false
  return true
}

/** One `selection[]` case: `{b, current_window, cooldown_windows, cooldown, submissions, batch, rewards_by_hotkey}`. */
function checkSelection(c: Record<string, any>, rec: Recorder): true | string {
  const submissions = (c.submissions as Record<string, any>[]).map(toSubmission)
  // E3 vectors carry drand_round; a legacy (E1) case would carry signed_round instead.
  const legacy =
    submissions.length > 0 &&
    submissions.every((s) => s.drandRound === undefined && s.signedRound !== undefined)
  const base = legacy ? e1 : e3
  const profile = defineProfile(base, {
    id: `${base.id}+selection-vector`,
    group: { batchSize: c.b },
    window: { cooldownWindows: c.cooldown_windows },
  })
  const cooldown = Cooldown.fromSnapshot(c.cooldown ?? {}, { profile })
  const { batch, rewardsByHotkey } = selectBatchAndDistribute(submissions, {
    currentWindow: c.current_window,
    cooldown,
    profile,
  })
  const refBatch = c.batch as Record<string, any>[]
  if (batch.length !== refBatch.length)
    return `batch length ${batch.length}, reference ${refBatch.length}`
  for (let j = 0; j < batch.length; j++) {
    if (!sameWire(batch[j]!.wire, refBatch[j]!))
      return `batch[${j}] is ${batch[j]!.wire.hotkey}/${batch[j]!.wire.prompt_idx}, reference ${refBatch[j]!.hotkey}/${refBatch[j]!.prompt_idx}`
  }
  const ref = c.rewards_by_hotkey as Record<string, unknown>
  const refKeys = Object.keys(ref)
  if (refKeys.length !== rewardsByHotkey.size || refKeys.some((k) => !rewardsByHotkey.has(k))) {
    return `rewarded hotkeys [${[...rewardsByHotkey.keys()].join(', ')}], reference [${refKeys.join(', ')}]`
  }
  let worst = 0
  for (const k of refKeys) worst = Math.max(worst, Math.abs(rewardsByHotkey.get(k)! - vnum(ref[k])))
  rec.metric(worst)
  return worst <= FLOAT_TOLERANCE || `rewards differ by ${worst}`
}

/** Suites over the window vector files: `selection[]` (E3 batch selection and emission split). */
export const windowSuites: Suite[] = [
  {
    id: 'window.selection',
    applies: (doc) => Array.isArray(doc.selection),
    run: (doc) => {
      const rec = new Recorder('max_abs_diff')
      cases(doc, 'selection').forEach((c, i) => {
        rec.guard(`selection[${i}]`, () => checkSelection(c, rec))
      })
      return rec.result()
    },
  },
]
