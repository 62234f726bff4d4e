// `npm run security [-- --sequences 50 --per-sequence 200 --forgeries 20 --json]`: GRAIL forgery
// acceptance beside the honest false-reject rate, on the bundled tiny Qwen3 model (CPU, wasm).
//
// Honest rollouts: `sequences` completions sampled from the model (temperature 0.9), each proved
// under `per-sequence` different window randomness values (each randomness draws other challenged
// positions and other sketch coefficients), once with the fp32 hidden states the validator also
// computes and once with those states rounded to bf16 (a miner running a bf16 model). The
// validator always verifies with its own fp32 forward.
//
// Forgeries, per docs/protocol.md §10 class, each tried `forgeries` times per sequence:
//   #1  fabricated completions, no model run: all-zero, constant and uniform random sketches;
//       another sequence's sketches on these tokens;
//   #3/#20  a proof made under another window's randomness (replay, constant randomness);
//   #4  a stale or different model: weights perturbed by ε·σ per tensor (ε = 0.01, 0.1, 0.5).
// Each is verified under e3, e1 and the hardening variants (stricter tolerance, more positions).
import { createHash } from 'node:crypto'
import { parseArgs } from 'node:util'
import * as tf from '@tensorflow/tfjs-core'
import { bundledModelDir } from '../src/demo/bundledModel.js'
import { computeSketch } from '../src/grail/computeSketch.js'
import { verifySketch } from '../src/grail/verifySketch.js'
import { useBackend } from '../src/model/backend.js'
import { generate } from '../src/model/generate.js'
import { loadModel, type CausalLM } from '../src/model/loadModel.js'
import { defineProfile, e1, e3, type ProtocolProfile } from '../src/protocol/profiles.js'

const { values } = parseArgs({
  options: {
    sequences: { type: 'string', default: '50' },
    'per-sequence': { type: 'string', default: '200' },
    forgeries: { type: 'string', default: '20' },
    'new-tokens': { type: 'string', default: '64' },
    json: { type: 'boolean', default: false },
  },
})
const S = Number(values.sequences)
const R = Number(values['per-sequence'])
const F = Number(values.forgeries)
const NEW_TOKENS = Number(values['new-tokens'])

/** Sketch-verification variants: the faithful profiles and the hardening options. */
const VARIANTS: [string, ProtocolProfile][] = [
  ['e3', e3],
  ['e1', e1],
  ['e3 tol 2500', defineProfile(e3, { id: 'e3-tol2500', grail: { toleranceBase: 2500 } })],
  ['e3 K 64', defineProfile(e3, { id: 'e3-k64', grail: { challengeK: 64 } })],
  ['e3 K 128', defineProfile(e3, { id: 'e3-k128', grail: { challengeK: 128 } })],
  [
    'e3 K 64 tol 2500',
    defineProfile(e3, { id: 'e3-k64-tol2500', grail: { challengeK: 64, toleranceBase: 2500 } }),
  ],
]

type Row = { what: string; cls: string; tried: number; accepted: number[] }

const randomnessOf = (label: string): string => createHash('sha256').update(label).digest('hex')

function roundToBf16(x: Float32Array): Float32Array {
  const u = new Uint32Array(x.buffer.slice(0))
  for (let i = 0; i < u.length; i++) {
    const v = u[i] as number
    u[i] = ((v + 0x7fff + ((v >>> 16) & 1)) >>> 16) << 16
  }
  return new Float32Array(u.buffer)
}

function hiddenOf(model: CausalLM, tokens: number[]): Float32Array {
  const { hidden, logits } = model.forward(tokens)
  const data = hidden.dataSync() as Float32Array
  hidden.dispose()
  logits.dispose()
  return new Float32Array(data)
}

async function sampleSequences(model: CausalLM): Promise<number[][]> {
  const out: number[][] = []
  const vocab = model.config.vocabSize
  for (let i = 0; i < S; i++) {
    const prompt = Array.from({ length: 12 }, (_, j) => (i * 131 + j * 17 + 5) % vocab)
    const g = await generate(model, prompt, {
      maxNewTokens: NEW_TOKENS,
      temperature: 0.9,
      seed: 1000 + i,
      eosTokenIds: [],
    })
    out.push(g.tokens)
  }
  return out
}

/** Verifies `commitments` under every variant; adds 1 to `acc[v]` for each variant that accepts. */
function judge(
  tokens: number[],
  commitments: ArrayLike<number>,
  randomness: string,
  hidden: Float32Array,
  hiddenSize: number,
  acc: number[],
): void {
  const c = Array.from(commitments)
  for (let v = 0; v < VARIANTS.length; v++) {
    const r = verifySketch({
      tokens,
      commitments: c,
      randomness,
      hidden: { data: hidden, hiddenSize },
      profile: VARIANTS[v]![1],
    })
    if (r.valid) acc[v]!++
  }
}

function sketches(hidden: Float32Array, hiddenSize: number, randomness: string): number[] {
  return computeSketch({ data: hidden, hiddenSize }, randomness, { profile: e3 })
}

