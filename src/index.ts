/**
 * reliquary: the protocol core (no TensorFlow.js needed). GRAIL primitives, protocol profiles,
 * wire schemas, digests and signatures.
 */
export * from './errors/index.js'
export * from './protocol/index.js'
export * from './grail/index.js'
export * from './crypto/index.js'
// The root keeps only the pure drand helpers; BLS verification and beacon sources (which load
// the BLS12-381 curve and drand-client) live in 'reliquary/drand'.
export {
  drandRoundAt,
  drandRoundTime,
  drandRoundForWindowE1,
  E1_BLOCK_TIME_SECONDS,
  windowRandomnessE3,
  windowRandomnessE1,
} from './drand/index.js'
export * from './manifest/index.js'
export * from './reward/index.js'
export * from './window/index.js'
export * from './rollout/index.js'
export { VERSION } from './version.js'
