import { readFile } from 'node:fs/promises'
import { ReliquaryError } from '../errors/base.js'
import { getProfile } from '../protocol/profiles.js'
import { verifyRollout } from '../rollout/verifyRollout.js'
import { verifySketch } from '../grail/verifySketch.js'
import { challengeIndices } from '../grail/challenge.js'

/** The fields of an untrusted `commit` object this command reads before the checks see it. */
type LooseCommit = {
  tokens?: unknown
  commitments?: unknown
  signature?: unknown
  beacon?: { randomness?: unknown } | null
  rollout?: { prompt_length?: unknown } | null
}

async function readJson(path: string, maxBytes = 256 << 20): Promise<unknown> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    throw new ReliquaryError('INVALID_ARGUMENT', `Cannot read "${path}".`, { cause: e })
  }
  if (text.length > maxBytes)
    throw new ReliquaryError('PAYLOAD_TOO_LARGE', `"${path}" is larger than ${maxBytes} bytes.`)
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new ReliquaryError('JSON_INVALID', `"${path}" is not JSON.`, { cause: e })
  }
}

/** One rollout's verdict as the CLI prints it. */
export type CliRolloutVerdict = {
  index: number
  accepted: boolean
  reason: string | null
  detail: string | null
  sketchDiffMax: number | null
  passed: string | null
}

/**
 * `reliquary verify`: judges a submission (`/submit` body in the reference layout) or a single
 * `commit` object with the validator's per-rollout checks on a local model. Without a miner
 * hotkey (a bare commit) the signature check cannot run and is reported as skipped; GRAIL and the
 * behavioural checks still run.
 */
export async function verifyCommand(o: {
  file: string
  model: string
  randomness?: string | undefined
  profile?: string | undefined
  hotkey?: string | undefined
  promptLength?: number | undefined
  hubUrl?: string | undefined
}): Promise<{ accepted: boolean; rollouts: CliRolloutVerdict[] }> {
  const profile = getProfile(o.profile ?? 'e3')
  const doc = (await readJson(o.file)) as Record<string, unknown>
  const commits: unknown[] = Array.isArray(doc.rollouts)
    ? (doc.rollouts as { commit?: unknown }[]).map((r) => r?.commit)
    : [doc.commit ?? doc]
  const hotkey =
    o.hotkey ?? (typeof doc.miner_hotkey === 'string' ? (doc.miner_hotkey as string) : undefined)
  const { loadModel, resolveCheckpoint, createRolloutEvaluator, evaluateRollout } = await import(
    '../model/index.js'
  )
  const model = await loadModel(await resolveCheckpoint(o.model, { hubUrl: o.hubUrl }))
  try {
    const evaluator = createRolloutEvaluator(model)
    const out: CliRolloutVerdict[] = []
    for (const [index, c] of commits.entries()) {
      const commit = c as LooseCommit | null | undefined
      const randomness = o.randomness ?? (commit?.beacon?.randomness as string | undefined) ?? ''
      if (hotkey && typeof commit?.signature === 'string') {
        const P = Number(commit?.rollout?.prompt_length ?? o.promptLength ?? 0)
        const tokens = Array.isArray(commit?.tokens) ? (commit.tokens as number[]) : []
        const v = await verifyRollout({
          commit,
          minerHotkey: hotkey,
          randomness,
          promptTokens: tokens.slice(0, P),
          model: evaluator,
          profile,
        })
        out.push({
          index,
          accepted: v.ok,
          reason: v.reason,
          detail: v.detail,
          sketchDiffMax: v.grail?.sketchDiffMax ?? null,
          passed: v.grail ? `${v.grail.passed}/${v.grail.checked}` : null,
        })
        continue
      }
      // Unsigned commit: GRAIL against the local model only.
      const tokens = commit?.tokens
      const commitments = commit?.commitments
      if (!Array.isArray(tokens) || !Array.isArray(commitments)) {
        out.push({
          index,
          accepted: false,
          reason: 'bad_schema',
          detail: 'tokens and commitments are required',
          sketchDiffMax: null,
          passed: null,
        })
        continue
      }
      const rows = challengeIndices({ tokens, randomness, profile })
      const ev = await evaluateRollout(model, tokens, {
        hiddenRows: rows,
        temperature: profile.sampling.temperature,
      })
      const v = verifySketch({
        tokens,
        commitments,
        randomness,
        hidden: ev.hidden,
        hiddenRows: 'challenges',
        profile,
      })
      out.push({
        index,
        accepted: v.valid,
        reason: v.valid ? null : 'grail_fail',
        detail: 'signature not checked (no miner hotkey)',
        sketchDiffMax: v.sketchDiffMax,
        passed: `${v.passed}/${v.checked}`,
      })
    }
    return { accepted: out.every((r) => r.accepted), rollouts: out }
  } finally {
    model.dispose()
  }
}

/** `reliquary manifest verify`: a reference manifest (`/checkpoint`) or a custody manifest, from a file or URL. */
export async function manifestVerifyCommand(o: {
  source: string
  validator: string
  fetch?: typeof fetch | undefined
}): Promise<{ valid: boolean; kind: 'reference' | 'custody'; detail: string }> {
  let doc: unknown
  if (/^https?:\/\//.test(o.source)) {
    const res = await (o.fetch ?? fetch)(o.source, { signal: AbortSignal.timeout(15_000) })
    const text = await res.text()
    if (text.length > 1 << 20)
      throw new ReliquaryError('PAYLOAD_TOO_LARGE', 'The manifest is larger than 1 MiB.')
    try {
      doc = JSON.parse(text)
    } catch (e) {
      throw new ReliquaryError('JSON_INVALID', 'The manifest is not JSON.', { cause: e })
    }
  } else doc = await readJson(o.source, 1 << 20)
  const m = await import('../manifest/index.js')
  if (doc && typeof doc === 'object' && 'format' in (doc as object)) {
    const v = await m.verifyCustodyManifest(doc, { trustedSigners: [o.validator] })
    return {
      valid: v.valid,
      kind: 'custody',
      detail: v.valid
        ? `checkpoint ${v.manifest.checkpoint_n}, digest ${v.digest}`
        : `${v.field}: ${v.reason}`,
    }
  }
  const v = await m.verifyManifest(doc, o.validator)
  return {
    valid: v.valid,
    kind: 'reference',
    detail: v.valid
      ? `checkpoint ${v.manifest.checkpoint_n} at ${v.manifest.revision}`
      : `${v.reason}: ${v.message}`,
  }
}
