// Writes a checkpoint shaped like Qwen3-0.6B (28 layers, hidden 1024, GQA 16/8, head_dim 128,
// vocab 151936, tied embeddings) with random weights, for benchmarks only. Not committed:
//   npx tsx bench/make-qwen3-0.6b.ts [outDir=bench/out/qwen3-0.6b-random] [4b]
// With `4b` as the second argument the shape is Qwen3-4B's (36 layers, hidden 2560, intermediate
// 9728, GQA 32/8, tied embeddings); with `wide`, one layer of hidden 4096.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { writeSafetensors } from '../src/model/index.js'
import { benchArgs } from './_args.js'
import { randomQwen3Weights } from './_randomQwen3.js'

const { out, shape } = benchArgs(
  {},
  {
    out: { type: 'string', default: join(import.meta.dirname, 'out/qwen3-0.6b-random') },
    shape: { type: 'string' },
  },
)
const cfg = {
  architectures: ['Qwen3ForCausalLM'],
  model_type: 'qwen3',
  attention_bias: false,
  bos_token_id: 151643,
  eos_token_id: 151645,
  head_dim: 128,
  hidden_act: 'silu',
  hidden_size: 1024,
  intermediate_size: 3072,
  max_position_embeddings: 40960,
  num_attention_heads: 16,
  num_hidden_layers: 28,
  num_key_value_heads: 8,
  rms_norm_eps: 1e-6,
  rope_theta: 1000000,
  tie_word_embeddings: true,
  torch_dtype: 'bfloat16',
  vocab_size: 151936,
}
// `wide`: one layer at Qwen3-8B's width (hidden 4096): the tied output projection is 2.3 GiB in
// float32, over a 2 GiB storage-binding limit, so loading it at f32 must split it.
if (shape === 'wide')
  Object.assign(cfg, {
    hidden_size: 4096,
    intermediate_size: 12288,
    num_attention_heads: 32,
    num_hidden_layers: 1,
    num_key_value_heads: 8,
  })
if (shape === '4b')
  Object.assign(cfg, {
    hidden_size: 2560,
    intermediate_size: 9728,
    num_attention_heads: 32,
    num_hidden_layers: 36,
    num_key_value_heads: 8,
  })
const tensors = randomQwen3Weights(cfg, { seed: 12345, embedScale: 0.05 })
mkdirSync(out, { recursive: true })
writeFileSync(join(out, 'config.json'), JSON.stringify(cfg, null, 2))
writeFileSync(
  join(out, 'generation_config.json'),
  JSON.stringify({ eos_token_id: [151645, 151643] }, null, 2),
)
const tiny = join(import.meta.dirname, '../test/fixtures/reference/qwen3-tiny-s0')
copyFileSync(join(tiny, 'tokenizer.json'), join(out, 'tokenizer.json'))
copyFileSync(join(tiny, 'tokenizer_config.json'), join(out, 'tokenizer_config.json'))
await writeSafetensors(join(out, 'model.safetensors'), tensors, { dtype: 'BF16' })
console.log(
  `wrote ${out} (${[...tensors.values()].reduce((a, t) => a + t.data.length, 0) / 1e6} M parameters)`,
)
