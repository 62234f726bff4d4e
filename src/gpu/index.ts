/**
 * GPU kernels for the decoder's hot path, registered as TensorFlow.js webgpu kernels (they run in
 * the webgpu backend's command stream on its device and return ordinary TF.js tensors), and the
 * device setup that enables f16 and tensor cores where the adapter offers them.
 *
 * @packageDocumentation
 */
export {
  attentionOptions,
  gpuCausalAttention,
  probeTensorCoreAttention,
  tensorCoreAttentionProbe,
} from './attention.js'
export {
  gpuCapabilities,
  openWebGpuBackend,
  type GpuCapabilities,
  type WebGpuOptions,
} from './device.js'
export { gpuRope, gpuSwiGlu } from './elementwise.js'
export {
  defaultMaxBatchTokens,
  gpuEvaluateRollouts,
  maxBatchTokensFor,
  type GpuEvaluateRolloutsOptions,
  type GpuRolloutRequest,
} from './evaluateRollouts.js'
export {
  createGpuRolloutEvaluator,
  gpuEvaluateRollout,
  type GpuModel,
  type GpuPrecision,
  type GpuRolloutEvaluation,
} from './gpuModel.js'
export {
  gpuGenerateBatch,
  gpuGenerateBatchSwitches,
  type GpuGenerateBatchOptions,
} from './generateBatch.js'
export { prepareGpuModel } from './prepareGpuModel.js'
export { disposeF16, toGpuF16, type GpuF16Matrix } from './f16.js'
export {
  estimateGpuModelBytes,
  loadGpuModel,
  type GpuModelBytes,
  type LoadGpuModelOptions,
} from './loadGpuModel.js'
export {
  gemmOptions,
  gemmPath,
  gpuMatMul,
  gpuMatMulSplit,
  gpuMatMulTransposed,
  probeStagedGemm,
  stagedGemm,
  stagedGemmProbe,
  tensorCoreTiles,
  type GemmPath,
  type StagedConfig,
} from './matmul.js'
export { gpuQkNormRope, qkNormRopeOptions } from './qkNormRope.js'
export { tapeMatMul, tapeMatMulGrads, tapeMatMulOptions } from './tapeMatMul.js'
export { gpuAddRmsNorm, gpuRmsNorm } from './rmsNorm.js'
export { gpuTokenStats } from './tokenStats.js'
export { tapeFusedOptions, tapeRmsNorm, tapeRope, tapeSwiGlu } from './tapeFused.js'
export { gpuPickedLogprobs, type GpuPickedLogprobsOptions } from './pickedLogprobs.js'
