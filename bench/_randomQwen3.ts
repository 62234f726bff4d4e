// Random weights for a Qwen3-shaped checkpoint (tied embeddings), shared by the benches that write
// one: a fixed linear congruential sequence, so a given config, seed and embedding scale always
// give the same bytes. Linear layers are uniform in ±1/√fan-in, norms are ones.

/** The config fields the weights' shapes come from. */
export type Qwen3Shape = {
  readonly hidden_size: number
  readonly intermediate_size: number
  readonly num_attention_heads: number
  readonly num_key_value_heads: number
  readonly num_hidden_layers: number
  readonly head_dim: number
  readonly vocab_size: number
}

/** Every tensor of a Qwen3 checkpoint with tied embeddings, by its checkpoint name. */
export function randomQwen3Weights(
  cfg: Qwen3Shape,
  options: { seed: number; embedScale: number },
): Map<string, { shape: number[]; data: Float32Array }> {
  let s = options.seed
  const rand = (n: number, scale: number) => {
    const a = new Float32Array(n)
    for (let i = 0; i < n; i++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0
      a[i] = ((s / 4294967296) * 2 - 1) * scale
    }
    return a
  }
  const ones = (n: number) => new Float32Array(n).fill(1)
  const H = cfg.hidden_size
  const I = cfg.intermediate_size
  const q = cfg.num_attention_heads * cfg.head_dim
  const kv = cfg.num_key_value_heads * cfg.head_dim
  const t = new Map<string, { shape: number[]; data: Float32Array }>()
  t.set('model.embed_tokens.weight', {
    shape: [cfg.vocab_size, H],
    data: rand(cfg.vocab_size * H, options.embedScale),
  })
  t.set('model.norm.weight', { shape: [H], data: ones(H) })
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const p = `model.layers.${l}.`
    for (const [name, o, i] of [
      ['self_attn.q_proj', q, H],
      ['self_attn.k_proj', kv, H],
      ['self_attn.v_proj', kv, H],
      ['self_attn.o_proj', H, q],
      ['mlp.gate_proj', I, H],
      ['mlp.up_proj', I, H],
      ['mlp.down_proj', H, I],
    ] as const)
      t.set(`${p}${name}.weight`, { shape: [o, i], data: rand(o * i, 1 / Math.sqrt(i)) })
    for (const n of ['self_attn.q_norm', 'self_attn.k_norm'])
      t.set(`${p}${n}.weight`, { shape: [cfg.head_dim], data: ones(cfg.head_dim) })
    for (const n of ['input_layernorm', 'post_attention_layernorm'])
      t.set(`${p}${n}.weight`, { shape: [H], data: ones(H) })
  }
  return t
}
