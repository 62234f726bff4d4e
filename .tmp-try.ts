import { runConformance, formatConformanceReport } from '/work/main/src/conformance/index.ts'
const r = await runConformance('/work/main/test/fixtures/reference')
console.log(formatConformanceReport(r))
