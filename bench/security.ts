// `npm run security [-- --sequences 100 --per-sequence 100 --forgeries 20 --target-frr 0.01 --json]`:
// forgery acceptance per attack class of docs/protocol.md §10 beside the honest false-reject rate,
// under e3, e1 and each hardening option (docs/protocol.md §4.5), on the bundled tiny Qwen3 (CPU,
// wasm). Every hidden state and log-prob comes from the model's real forward.
//
// Honest rollouts: `sequences` completions sampled at temperature 0.9, each proved under
// `per-sequence` window randomness values (each draws other challenged positions and sketch
// coefficients): "fp32" proofs carry the validator's own hidden states and log-probs, "bf16" ones
// the hidden states rounded to bf16 and the log-probs of `lm_head` over them (a bf16 miner).
//
// Forgeries, `forgeries` per sequence and kind:
//   sketch check alone: #1 all-zero, constant, uniform random sketches, another sequence's
//     sketches; #3/#20 a proof under another randomness; #4 weights perturbed by ε·σ;
//   full rollout (sketch, logprob and distribution checks): #4 a perturbed model's sketches and
//     log-probs; log-prob forgery (claimed log-probs shifted on all or on part of the positions);
//     distribution forgery (#10 greedy or hot sampling, #33 random tokens injected, each proved
//     honestly by the real model);
//   admission: a hotkey's identical repeats of one group (8 copies on one prompt).
// The stricter tolerance "cal" is calibrated on separate honest bf16 proofs (other randomness
// values) with calibrateToleranceBase at `target-frr`.
import { bundledModelDir } from '../src/demo/bundledModel.js'
import { sketchDrift, calibrateToleranceBase } from '../src/grail/tolerance.js'
import { useBackend } from '../src/model/backend.js'
import { generate } from '../src/model/generate.js'
import { loadModel, type CausalLM } from '../src/model/loadModel.js'
import { e1, e3, type ProtocolProfile } from '../src/protocol/profiles.js'
import { withHardening } from '../src/protocol/withHardening.js'
import { measureRepeats } from './_securityRepeats.js'
import { benchArgs } from './_args.js'
import {
  bf16Claim,
  forwardOf,
  fp32Claim,
  judge,
  perturb,
  randomnessOf,
  sketchesOf,
  sketchVerdict,
  type Seq,
} from './_securityRollouts.js'

const values = benchArgs({
  sequences: { type: 'integer', default: 100 },
  'per-sequence': { type: 'integer', default: 100 },
  forgeries: { type: 'integer', default: 20 },
  'new-tokens': { type: 'integer', default: 64 },
  'target-frr': { type: 'number', default: 0.01 },
  json: { type: 'boolean' },
})
const S = values.sequences
const R = values['per-sequence']
const F = values.forgeries
const NEW_TOKENS = values['new-tokens']
const TARGET = values['target-frr']
const PROMPT = 12
/** Sequences for the distribution forgeries (each kind samples its own). */
const S2 = Math.min(S, 25)

type Row = { what: string; cls: string; check: string; tried: number; accepted: number[] }

const promptOf = (i: number, vocab: number) =>
  Array.from({ length: PROMPT }, (_, j) => (i * 131 + j * 17 + 5) % vocab)

async function sample(model: CausalLM, n: number, temperature: number, salt: number) {
  const out: Seq[] = []
  for (let i = 0; i < n; i++) {
    const g = await generate(model, promptOf(i + salt, model.config.vocabSize), {
      maxNewTokens: NEW_TOKENS,
      temperature,
      seed: 1000 + i + salt,
      eosTokenIds: [],
    })
    out.push(forwardOf(model, g.tokens, PROMPT))
  }
  return out
}

/** Honest bf16 drift under e3 on calibration randomness, and the calibrated base. */
function calibrate(model: CausalLM, seqs: Seq[], d: number) {
  const drifts: number[] = []
  for (let i = 0; i < seqs.length; i++) {
    const claim = bf16Claim(model, seqs[i]!)
    for (let j = 0; j < F; j++) {
      const rnd = randomnessOf(`calib-${i}-${j}`)
      const v = sketchVerdict(seqs[i]!, sketchesOf(claim, d, rnd), rnd, d, e3)
      drifts.push(sketchDrift(v.positions))
    }
  }
  const q = (f: number) => calibrateToleranceBase(drifts, { maxFalseRejectRate: f })
  return { base: q(TARGET), n: drifts.length, q50: q(0.5), q90: q(0.1), q99: q(0.01), max: q(0) }
}

function variantsFor(cal: number): [string, ProtocolProfile][] {
  return [
    ['e3', e3],
    ['e1', e1],
    ['e3 dedupe', withHardening(e3, { dedupeRepeats: true })],
    [`e3 tol ${cal} (cal)`, withHardening(e3, { sketchToleranceBase: cal })],
    ['e3 tol 2500', withHardening(e3, { sketchToleranceBase: 2500 })],
    ['e3 K 64', withHardening(e3, { sketchChallengeK: 64 })],
    ['e3 K 128', withHardening(e3, { sketchChallengeK: 128 })],
    ['e3 tol 2500 K 64', withHardening(e3, { sketchToleranceBase: 2500, sketchChallengeK: 64 })],
  ]
}

