/**
 * reliquary: the protocol core (no TensorFlow.js needed). GRAIL primitives, protocol profiles,
 * wire schemas, digests and signatures.
 */
export * from './errors/index.js'
export * from './protocol/index.js'
export * from './grail/index.js'
export * from './crypto/index.js'
export * from './drand/index.js'
export * from './reward/index.js'
export * from './window/index.js'
export * from './rollout/index.js'
export { VERSION } from './version.js'
