/**
 * Shared plumbing of grpoLoss and grpoStep: option resolution, reading scalar tensors, and
 * folding per-rollout numbers into batch metrics.
 * @internal
 */
import * as tf from '@tensorflow/tfjs-core'
import type { PlannedRollout } from './_plan.js'
import { resolveGrpoOptions } from './resolveGrpoOptions.js'
import type {
  GrpoBatchMetrics,
  GrpoOptions,
  GrpoRolloutTerms,
  ResolvedGrpoOptions,
} from './types.js'

/** Resolves either options shape (already-resolved options pass through). */
export function toResolved(options: GrpoOptions | ResolvedGrpoOptions): ResolvedGrpoOptions {
  return 'profileId' in options && typeof options.profileId === 'string'
    ? (options as ResolvedGrpoOptions)
    : resolveGrpoOptions(options as GrpoOptions)
}

/** Accumulates per-rollout numbers into batch metrics. */
export class MetricsAccumulator {
  loss = 0
  private ppoSum = 0
  private klSum = 0
  private clipped = 0
  private used = 0
  readonly terms: GrpoRolloutTerms[] = []

  constructor(private readonly o: ResolvedGrpoOptions) {}

  skip(r: PlannedRollout): void {
    this.terms.push({
      group: r.group,
      index: r.index,
      advantage: r.advantage,
      used: false,
      skipReason: r.skipReason,
      tokens: 0,
      ppoLoss: null,
      kl: null,
      clippedTokens: 0,
    })
  }

  add(
    r: PlannedRollout,
    v: {
      loss: number
      ppoMean: number
      klMean: number
      ppoSum: number
      klSum: number
      clipped: number
    },
  ): void {
    this.loss += v.loss
    const rolloutMode = this.o.normalization === 'rollout'
    // The reference logs Σ ppo_loss.item() / n_processed; token mode reports the token mean.
    this.ppoSum += rolloutMode ? v.ppoMean : v.ppoSum
    this.klSum += rolloutMode ? v.klMean : v.klSum
    this.clipped += v.clipped
    this.used++
    this.terms.push({
      group: r.group,
      index: r.index,
      advantage: r.advantage,
      used: true,
      skipReason: null,
      tokens: r.oldLogprobs.length,
      ppoLoss: v.ppoMean,
      kl: v.klMean,
      clippedTokens: v.clipped,
    })
  }

  result(plan: {
    skippedGroups: number
    skippedRollouts: number
    rolloutsTotal: number
    tokensUsed: number
  }): GrpoBatchMetrics {
    const denom = this.o.normalization === 'rollout' ? this.used : plan.tokensUsed
    return {
      loss: this.loss,
      ppoLoss: denom > 0 ? this.ppoSum / denom : 0,
      kl: denom > 0 ? this.klSum / denom : 0,
      clippedFraction: plan.tokensUsed > 0 ? this.clipped / plan.tokensUsed : 0,
      skippedGroups: plan.skippedGroups,
      skippedRollouts: plan.skippedRollouts,
      rolloutsUsed: this.used,
      rolloutsTotal: plan.rolloutsTotal,
      tokensUsed: plan.tokensUsed,
    }
  }
}

/** Reads scalar tensors as numbers (with `await data()`) and disposes them. */
export async function readScalars<K extends string>(
  t: Record<K, tf.Scalar>,
): Promise<Record<K, number>> {
  const out = {} as Record<K, number>
  try {
    for (const k of Object.keys(t) as K[]) out[k] = (await t[k].data())[0] as number
  } finally {
    tf.dispose(Object.values(t) as tf.Tensor[])
  }
  return out
}