function mk(what: string, cls: string, check: string, n: number): Row {
  return { what, cls, check, tried: 0, accepted: Array(n).fill(0) }
}

function honest(model: CausalLM, seqs: Seq[], d: number, V: ProtocolProfile[]): Row[] {
  const rows = ['sketch', 'full'].flatMap((check) =>
    ['fp32', 'bf16'].map((p) => mk(`honest ${p} proof`, '-', check, V.length)),
  )
  for (let i = 0; i < seqs.length; i++) {
    const s = seqs[i]!
    const claims = [fp32Claim(s), bf16Claim(model, s)]
    for (let j = 0; j < R; j++) {
      const rnd = randomnessOf(`honest-${i}-${j}`)
      claims.forEach((c, k) => {
        const sk = sketchesOf(c, d, rnd)
        judge(s, sk, c.logprobs, rnd, d, V, {
          sketch: rows[k]!.accepted,
          full: rows[2 + k]!.accepted,
        })
        rows[k]!.tried++
        rows[2 + k]!.tried++
      })
    }
  }
  return rows
}

function fabricated(seqs: Seq[], d: number, V: ProtocolProfile[]): Row[] {
  const zero = mk('all-zero sketches', '#1', 'sketch', V.length)
  const constant = mk('constant sketch (8,000)', '#1', 'sketch', V.length)
  const random = mk('uniform random sketches', '#1', 'sketch', V.length)
  const other = mk("another sequence's sketches", '#1, #2', 'sketch', V.length)
  const replay = mk('proof under another randomness', '#3, #20', 'sketch', V.length)
  let state = 12345
  const rand = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0
    return state % e3.grail.primeQ
  }
  for (let i = 0; i < seqs.length; i++) {
    const s = seqs[i]!
    const T = s.tokens.length
    const lp = s.scores.logprobs
    for (let j = 0; j < F; j++) {
      const rnd = randomnessOf(`forge-${i}-${j}`)
      judge(s, new Array(T).fill(0), lp, rnd, d, V, { sketch: zero.accepted })
      judge(s, new Array(T).fill(8000), lp, rnd, d, V, { sketch: constant.accepted })
      judge(s, Array.from({ length: T }, rand), lp, rnd, d, V, { sketch: random.accepted })
      const o = fp32Claim(seqs[(i + 1) % seqs.length]!)
      judge(s, sketchesOf(o, d, rnd), lp, rnd, d, V, { sketch: other.accepted })
      const old = sketchesOf(fp32Claim(s), d, randomnessOf(`old-${i}-${j}`))
      judge(s, old, lp, rnd, d, V, { sketch: replay.accepted })
      for (const r of [zero, constant, random, other, replay]) r.tried++
    }
  }
  return [zero, constant, random, other, replay]
}

async function staleModel(seqs: Seq[], d: number, V: ProtocolProfile[]): Promise<Row[]> {
  const rows: Row[] = []
  for (const eps of [0.01, 0.1, 0.5]) {
    const m = await loadModel(bundledModelDir(), { trainable: false })
    perturb(m, eps, 7)
    const sk = mk(`weights perturbed by ${eps}·σ`, '#4', 'sketch', V.length)
    const full = mk(`weights perturbed by ${eps}·σ, its log-probs`, '#4', 'full', V.length)
    for (let i = 0; i < seqs.length; i++) {
      const s = seqs[i]!
      const p = forwardOf(m, s.tokens, PROMPT)
      for (let j = 0; j < F; j++) {
        const rnd = randomnessOf(`stale-${i}-${j}`)
        const c = sketchesOf(fp32Claim(p), d, rnd)
        judge(s, c, p.scores.logprobs, rnd, d, V, { sketch: sk.accepted, full: full.accepted })
        sk.tried++
        full.tried++
      }
    }
    m.dispose()
    rows.push(sk, full)
  }
  return rows
}

/** Honest tokens and sketches; claimed log-probs lowered by `shift` nats on a `frac` of positions. */
function logprobForgery(seqs: Seq[], d: number, V: ProtocolProfile[]): Row[] {
  const kinds: [string, number, number][] = [
    ['log-probs −0.05 nats at every position', 0.05, 1],
    ['log-probs −0.2 nats at every position', 0.2, 1],
    ['log-probs −1 nat at 25 % of positions', 1, 0.25],
    ['log-probs −1 nat at 45 % of positions', 1, 0.45],
    ['log-probs −1 nat at 60 % of positions', 1, 0.6],
  ]
  const rows = kinds.map(([what]) => mk(what, 'log-prob (#10)', 'full', V.length))
  let state = 99
  const rand = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0
    return state / 2 ** 32
  }
  for (let i = 0; i < seqs.length; i++) {
    const s = seqs[i]!
    for (let j = 0; j < F; j++) {
      const rnd = randomnessOf(`lp-${i}-${j}`)
      const sk = sketchesOf(fp32Claim(s), d, rnd)
      kinds.forEach(([, shift, frac], k) => {
        const lp = Array.from(s.scores.logprobs, (x, t) =>
          t >= s.promptLength && rand() < frac ? x - shift : x,
        )
        judge(s, sk, lp, rnd, d, V, { full: rows[k]!.accepted })
        rows[k]!.tried++
      })
    }
  }
  return rows
}

