/**
 * reliquary/model: Hugging Face decoder checkpoints on TensorFlow.js. Safetensors read/write,
 * config parsing (Qwen3, Qwen2, Llama), tokenizer loading, a float32 decoder forward pass (whole
 * sequence via `forward`, or `hiddenStates` + `computeLogits` for training), KV-cache `generate`,
 * and the model side of the rollout seam (`createRolloutEvaluator`, `proveWithModel`).
 * Importing this entry point loads `@tensorflow/tfjs`; the root `reliquary` entry does not.
 */
export { readSafetensors, MAX_SAFETENSORS_HEADER_BYTES } from './readSafetensors.js'
export type {
  SafetensorsBuffer,
  Float32TensorData,
  SafetensorsHeader,
  SafetensorsTensorInfo,
} from './readSafetensors.js'
export { openSafetensors } from './openSafetensors.js'
export type { RawTensorData, SafetensorsFile } from './openSafetensors.js'
export {
  openCheckpoint,
  SAFETENSORS_SINGLE_FILE,
  SAFETENSORS_INDEX_FILE,
} from './openCheckpoint.js'
export type { CheckpointReader } from './openCheckpoint.js'
export { serializeSafetensors, writeSafetensors } from './writeSafetensors.js'
export type {
  SafetensorsWriteTensor,
  SafetensorsWriteInput,
  WriteSafetensorsOptions,
} from './writeSafetensors.js'
export {
  parseModelConfig,
  loadModelConfig,
  SUPPORTED_ARCHITECTURES,
  MODEL_CONFIG_LIMITS,
} from './parseModelConfig.js'
export type { ModelConfig, ModelFamily, RopeScaling } from './parseModelConfig.js'
export { loadTokenizer, createTokenizer } from './loadTokenizer.js'
export type { ModelTokenizer, EncodeOptions, DecodeOptions, HfTokenizer } from './loadTokenizer.js'
export { loadModel } from './loadModel.js'
export { hiddenStatesBatch, type HiddenStatesBatchOptions } from './hiddenStatesBatch.js'
export type {
  AttentionImpl,
  CausalLM,
  ForwardResult,
  HiddenStatesOptions,
  LoadModelOptions,
  WeightSpec,
} from './loadModel.js'
export { saveModel } from './saveModel.js'
export type { SaveModelOptions } from './saveModel.js'
export { generate } from './generate.js'
export type { GenerateOptions, GenerateResult } from './generate.js'
export { useBackend } from './backend.js'
export type { BackendName } from './backend.js'
// Proving and evaluation sit beside the rollout checks (src/rollout/); they need TF.js, so they
// are exported here and not from the TF.js-free root.
export { evaluateRollout } from '../rollout/evaluateRollout.js'
export type { RolloutEvaluation } from '../rollout/evaluateRollout.js'
export { createRolloutEvaluator } from '../rollout/createRolloutEvaluator.js'
export type { CreateRolloutEvaluatorOptions } from '../rollout/createRolloutEvaluator.js'
export { proveWithModel } from '../rollout/proveWithModel.js'
export type { ProveWithModelParameters } from '../rollout/proveWithModel.js'
export { cloneModel } from './cloneModel.js'
export type { CloneModelOptions } from './cloneModel.js'
export { resolveCheckpoint } from './resolveCheckpoint.js'
export type { ResolveCheckpointOptions } from './resolveCheckpoint.js'
