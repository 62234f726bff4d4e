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
    const unsigned: { index: number; commit: LooseCommit | null | undefined }[] = []
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
      } else unsigned.push({ index, commit })
    }
    const bare = await grailOnly(
      unsigned.map((u) => ({ commit: u.commit, randomness: randomnessOf(u.commit) })),
      evaluator,
      profile,
    )
    for (const [j, { index }] of unsigned.entries()) out[index] = { ...bare[j]!, index }
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

/**
 * Unsigned commits: GRAIL against the local model only, every well-formed commit in one batched
 * evaluation (`evaluateBatch` where the evaluator has it, one `evaluate` per commit otherwise).
 */
async function grailOnly(
  items: readonly { commit: LooseCommit | null | undefined; randomness: string }[],
  evaluator: RolloutEvaluator,
  profile: ProtocolProfile,
): Promise<Omit<CliRolloutVerdict, 'index'>[]> {
  type Commitments = Parameters<typeof verifySketch>[0]['commitments']
  const live: { i: number; tokens: number[]; commitments: Commitments; randomness: string }[] = []
  const out: Omit<CliRolloutVerdict, 'index'>[] = items.map(({ commit, randomness }, i) => {
    const tokens = commit?.tokens
    const commitments = commit?.commitments
    if (Array.isArray(tokens) && Array.isArray(commitments))
      live.push({
        i,
        tokens: tokens as number[],
        commitments: commitments as Commitments,
        randomness,
      })
    return {
      accepted: false,
      reason: 'bad_schema',
      detail: 'tokens and commitments are required',
      sketchDiffMax: null,
      passed: null,
    }
  })
  const temperature = profile.sampling.temperature
  const requests = live.map((l) => ({
    tokens: l.tokens,
    hiddenRows: challengeIndices({ tokens: l.tokens, randomness: l.randomness, profile }),
  }))
  const evs = evaluator.evaluateBatch
    ? requests.length > 0
      ? await evaluator.evaluateBatch(requests, { temperature })
      : []
    : await sequential(requests, (r) => evaluator.evaluate(r.tokens, { ...r, temperature }))
  for (const [j, l] of live.entries()) {
    const v = verifySketch({
      tokens: l.tokens,
      commitments: l.commitments,
      randomness: l.randomness,
      hidden: evs[j]!.hidden,
      hiddenRows: 'challenges',
      profile,
    })
    out[l.i] = {
      accepted: v.valid,
      reason: v.valid ? null : 'grail_fail',
      detail: 'signature not checked (no miner hotkey)',
      sketchDiffMax: v.sketchDiffMax,
      passed: `${v.passed}/${v.checked}`,
    }
  }
  return out
}

async function sequential<T, U>(xs: readonly T[], fn: (x: T) => Promise<U>): Promise<U[]> {
  const out: U[] = []
  for (const x of xs) out.push(await fn(x))
  return out
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
