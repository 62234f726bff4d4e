export {
  drandRoundAt,
  drandRoundTime,
  drandRoundForWindowE1,
  E1_BLOCK_TIME_SECONDS,
} from './round.js'
export { windowRandomnessE3, windowRandomnessE1 } from './windowRandomness.js'
export { verifyBeacon } from './verifyBeacon.js'
export type { VerifyBeaconOptions } from './verifyBeacon.js'
export { isVerifiedBeacon } from './beacon.js'
export type { BeaconSource, VerifiedBeacon, DrandChainInfo, DrandBeaconInput } from './beacon.js'
export {
  assertChainInfo,
  drandChainHash,
  QUICKNET_CHAIN_INFO,
  SUPPORTED_DRAND_SCHEMES,
} from './chainInfo.js'
export {
  createHttpBeaconSource,
  DRAND_RELAYS,
  HTTP_BEACON_SOURCE_DEFAULTS,
} from './httpBeaconSource.js'
export type { CreateHttpBeaconSourceParameters } from './httpBeaconSource.js'
export { createRecordedBeaconSource } from './recordedBeaconSource.js'
export type { CreateRecordedBeaconSourceParameters } from './recordedBeaconSource.js'
export { createLocalBeaconChain } from './localBeaconChain.js'
export type { CreateLocalBeaconChainParameters, LocalBeaconChain } from './localBeaconChain.js'
export { windowRandomnessFromBeacon } from './windowRandomnessFromBeacon.js'
