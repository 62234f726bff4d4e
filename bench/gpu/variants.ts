// Named kernel settings of the f16 forward for bench/gpu/kernels.ts (`FORWARD_VARIANTS`,
// `BEST_VARIANT`): GEMM block shape and split-K, attention kernel, fused q/k norm + RoPE. `landed_2x2` is
// the code of main before split-K, the multi-head attention kernel and the fused norm
// (65a7827), so it is the same-call baseline; `defaults` is whatever the library defaults to.
import {
  attentionOptions,
  gemmOptions,
  qkNormRopeOptions,
  type StagedConfig,
  tensorCoreAttentionProbe,
} from '../../src/gpu/index.js'

/** One forward variant. */
export type ForwardVariant = {
  staged: StagedConfig
  /** Tensor-core attention (opt-in kernel). */
  tc: boolean
  /** Query heads per thread in the f32 attention kernel. */
  hpt: number
  /** q/k RMSNorm and RoPE in one dispatch. */
  fused: boolean
  /** Most K parts of a thin product's GEMM (`gemmOptions.splitK`; 1: off). */
  splitK: number
}

const b22 = { bm: 128, bn: 128, sgm: 2, sgn: 2 }
const b24 = { bm: 128, bn: 128, sgm: 2, sgn: 4 }
const base = { staged: b22, tc: false, hpt: 1, fused: false, splitK: 1 }

const defaults = (): ForwardVariant => ({
  staged: { ...gemmOptions.staged! },
  tc: false,
  hpt: attentionOptions.headsPerThread,
  fused: qkNormRopeOptions.fused,
  splitK: gemmOptions.splitK,
})

/** The variants by name (`defaults` read when the module loads: the library's own settings). */
export const VARIANTS: Record<string, ForwardVariant> = {
  defaults: defaults(),
  landed: { ...base, staged: b24 },
  landed_2x2: base,
  tc_attention: { ...base, staged: b24, tc: true },
  tc_attention_2x2: { ...base, tc: true },
  heads2: { ...base, hpt: 2 },
  heads4: { ...base, hpt: 4 },
  fused_norm_rope: { ...base, fused: true },
  splitk2: { ...base, splitK: 2 },
  splitk4: { ...base, splitK: 4 },
  all_heads2_splitk2: { ...base, hpt: 2, fused: true, splitK: 2 },
  all_heads4_splitk2: { ...base, hpt: 4, fused: true, splitK: 2 },
  all_heads2_splitk4: { ...base, hpt: 2, fused: true, splitK: 4 },
}

/** Applies a variant's settings to the library's option objects. */
export function applyVariant(v: ForwardVariant): void {
  gemmOptions.staged = { ...v.staged }
  gemmOptions.splitK = v.splitK
  attentionOptions.tensorCores = v.tc && tensorCoreAttentionProbe.error === null
  attentionOptions.headsPerThread = v.hpt
  qkNormRopeOptions.fused = v.fused
}
