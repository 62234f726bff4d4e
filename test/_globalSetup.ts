// Set-up shared by the whole test run (vitest.config.ts `globalSetup`): a directory the run's
// test files share (test/_pack.ts keeps the packed tarball there, so it is packed once per run),
// removed when the run ends.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    /** A directory shared by every test file of this run. */
    runDir: string
  }
}

export default function setup(project: TestProject): () => void {
  const runDir = mkdtempSync(join(tmpdir(), 'reliquary-test-run-'))
  project.provide('runDir', runDir)
  return () => rmSync(runDir, { recursive: true, force: true })
}
