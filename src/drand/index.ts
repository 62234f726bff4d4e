export { drandRoundAt, drandRoundTime, drandRoundForWindowE1, E1_BLOCK_TIME_SECONDS } from './round.js'
export { windowRandomnessE3, windowRandomnessE1 } from './windowRandomness.js'
