import { loadModel } from '../model/loadModel.js'
import { loadTokenizer } from '../model/loadTokenizer.js'
import type { MinerContext } from './minerContext.js'

/**
 * Loads the bootstrap model and tokenizer from `modelDir` once, on the first window; a failed
 * load is tried again on the next call.
 * @internal
 * @throws the loader's error (`MODEL_FILE_MISSING`, …).
 */
export async function loadBootstrapModel(ctx: MinerContext): Promise<void> {
  const { state, config } = ctx
  state.loading ??= (async () => {
    const [m, t] = await Promise.all([loadModel(config.modelDir), loadTokenizer(config.modelDir)])
    state.model = m
    state.tokenizer = t
    ctx.log('info', 'model_loaded', `bootstrap model loaded from ${config.modelDir}`, {
      dir: config.modelDir,
    })
  })()
  try {
    await state.loading
  } catch (e) {
    state.loading = null
    throw e
  }
}
