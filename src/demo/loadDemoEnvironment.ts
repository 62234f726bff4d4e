import { loadModelConfig } from '../model/parseModelConfig.js'
import { loadTokenizer, type ModelTokenizer } from '../model/loadTokenizer.js'
import type { RewardEnvironment } from '../reward/environment.js'
import { createTargetTokenEnvironment } from './environment.js'

/**
 * Loads a model's tokenizer and builds the demo's target-token environment on it. The validator
 * and every miner thread call this with the same inputs, so they judge the same prompts.
 * @internal
 */
export async function loadDemoEnvironment(
  modelDir: string,
  options: { seed: number; size: number },
): Promise<{ tokenizer: ModelTokenizer; environment: RewardEnvironment }> {
  const tokenizer = await loadTokenizer(modelDir)
  const modelConfig = await loadModelConfig(modelDir)
  const environment = createTargetTokenEnvironment({
    tokenizer,
    vocabSize: modelConfig.vocabSize,
    seed: options.seed,
    size: options.size,
  })
  return { tokenizer, environment }
}
