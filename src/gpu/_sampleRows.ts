/**
 * Next-token choice on the GPU for batched generation: one workgroup per logits row returns the
 * chosen id and its raw log-probability, so only two scalars per row are read back.
 *
 * Greedy (`temperature` 0) is the argmax, lowest id on ties (`_sampling.argmax`). Otherwise the
 * row is softmaxed at `temperature` and the id is the first, in id order, whose cumulative
 * probability exceeds a uniform draw `u` — the categorical draw of `_sampling.sampleToken` with
 * top-k and top-p off, fed the same per-sequence uniforms, in float32 instead of float64.
 * @internal
 */
import * as tf from '@tensorflow/tfjs-core'
import { runGpu, webgpuBackend, wgslBindings, runKernel, type KernelArgs } from './_dispatch.js'

const NAME = 'ReliquarySampleRows'
const NT = 256

const shader = () => `
${wgslBindings({ read: ['x: f32', 'us: f32', 'seq: i32', 'stepAt: i32'], readWrite: ['ids: i32', 'lps: f32'], uniform: 'vocab: u32, steps: u32, greedy: u32, temperature: f32' })}
const NT = ${NT}u;
var<workgroup> rv: array<f32, ${NT}>;
var<workgroup> ri: array<u32, ${NT}>;
var<workgroup> pre: array<f32, ${NT}>;
var<workgroup> pick: u32;
var<workgroup> tgt: f32;
fn ok(a: f32) -> bool { return a == a && a > -3.0e38; }
fn reduceSum(li: u32, s: f32) -> f32 {
  workgroupBarrier();
  rv[li] = s;
  workgroupBarrier();
  for (var o = NT / 2u; o > 0u; o >>= 1u) {
    if (li < o) { rv[li] += rv[li + o]; }
    workgroupBarrier();
  }
  return rv[0];
}
@compute @workgroup_size(${NT})
fn main(@builtin(workgroup_id) wg: vec3u, @builtin(local_invocation_index) li: u32) {
  let row = wg.x;
  let off = row * u.vocab;
  let ch = (u.vocab + NT - 1u) / NT;
  let lo = min(li * ch, u.vocab);
  let hi = min(lo + ch, u.vocab);
  var mx = -3.4e38;
  var am = u.vocab;
  for (var i = lo; i < hi; i++) {
    let a = x[off + i];
    if (ok(a) && a > mx) { mx = a; am = i; }
  }
  rv[li] = mx;
  ri[li] = am;
  workgroupBarrier();
  for (var o = NT / 2u; o > 0u; o >>= 1u) {
    if (li < o) {
      let bv = rv[li + o];
      let bi = ri[li + o];
      if (bv > rv[li] || (bv == rv[li] && bi < ri[li])) { rv[li] = bv; ri[li] = bi; }
    }
    workgroupBarrier();
  }
  mx = rv[0];
  am = min(ri[0], u.vocab - 1u);
  // Raw log-softmax normaliser (temperature 1).
  var s1 = 0.0;
  for (var i = lo; i < hi; i++) { let a = x[off + i]; if (ok(a)) { s1 += exp(a - mx); } }
  let total1 = reduceSum(li, s1);
  var chosen = am;
  if (u.greedy == 0u) {
    let mt = mx / u.temperature;
    var st = 0.0;
    for (var i = lo; i < hi; i++) {
      let a = x[off + i];
      if (ok(a)) { st += exp(a / u.temperature - mt); }
    }
    pre[li] = st;
    let total = reduceSum(li, st);
    if (li == 0u) {
      // Exclusive prefix of the chunk sums (in id order); pick the chunk where the draw lands.
      let goal = us[u32(seq[row]) * u.steps + u32(stepAt[0])] * total;
      var run = 0.0;
      var at = NT;
      var lastPos = 0u;
      for (var t = 0u; t < NT; t++) {
        let c = pre[t];
        pre[t] = run;
        if (c > 0.0) { lastPos = t; }
        if (at == NT && run + c > goal) { at = t; }
        run += c;
      }
      pick = select(at, lastPos, at == NT);
      tgt = goal;
    }
    workgroupBarrier();
    if (li == pick) {
      let goal = tgt;
      var acc = pre[li];
      var found = u.vocab;
      var lastNz = am;
      for (var i = lo; i < hi; i++) {
        let a = x[off + i];
        if (ok(a)) {
          let p = exp(a / u.temperature - mt);
          if (p > 0.0) { lastNz = i; }
          acc += p;
          if (acc > goal) { found = i; break; }
        }
      }
      chosen = select(found, lastNz, found == u.vocab);
      ri[0] = chosen;
    }
    workgroupBarrier();
    chosen = ri[0];
  }
  if (li == 0u) {
    ids[row] = i32(chosen);
    lps[row] = x[off + chosen] - mx - log(total1);
  }
}`

function kernel({ inputs, attrs }: KernelArgs) {
  const { logits, us, seq, step } = inputs as Record<string, tf.TensorInfo>
  const [rows, vocab] = logits!.shape as [number, number]
  const temperature = attrs!.temperature as number
  return runGpu(webgpuBackend(), {
    key: 'samplerows',
    code: shader,
    inputs: [logits!, us!, seq!, step!],
    outputs: [
      { shape: [rows], dtype: 'int32' },
      { shape: [rows], dtype: 'float32' },
    ],
    uniforms: [
      vocab,
      attrs!.steps as number,
      temperature === 0 ? 1 : 0,
      { f: temperature === 0 ? 1 : temperature },
    ],
    workgroups: [rows],
  })
}

/**
 * The next token of each logits row `[R, vocab]` and its raw log-probability. Row r uses the
 * uniform `us[seq[r] · steps + step]` (`us` `[sequences · steps]` float32, `seq` int32 `[R]`);
 * `step` is a number or an int32 `[1]` tensor holding it (a buffer a replayed decode step rewrites).
 * Returns int32 ids `[R]` and float32 log-probabilities `[R]`.
 */
export function sampleRows(
  logits: tf.Tensor2D,
  us: tf.Tensor1D,
  seq: tf.Tensor1D,
  o: { steps: number; step: number | tf.Tensor1D; temperature: number },
): [tf.Tensor1D, tf.Tensor1D] {
  return tf.tidy(() => {
    const step = typeof o.step === 'number' ? tf.tensor1d([o.step], 'int32') : o.step
    const attrs = { steps: o.steps, temperature: o.temperature }
    return runKernel(NAME, kernel, { logits, us, seq, step }, attrs) as unknown as [
      tf.Tensor1D,
      tf.Tensor1D,
    ]
  })
}