/** Honest proofs (fp32 and bf16-rounded hidden states): acceptance counts per variant. */
function honest(seqs: number[][], hiddens: Float32Array[], d: number): Row[] {
  const fp32: Row = {
    what: 'honest fp32 proof',
    cls: '-',
    tried: 0,
    accepted: VARIANTS.map(() => 0),
  }
  const bf16: Row = {
    what: 'honest bf16 proof',
    cls: '-',
    tried: 0,
    accepted: VARIANTS.map(() => 0),
  }
  for (let i = 0; i < seqs.length; i++) {
    const h = hiddens[i]!
    const hb = roundToBf16(h)
    for (let j = 0; j < R; j++) {
      const rnd = randomnessOf(`honest-${i}-${j}`)
      judge(seqs[i]!, sketches(h, d, rnd), rnd, h, d, fp32.accepted)
      judge(seqs[i]!, sketches(hb, d, rnd), rnd, h, d, bf16.accepted)
      fp32.tried++
      bf16.tried++
    }
  }
  return [fp32, bf16]
}

/** Forgeries that need no second model. */
function fabricated(seqs: number[][], hiddens: Float32Array[], d: number): Row[] {
  const mk = (what: string, cls: string): Row => ({
    what,
    cls,
    tried: 0,
    accepted: VARIANTS.map(() => 0),
  })
  const zero = mk('all-zero sketches', '#1')
  const constant = mk('constant sketch (8,000)', '#1')
  const random = mk('uniform random sketches', '#1')
  const other = mk("another sequence's sketches", '#1, #2')
  const replay = mk('proof under another randomness', '#3, #20')
  let state = 12345
  const rand = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0
    return state % e3.grail.primeQ
  }
  for (let i = 0; i < seqs.length; i++) {
    const t = seqs[i]!
    const h = hiddens[i]!
    const T = t.length
    for (let j = 0; j < F; j++) {
      const rnd = randomnessOf(`forge-${i}-${j}`)
      judge(t, new Array(T).fill(0), rnd, h, d, zero.accepted)
      judge(t, new Array(T).fill(8000), rnd, h, d, constant.accepted)
      judge(t, Array.from({ length: T }, rand), rnd, h, d, random.accepted)
      const o = hiddens[(i + 1) % hiddens.length]!
      judge(t, sketches(o, d, rnd), rnd, h, d, other.accepted)
      judge(t, sketches(h, d, randomnessOf(`old-${i}-${j}`)), rnd, h, d, replay.accepted)
      for (const r of [zero, constant, random, other, replay]) r.tried++
    }
  }
  return [zero, constant, random, other, replay]
}

/** A copy of the model with every weight perturbed by ε times its tensor's standard deviation. */
async function perturbed(eps: number): Promise<CausalLM> {
  const m = await loadModel(bundledModelDir(), { trainable: false })
  let seed = 7
  for (const v of m.weights.values()) {
    tf.tidy(() => {
      const { variance } = tf.moments(v)
      const sd = Math.sqrt(variance.dataSync()[0] as number)
      v.assign(tf.add(v, tf.randomNormal(v.shape, 0, eps * sd, 'float32', seed++)))
    })
  }
  return m
}

async function staleModel(seqs: number[][], hiddens: Float32Array[], d: number): Promise<Row[]> {
  const rows: Row[] = []
  for (const eps of [0.01, 0.1, 0.5]) {
    const m = await perturbed(eps)
    const row: Row = {
      what: `weights perturbed by ${eps}·σ`,
      cls: '#4',
      tried: 0,
      accepted: VARIANTS.map(() => 0),
    }
    for (let i = 0; i < seqs.length; i++) {
      const hp = hiddenOf(m, seqs[i]!)
      for (let j = 0; j < F; j++) {
        const rnd = randomnessOf(`stale-${i}-${j}`)
        judge(seqs[i]!, sketches(hp, d, rnd), rnd, hiddens[i]!, d, row.accepted)
        row.tried++
      }
    }
    m.dispose()
    rows.push(row)
  }
  return rows
}

async function main(): Promise<void> {
  await useBackend('wasm')
  const t0 = performance.now()
  const model = await loadModel(bundledModelDir(), { trainable: false })
  const d = model.config.hiddenSize
  const seqs = await sampleSequences(model)
  const hiddens = seqs.map((s) => hiddenOf(model, s))
  const tGen = performance.now()
  const rows = [
    ...honest(seqs, hiddens, d),
    ...fabricated(seqs, hiddens, d),
    ...(await staleModel(seqs, hiddens, d)),
  ]
  model.dispose()
  const seconds = ((performance.now() - t0) / 1000).toFixed(0)
  console.log(
    `tiny Qwen3 (${model.config.numLayers} layers, d ${d}), ${S} sequences of ${seqs[0]!.length} tokens, ${R} randomness values each; ${F} forgeries per sequence and kind; sampling ${((tGen - t0) / 1000).toFixed(0)} s, total ${seconds} s`,
  )
  console.log(`| what | §10 class | tried | ${VARIANTS.map(([n]) => n).join(' | ')} |`)
  console.log(`|---|---|---|${VARIANTS.map(() => '---').join('|')}|`)
  for (const r of rows) {
    const cells = r.accepted.map((a) =>
      r.cls === '-' ? `${r.tried - a} rejected` : `${a} accepted`,
    )
    console.log(`| ${r.what} | ${r.cls} | ${r.tried} | ${cells.join(' | ')} |`)
  }
  if (values.json)
    console.log(JSON.stringify({ S, R, F, variants: VARIANTS.map(([n]) => n), rows }, null, 2))
}

await main()
