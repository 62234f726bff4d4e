export { runConformance, formatConformanceReport, ALL_SUITES } from './run.js'
export type { RunConformanceOptions } from './run.js'
export type { ConformanceReport, SuiteResult, Suite, SuiteContext } from './types.js'
