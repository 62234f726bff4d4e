/**
 * Rotary position embedding tables, computed on the CPU in float64 and rounded the way
 * transformers' float32 `*RotaryEmbedding` rounds them. Computing them here rather than with
 * backend `sin`/`cos` keeps every backend on the same tables (GPU shader trig loses accuracy for
 * the large angles of long sequences).
 * @internal
 */
import type { ModelConfig } from './parseModelConfig.js'

const f = Math.fround

/**
 * `inv_freq` of transformers' `_compute_default_rope_parameters` (float32 arithmetic), then the
 * `linear` / `llama3` adjustments of `modeling_rope_utils`.
 */
export function ropeInvFreq(
  cfg: Pick<ModelConfig, 'headDim' | 'ropeTheta' | 'ropeScaling'>,
): Float32Array {
  const dim = cfg.headDim
  const half = dim / 2
  const inv = new Float32Array(half)
  for (let i = 0; i < half; i++) inv[i] = f(1 / f(cfg.ropeTheta ** f((2 * i) / dim)))
  const s = cfg.ropeScaling
  if (s.type === 'linear') for (let i = 0; i < half; i++) inv[i] = f((inv[i] as number) / s.factor)
  if (s.type === 'llama3') {
    const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor
    const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor
    for (let i = 0; i < half; i++) {
      const x = inv[i] as number
      const wavelen = (2 * Math.PI) / x
      let y = wavelen > lowWavelen ? x / s.factor : x
      if (!(wavelen < highWavelen) && !(wavelen > lowWavelen)) {
        const smooth =
          (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) /
          (s.highFreqFactor - s.lowFreqFactor)
        y = ((1 - smooth) * y) / s.factor + smooth * y
      }
      inv[i] = f(y)
    }
  }
  return inv
}

/** Growable cos / signed-sin tables, `[positions, headDim]` row-major. */
export type RopeTables = {
  /** Returns `[count, headDim]` copies starting at `start` for cos and for the signed sin. */
  slice(start: number, count: number): { cos: Float32Array; sinSigned: Float32Array }
}

/**
 * Builds lazily grown tables. Row p holds `cos(p·inv_freq)` twice (both halves) and the sin row
 * with its first half negated, so that `rope(x) = x·cos + [x2, x1]·sinSigned` equals transformers'
 * `x·cos + rotate_half(x)·sin` with `rotate_half(x) = [−x2, x1]`.
 */
export function createRopeTables(
  cfg: Pick<ModelConfig, 'headDim' | 'ropeTheta' | 'ropeScaling'>,
): RopeTables {
  const inv = ropeInvFreq(cfg)
  const dim = cfg.headDim
  const half = dim / 2
  let rows = 0
  let cos = new Float32Array(0)
  let sin = new Float32Array(0)
  const grow = (need: number): void => {
    if (need <= rows) return
    const n = Math.max(need, rows * 2, 256)
    const c = new Float32Array(n * dim)
    const s = new Float32Array(n * dim)
    c.set(cos)
    s.set(sin)
    for (let p = rows; p < n; p++) {
      for (let i = 0; i < half; i++) {
        // transformers: freqs = inv_freq @ position (float32), emb = cat(freqs, freqs).cos()
        const ang = f((inv[i] as number) * p)
        const cv = f(Math.cos(ang))
        const sv = f(Math.sin(ang))
        c[p * dim + i] = cv
        c[p * dim + half + i] = cv
        s[p * dim + i] = -sv
        s[p * dim + half + i] = sv
      }
    }
    cos = c
    sin = s
    rows = n
  }
  return {
    slice(start: number, count: number) {
      grow(start + count)
      return {
        cos: cos.slice(start * dim, (start + count) * dim),
        sinSigned: sin.slice(start * dim, (start + count) * dim),
      }
    },
  }
}
