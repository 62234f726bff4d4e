/**
 * Gradient checkpointing (recomputation) for one block of the decoder under TF.js's tape.
 * @internal
 */
import * as tf from '@tensorflow/tfjs-core'
import { typedCustomGrad } from '../_utils/typedCustomGrad.js'

/**
 * A block `f(x, consts)` that reads its parameters from its closure: {@link checkpoint} takes
 * them (the same tensor objects) to record the gradient with respect to; `consts` (tables, masks)
 * get none.
 */
export type Block = (x: tf.Tensor2D, consts: tf.Tensor[]) => tf.Tensor2D

/** The engine state this file touches (tfjs-core 4.22 `EngineState.activeTape`). */
type TapeState = { state: { activeTape: unknown } }

/**
 * `dy`'s gradients through `f` with respect to `xs`, taken under a tape of their own while the
 * enclosing backward pass runs. The engine keeps one active tape and drops it when a gradient
 * computation ends at depth 0, so the enclosing pass's tape is put back afterwards.
 */
function nestedGrads(f: () => tf.Tensor2D, xs: tf.Tensor[], dy: tf.Tensor2D): tf.Tensor[] {
  const engine = tf.engine() as unknown as TapeState & ReturnType<typeof tf.engine>
  const outer = engine.state.activeTape
  try {
    const { value, grads } = engine.gradients(f, xs, dy, true)
    value.dispose()
    return xs.map((x, i) => grads[i] ?? tf.zerosLike(x))
  } finally {
    engine.state.activeTape = outer
  }
}

/**
 * `f(x, consts)`, which reads `params`, recorded on the gradient tape as one node that keeps only
 * `x` and `consts`: the forward runs with the tape off (its intermediates are freed at once), and the
 * node's gradient runs `f` again under a tape of its own and backpropagates through that copy.
 * Same values and gradients as recording `f` directly (f must be deterministic); one extra
 * forward of the block per backward, for a tape that holds one `[rows, d]` tensor per block
 * instead of every intermediate. Outside a gradient tape it is `f` in a tidy.
 */
export function checkpoint(
  f: Block,
  x: tf.Tensor2D,
  params: readonly tf.Tensor[],
  consts: readonly tf.Tensor[],
): tf.Tensor2D {
  if (tf.engine().state.gradientDepth === 0) return tf.tidy(() => f(x, [...consts]))
  const op = typedCustomGrad<(...t: tf.Tensor[]) => tf.Tensor2D>((...args: tf.Tensor[]) => {
    const save = args.pop() as unknown as tf.GradSaveFunc
    const [xi, ...ps] = args as [tf.Tensor2D, ...tf.Tensor[]]
    save([xi, ...consts])
    return {
      value: f(xi, [...consts]),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [xs, ...cs] = saved as [tf.Tensor2D, ...tf.Tensor[]]
        return nestedGrads(() => f(xs, cs), [xs, ...ps], dy)
      },
    }
  })
  return op(x, ...params)
}
