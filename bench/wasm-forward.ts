// Qwen3-0.6B-shaped forward at 1024 tokens on the wasm backend with the lm_head applied in row
// chunks and the check statistics (log-prob of the next token, log-sum-exp) reduced per chunk, so
// the [T, vocab] logits never exist at once. Prints one JSON line.
//   npx tsx bench/make-qwen3-0.6b.ts && npx tsx bench/wasm-forward.ts [dir] [seq=1024] [chunk=128]
import { join } from 'node:path'
import * as tf from '@tensorflow/tfjs-core'
import { loadModel, useBackend } from '../src/model/index.js'
import { benchArgs } from './_args.js'

const {
  dir,
  seq: T,
  chunk,
} = benchArgs(
  {},
  {
    dir: { type: 'string', default: join(import.meta.dirname, 'out/qwen3-0.6b-random') },
    seq: { type: 'integer', default: 1024 },
    chunk: { type: 'integer', default: 128 },
  },
)
await useBackend('wasm')
const t0 = performance.now()
const model = await loadModel(dir)
const loadS = (performance.now() - t0) / 1000
const V = model.config.vocabSize
const toks = Array.from({ length: T }, (_, i) => 1 + ((i * 7919) % (V - 1)))
const t1 = performance.now()
const hidden = model.hiddenStates(toks)
const logprobs = new Float32Array(T - 1)
let maxBytes = tf.memory().numBytes
for (let r0 = 0; r0 < T - 1; r0 += chunk) {
  const n = Math.min(chunk, T - 1 - r0)
  const lp = tf.tidy(() => {
    const logits = model.computeLogits(tf.slice(hidden, [r0, 0], [n, model.config.hiddenSize]))
    maxBytes = Math.max(maxBytes, tf.memory().numBytes)
    const next = tf.tensor1d(toks.slice(r0 + 1, r0 + 1 + n), 'int32')
    const chosen = tf.sum(tf.mul(logits, tf.oneHot(next, V)), 1)
    return tf.sub(chosen, tf.logSumExp(logits, 1))
  })
  logprobs.set(await lp.data(), r0)
  lp.dispose()
}
hidden.dispose()
const forwardS = (performance.now() - t1) / 1000
console.log(
  JSON.stringify({
    what: 'wasm_forward_chunked_lm_head',
    model: dir,
    seq_len: T,
    chunk_rows: chunk,
    load_s: loadS,
    forward_s: forwardS,
    tokens_per_s: T / forwardS,
    finite_logprobs: logprobs.every(Number.isFinite),
    peak_tensor_bytes: maxBytes,
    peak_rss_mib: Math.round(process.resourceUsage().maxRSS / 1024),
    load_avg: (await import('node:os')).loadavg()[0],
  }),
)
model.dispose()
