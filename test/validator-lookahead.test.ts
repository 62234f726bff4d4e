/**
 * createLookaheadVerifier in the admission pipeline: the submission being judged and the ones
 * queued after it go to one batch call within the token budget; each queued submission's kept
 * verdicts are used on its turn; every worker verdict equals the pipeline's without look-ahead;
 * a change of the verify model's weights, or a different commit, is judged again.
 */
import { describe, expect, test } from 'vitest'
import { signCommit } from '../src/crypto/commitSignature.js'
import type { AdmissionVerdict } from '../src/window/admission/admissionTypes.js'
import type { RolloutVerifierParameters } from '../src/window/admission/admissionTypes.js'
import { createLookaheadVerifier } from '../src/validator/lookaheadVerifier.js'
import { e3 } from '../src/protocol/profiles.js'
import { parseSubmission } from '../src/window/admission/runAdmission.js'
import {
  RANDOMNESS,
  T_ROUND,
  buildBody,
  fakeModel,
  hotkeys,
  realBatchVerifier,
  realVerifier,
  setup,
} from './_admission.js'

const at = { arrivalSeconds: T_ROUND }
const now = { nowSeconds: T_ROUND + 0.5 }
const keys = await hotkeys()

/** Five submissions on distinct prompts: four honest, the third with one rollout's sketches forged. */
async function bodies(): Promise<Record<string, any>[]> {
  const out = []
  for (let i = 0; i < 5; i++)
    out.push(await buildBody({ hotkey: keys[i]!, promptIdx: 10 + i, prove: true }))
  const commit = out[2]!.rollouts[1].commit
  commit.commitments = commit.commitments.map((c: { sketch: number }) => ({
    sketch: (c.sketch + 1_000_000_000) % 2_147_483_647,
  }))
  commit.signature = signCommit(keys[2]!, commit)
  return out
}
const tokensOf = (b: Record<string, any>) =>
  b.rollouts.reduce((n: number, r: any) => n + r.commit.tokens.length, 0)

/** Queues every body, then drains the queue; returns the worker verdicts. */
async function run(
  batchVerifier: ReturnType<typeof createLookaheadVerifier>,
  list: Record<string, any>[],
): Promise<AdmissionVerdict[]> {
  const s = setup({ verifier: realVerifier(), batchVerifier })
  for (const b of list)
    expect((await s.pipeline.submit(structuredClone(b), at)).reason).toBe('submitted')
  return s.pipeline.drain(now)
}
const summary = (vs: AdmissionVerdict[]) => vs.map((v) => [v.accepted, v.reason, v.check])

describe('look-ahead batch verification', () => {
  test('queued submissions share a batch call; verdicts equal the plain batch verifier', async () => {
    const list = await bodies()
    const plain = await run(realBatchVerifier(), list)
    expect(plain.filter((v) => v.accepted)).toHaveLength(4)
    expect(plain[2]!.reason).toBe('grail_fail')

    const calls: number[] = []
    const inner = realBatchVerifier(fakeModel(), calls)
    const sizes: number[] = []
    const lookahead = createLookaheadVerifier({
      verify: async (ps) => {
        sizes.push(ps.length)
        return inner(ps)
      },
      // Room for three submissions per call.
      maxBatchTokens: 3 * tokensOf(list[0]!),
      weights: () => [],
    })
    const got = await run(lookahead, list)
    expect(summary(got)).toEqual(summary(plain))
    // Submissions 1-3 in the first call, 4-5 in the second: every rollout judged exactly once.
    expect(sizes).toEqual([24, 16])
    expect(calls).toEqual([24, 16])
  })

  test('a budget of one submission: one call per submission, same verdicts', async () => {
    const list = await bodies()
    const sizes: number[] = []
    const inner = realBatchVerifier()
    const got = await run(
      createLookaheadVerifier({
        verify: async (ps) => {
          sizes.push(ps.length)
          return inner(ps)
        },
        maxBatchTokens: tokensOf(list[0]!),
        weights: () => [],
      }),
      list,
    )
    expect(sizes).toEqual([8, 8, 8, 8, 8])
    expect(summary(got)).toEqual(summary(await run(realBatchVerifier(), list)))
  })

  test('no queued submission past a full batch is built (a queued body may decode on first read)', async () => {
    const list = await bodies()
    // Budget in submissions → which of the four queued after the first had their rollouts read.
    for (const [budget, read] of [
      [1, [0, 0, 0, 0]],
      [3, [1, 1, 0, 0]],
    ] as const) {
      const reads = list.map(() => 0)
      const inner = realBatchVerifier()
      const s = setup({
        verifier: realVerifier(),
        batchVerifier: createLookaheadVerifier({
          verify: async (ps) => inner(ps),
          maxBatchTokens: budget * tokensOf(list[0]!),
          weights: () => [],
        }),
      })
      for (const [i, b] of list.entries()) {
        const parsed = parseSubmission(structuredClone(b), { profile: e3, stage: 'handler' })
        if (!parsed.ok) throw new Error(parsed.reject.detail)
        const { rollouts, ...head } = parsed.request
        const request = Object.defineProperty({ ...head }, 'rollouts', {
          enumerable: true,
          get: () => {
            reads[i]!++
            return rollouts
          },
        }) as typeof parsed.request
        const envelope = { randomness: RANDOMNESS, ok: true }
        expect((await s.pipeline.submit(request, { ...at, envelope })).reason).toBe('submitted')
      }
      expect(reads).toEqual([0, 0, 0, 0, 0]) // the handler stage reads none
      expect(await s.pipeline.processNext(now)).toMatchObject({ accepted: true })
      expect(reads.slice(1).map((n) => Math.min(n, 1))).toEqual(read)
    }
  })

  test('kept verdicts are not used after a weight change or for different parameters', async () => {
    const list = await bodies()
    const s = setup({ verifier: realVerifier() })
    const params = (b: Record<string, any>): RolloutVerifierParameters[] =>
      b.rollouts.map((r: any) => ({
        commit: r.commit,
        minerHotkey: b.miner_hotkey,
        randomness: s.batcher.randomness,
        promptTokens: [110, 7, 8, 9],
        profile: s.pipeline.config.profile,
      }))
    const inner = realBatchVerifier()
    const sizes: number[] = []
    let version: object[] = [{}]
    const v = createLookaheadVerifier({
      verify: async (ps) => {
        sizes.push(ps.length)
        return inner(ps)
      },
      maxBatchTokens: 1 << 20,
      weights: () => version,
    })
    const [a, b, c] = [params(list[0]!), params(list[1]!), params(list[3]!)]
    await v(a, () => [b, c])
    expect(sizes).toEqual([24])
    await v(b) // kept
    expect(sizes).toEqual([24])
    version = [{}] // the verify model changed: c's kept verdicts are stale
    await v(c)
    expect(sizes).toEqual([24, 8])
    // Same commits under another hotkey: judged again, not taken from the look-ahead.
    await v(a, () => [b])
    const other = b.map((r) => ({ ...r, minerHotkey: keys[5]!.address }))
    const verdicts = await v(other)
    expect(sizes).toEqual([24, 8, 16, 8])
    expect(verdicts.every((x) => !x.ok)).toBe(true)
  })
})
