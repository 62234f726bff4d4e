export { ReliquaryError, isReliquaryError, describeErrorCode } from './base.js'
export type { ReliquaryErrorParameters } from './base.js'
export { ERROR_CODES } from './codes.js'
export type { ErrorCode } from './codes.js'
