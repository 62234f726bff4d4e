/**
 * Every error code the SDK throws. Codes are public API: removing or renaming one is a breaking
 * change. Each code is prefixed by the domain where the failure happened.
 */
export const ERROR_CODES = Object.freeze({
  INVALID_ARGUMENT: 'An argument has the wrong type, shape or range.',
  INVALID_HEX: 'A hex string is malformed (non-hex characters, wrong length).',
  NON_FINITE_VALUE: 'A number that must be finite is NaN or infinite.',
  PROFILE_UNKNOWN: 'No protocol profile with that id exists.',
  GRAIL_SHAPE_MISMATCH: 'Hidden states, commitments or positions do not line up.',
  GRAIL_CHALLENGE_INVALID: 'Challenge parameters are impossible (k > population, empty tokens).',
  SIGNATURE_INVALID_KEY: 'A hotkey address or secret cannot be decoded.',
  SCHEMA_INVALID: 'A wire document failed its strict schema.',
  PAYLOAD_TOO_LARGE: 'A wire document exceeds the size bound.',
  JSON_INVALID: 'A wire document is not valid JSON.',
  CONFORMANCE_DIR_INVALID: 'A conformance directory is missing or holds no known suite.',
  CONFORMANCE_FILE_INVALID: 'A conformance vector file is malformed.',
  TFJS_NOT_AVAILABLE: 'TensorFlow.js is needed for this call but is not installed.',
  CLI_USAGE: 'The command line was not understood.',
} as const)

/** A stable error code; see {@link ERROR_CODES} for the meaning of each. */
export type ErrorCode = keyof typeof ERROR_CODES
