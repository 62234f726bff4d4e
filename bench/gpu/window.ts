// Whole-window verification on the gpu kernels, for bench/gpu/kernels.ts: 8 groups x 8 rollouts of
// T tokens, every per-rollout check of an E3 validator (schema, token bounds, prompt binding, commit
// signature, randomness binding, GRAIL sketches at the challenged positions, termination, logprob,
// distribution) through `verifyRollout` with the GPU evaluator, from commits in memory to verdicts.
// The commits are made first (untimed) by an honest prover on the same GPU model: 8 distinct
// rollouts, one per group member, reused by every group (verification does the same work for each).
import * as tf from '@tensorflow/tfjs-core'
import {
  createHotkey,
  defineProfile,
  e3,
  proveRollout,
  verifyRollout,
  type VerifyRolloutReturnType,
} from '../../src/index.js'
import {
  createGpuRolloutEvaluator,
  gpuEvaluateRollout,
  type GpuModel,
} from '../../src/gpu/index.js'

const gpuBytes = () =>
  (tf.memory() as unknown as { numBytesAllocatedInGPU?: number }).numBytesAllocatedInGPU

/** Runs `fn` over `items` with at most `c` in flight; results in order. */
async function pool<T, R>(items: readonly T[], c: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i]!)
    }
  }
  await Promise.all(Array.from({ length: c }, worker))
  return out
}

export async function verifyWindow(
  gm: GpuModel,
  o: { groups: number; perGroup: number; seqLen: number; concurrency: number },
) {
  const V = gm.config.vocabSize
  const eos = gm.config.eosTokenIds
  const profile = defineProfile(e3, { id: 'gpu-bench', sampling: { maxNewTokensCap: o.seqLen } })
  const hotkey = await createHotkey('//Alice')
  const randomness = 'ab'.repeat(32)
  const P = 64
  const prompt = Array.from({ length: P }, (_, j) => 1 + ((j * 7919) % (V - 1)))
  const tp = performance.now()
  const commits: unknown[] = []
  for (let m = 0; m < o.perGroup; m++) {
    const tokens = [...prompt]
    for (let j = P; j < o.seqLen; j++) tokens.push(1 + ((j * 7919 + m * 104729) % (V - 1)))
    if (eos.length) tokens[o.seqLen - 1] = eos[0]!
    const ev = await gpuEvaluateRollout(gm, tokens, {
      hiddenRows: Array.from({ length: o.seqLen }, (_, i) => i),
      temperature: profile.sampling.temperature,
    })
    commits.push(
      await proveRollout({
        tokens,
        promptLength: P,
        hidden: ev.hidden,
        tokenLogprobs: Array.from(ev.scores.logprobs.subarray(P)),
        randomness,
        hotkey,
        modelName: 'bench',
        profile,
      }),
    )
  }
  const proveS = (performance.now() - tp) / 1000
  const evaluator = createGpuRolloutEvaluator(gm)
  const jobs = Array.from({ length: o.groups * o.perGroup }, (_, i) => commits[i % o.perGroup])
  const t0 = performance.now()
  const verdicts: VerifyRolloutReturnType[] = await pool(jobs, o.concurrency, (commit) =>
    verifyRollout({
      commit,
      minerHotkey: hotkey.address,
      randomness,
      promptTokens: prompt,
      model: evaluator,
      profile,
    }),
  )
  const s = (performance.now() - t0) / 1000
  const reasons: Record<string, number> = {}
  for (const v of verdicts)
    reasons[v.reason ?? 'accepted'] = (reasons[v.reason ?? 'accepted'] ?? 0) + 1
  const v0 = verdicts[0]!
  return {
    precision: gm.precision,
    rollouts: jobs.length,
    seq_len: o.seqLen,
    concurrency: o.concurrency,
    seconds: s,
    per_rollout_s: s / jobs.length,
    verdicts: reasons,
    checks_run: {
      grail: v0.grail !== null,
      termination: v0.termination !== null,
      logprob: v0.logprob !== null,
      distribution: v0.distribution !== null,
    },
    logprob_median_dev: v0.logprob?.medianDev ?? null,
    prove_s_untimed: proveS,
    gpu_bytes_allocated: gpuBytes(),
  }
}