/** Off-protocol tokens, each sequence proved honestly by the real model (its own forward). */
async function distributionForgery(model: CausalLM, d: number, V: ProtocolProfile[]) {
  const vocab = model.config.vocabSize
  const base = await sample(model, S2, 0.9, 50_000)
  const inject = (n: number) =>
    base.map((s, i) => {
      const t = [...s.tokens]
      for (let k = 0; k < n; k++)
        t[PROMPT + ((i * 7 + k * 13) % NEW_TOKENS)] = (i * 31 + k * 97) % vocab
      return forwardOf(model, t, PROMPT)
    })
  const kinds: [string, string, Seq[]][] = [
    ['greedy sampling (T = 0)', '#10', await sample(model, S2, 0, 60_000)],
    ['hot sampling (T = 1.5)', '#10', await sample(model, S2, 1.5, 70_000)],
    ['2 random tokens injected', '#33', inject(2)],
    ['8 random tokens injected', '#33', inject(8)],
  ]
  return kinds.map(([what, cls, seqs]) => {
    const row = mk(what, `distribution (${cls})`, 'full', V.length)
    seqs.forEach((s, i) => {
      for (let j = 0; j < F; j++) {
        const rnd = randomnessOf(`dist-${i}-${j}`)
        judge(s, sketchesOf(fp32Claim(s), d, rnd), s.scores.logprobs, rnd, d, V, {
          full: row.accepted,
        })
        row.tried++
      }
    })
    return row
  })
}

async function repeats(V: ProtocolProfile[]): Promise<{ row: Row; ratios: number[] }> {
  const row = mk('identical repeats of one group (8 copies)', 'repeats', 'admission', V.length)
  const ratios: number[] = []
  for (let v = 0; v < V.length; v++) {
    const r = await measureRepeats(V[v]!, { trials: 20, copies: 8 })
    row.tried = r.tried
    row.accepted[v] = r.accepted
    ratios.push(r.shareRatio)
  }
  return { row, ratios }
}

async function main(): Promise<void> {
  await useBackend('wasm')
  const t0 = performance.now()
  const model = await loadModel(bundledModelDir(), { trainable: false })
  const d = model.config.hiddenSize
  const seqs = await sample(model, S, 0.9, 0)
  const tGen = performance.now()
  const cal = calibrate(model, seqs, d)
  const variants = variantsFor(cal.base)
  const V = variants.map(([, p]) => p)
  const rep = await repeats(V)
  const rows = [
    ...honest(model, seqs, d, V),
    ...fabricated(seqs, d, V),
    ...(await staleModel(seqs, d, V)),
    ...logprobForgery(seqs, d, V),
    ...(await distributionForgery(model, d, V)),
    rep.row,
  ]
  model.dispose()
  const sec = (t: number) => ((t / 1000) | 0).toString()
  console.log(
    `tiny Qwen3 (${model.config.numLayers} layers, d ${d}, vocab ${model.config.vocabSize}), ${S} sequences of ${seqs[0]!.tokens.length} tokens, ${R} randomness values each, ${F} forgeries per sequence and kind; calibrated base ${cal.base} (${cal.n} honest bf16 proofs, target ${TARGET}; drift median ${cal.q50}, q90 ${cal.q90}, q99 ${cal.q99}, max ${cal.max}); sampling ${sec(tGen - t0)} s, total ${sec(performance.now() - t0)} s`,
  )
  console.log(
    `repeater's share over the other miner's: ${rep.ratios.map((r) => r.toFixed(2)).join(', ')}`,
  )
  console.log(`| what | class | checks | tried | ${variants.map(([n]) => n).join(' | ')} |`)
  console.log(`|---|---|---|---|${variants.map(() => '---').join('|')}|`)
  for (const r of rows) {
    const cells = r.accepted.map((a) =>
      r.cls === '-' ? `${r.tried - a} rejected` : `${a} accepted`,
    )
    console.log(`| ${r.what} | ${r.cls} | ${r.check} | ${r.tried} | ${cells.join(' | ')} |`)
  }
  if (values.json)
    console.log(
      JSON.stringify({ S, R, F, cal, variants: variants.map(([n]) => n), rows, rep }, null, 2),
    )
}

await main()
