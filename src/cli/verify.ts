import { readFile } from 'node:fs/promises'
import { ReliquaryError } from '../errors/base.js'
import { getProfile, type ProtocolProfile } from '../protocol/profiles.js'
import {
  verifyRollouts,
  type RolloutEvaluator,
  type VerifyRolloutParameters,
} from '../rollout/verifyRollout.js'
import { verifySketch } from '../grail/verifySketch.js'
import { challengeIndices } from '../grail/challenge.js'
import { fetchOrFail, networkError } from './_report.js'

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
 * behavioural checks still run. On the webgpu backend the model runs on the gpu kernels at
 * `precision` (`f32` default, the path that reproduces the reference's numbers; `f16` for tensor
 * cores) and the signed rollouts are evaluated in batched forwards (`verifyRollouts`).
 */
export async function verifyCommand(o: {
  file: string
  model: string
  randomness?: string | undefined
  profile?: string | undefined
  hotkey?: string | undefined
  promptLength?: number | undefined
  hubUrl?: string | undefined
  precision?: 'f32' | 'f16' | undefined
}): Promise<{
  accepted: boolean
  /** Where the window randomness came from: `--randomness`, or each commit's own beacon. */
  randomnessFrom: 'option' | 'beacon'
  rollouts: CliRolloutVerdict[]
}> {
  const profile = getProfile(o.profile ?? 'e3')
  const doc = (await readJson(o.file)) as Record<string, unknown>
  const commits: unknown[] = Array.isArray(doc.rollouts)
    ? (doc.rollouts as { commit?: unknown }[]).map((r) => r?.commit)
    : [doc.commit ?? doc]
  const randomnessOf = (commit: LooseCommit | null | undefined): string => {
    const r = o.randomness ?? commit?.beacon?.randomness
    if (typeof r === 'string' && r !== '') return r
    throw new ReliquaryError(
      'CLI_USAGE',
      `Rollout ${commits.indexOf(commit)} has no beacon randomness and no --randomness was given.`,
      { hints: ["Pass --randomness HEX: the validator's randomness of the window."] },
    )
  }
  // Checked before the model loads: a missing randomness is a usage error, never an empty string.
  for (const c of commits) randomnessOf(c as LooseCommit | null | undefined)
  const hotkey =
    o.hotkey ?? (typeof doc.miner_hotkey === 'string' ? (doc.miner_hotkey as string) : undefined)
  const { evaluator, dispose } = await openEvaluator(o)
  try {
    const out: (CliRolloutVerdict | undefined)[] = commits.map(() => undefined)
    const signed: { index: number; p: Omit<VerifyRolloutParameters, 'model' | 'profile'> }[] = []
    for (const [index, c] of commits.entries()) {
      const commit = c as LooseCommit | null | undefined
      const randomness = randomnessOf(commit)
      if (hotkey && typeof commit?.signature === 'string') {
        const P = Number(commit?.rollout?.prompt_length ?? o.promptLength ?? 0)
        const tokens = Array.isArray(commit?.tokens) ? (commit.tokens as number[]) : []
        signed.push({
          index,
          p: { commit, minerHotkey: hotkey, randomness, promptTokens: tokens.slice(0, P) },
        })
        continue
      }
      out[index] = { ...(await grailOnly(commit, randomness, evaluator, profile)), index }
    }
    const verdicts = await verifyRollouts({
      rollouts: signed.map((s) => s.p),
      model: evaluator,
      profile,
    })
    for (const [j, { index }] of signed.entries()) {
      const v = verdicts[j]!
      out[index] = {
        index,
        accepted: v.ok,
        reason: v.reason,
        detail: v.detail,
        sketchDiffMax: v.grail?.sketchDiffMax ?? null,
        passed: v.grail ? `${v.grail.passed}/${v.grail.checked}` : null,
      }
    }
    const rollouts = out as CliRolloutVerdict[]
    return {
      accepted: rollouts.every((r) => r.accepted),
      randomnessFrom: o.randomness !== undefined ? 'option' : 'beacon',
      rollouts,
    }
  } finally {
    dispose()
  }
}

/** The model as a RolloutEvaluator: the gpu kernels on the webgpu backend, TF.js ops elsewhere. */
async function openEvaluator(o: {
  model: string
  hubUrl?: string | undefined
  precision?: 'f32' | 'f16' | undefined
}): Promise<{ evaluator: RolloutEvaluator; dispose: () => void }> {
  const { loadModel, resolveCheckpoint, createRolloutEvaluator } = await import('../model/index.js')
  const dir = await resolveCheckpoint(o.model, { hubUrl: o.hubUrl })
  const tf = await import('@tensorflow/tfjs-core')
  if (tf.getBackend() !== 'webgpu') {
    if (o.precision === 'f16')
      throw new ReliquaryError('INVALID_ARGUMENT', '--precision f16 needs --backend webgpu.')
    const model = await loadModel(dir)
    return { evaluator: createRolloutEvaluator(model), dispose: () => model.dispose() }
  }
  // Straight from the checkpoint to GPU buffers at the precision (no float32 TF.js model); the
  // memory pre-check reads RELIQUARY_GPU_MEMORY_BYTES.
  const gpu = await import('../gpu/index.js')
  const gm = await gpu.loadGpuModel(dir, { precision: o.precision ?? 'f32' })
  return { evaluator: gpu.createGpuRolloutEvaluator(gm), dispose: () => gm.dispose() }
}

/** Unsigned commit: GRAIL against the local model only. */
async function grailOnly(
  commit: LooseCommit | null | undefined,
  randomness: string,
  evaluator: RolloutEvaluator,
  profile: ProtocolProfile,
): Promise<Omit<CliRolloutVerdict, 'index'>> {
  const tokens = commit?.tokens
  const commitments = commit?.commitments
  if (!Array.isArray(tokens) || !Array.isArray(commitments))
    return {
      accepted: false,
      reason: 'bad_schema',
      detail: 'tokens and commitments are required',
      sketchDiffMax: null,
      passed: null,
    }
  const rows = challengeIndices({ tokens, randomness, profile })
  const ev = await evaluator.evaluate(tokens, {
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
  return {
    accepted: v.valid,
    reason: v.valid ? null : 'grail_fail',
    detail: 'signature not checked (no miner hotkey)',
    sketchDiffMax: v.sketchDiffMax,
    passed: `${v.passed}/${v.checked}`,
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
    const res = await fetchOrFail(o.source, { fetch: o.fetch })
    let text: string
    try {
      text = await res.text()
    } catch (e) {
      throw networkError(o.source, e)
    }
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
