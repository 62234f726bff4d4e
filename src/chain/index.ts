export { connectChain, CHAIN_CLIENT_DEFAULTS } from './connectChain.js'
export type { ChainClient, ChainClientEvent, ConnectChainParameters } from './connectChain.js'
export { decodeChainError } from './decodeChainError.js'
export { submitExtrinsic } from './submitExtrinsic.js'
export type {
  ChainEvent,
  SubmitExtrinsicOptions,
  SubmitExtrinsicReturnType,
} from './submitExtrinsic.js'
export { createMetagraph, discoverValidator, EMPTY_AXON } from './metagraph.js'
export type { AxonInfo, DiscoveredValidator, Metagraph, Neuron } from './metagraph.js'
export { readMetagraph } from './readMetagraph.js'
export { blocksUntilNextEpoch } from './blocksUntilNextEpoch.js'
export { setWeights } from './setWeights.js'
export type { SetWeightsParameters, SetWeightsReturnType } from './setWeights.js'
export { serveAxon } from './serveAxon.js'
export type { ServeAxonParameters } from './serveAxon.js'
export { createWeightsSetter, WEIGHTS_SETTER_DEFAULTS } from './createWeightsSetter.js'
export type {
  CreateWeightsSetterParameters,
  WeightsSetter,
  WeightsSetterEvent,
  WeightsTick,
} from './createWeightsSetter.js'
export { createChainRegistry } from './createChainRegistry.js'
export type { ChainRegistry, CreateChainRegistryParameters } from './createChainRegistry.js'
export { loadWalletHotkey } from './loadWalletHotkey.js'
export type { LoadWalletHotkeyParameters } from './loadWalletHotkey.js'
