import { BaseSequencer, type TestSpecification } from 'vitest/node'
import { defineConfig } from 'vitest/config'

/**
 * The slowest files, slowest first: the six slowest of a fresh-clone run (CI, 2 cores), then the
 * next slowest seen in runs on the development machine. They start first, so that with two files
 * at a time none of them is left to run alone at the end.
 */
const SLOWEST = [
  'consumer',
  'package',
  'validator-crash',
  'chain-e2e',
  'cli-restart',
  'validator-load',
  'miner',
  'demo',
  'conformance',
  'apiDocs',
  'hub',
  'demo-cjs',
  'validator-worker',
]
/**
 * Files whose outcome rests on wall-clock timeouts of a few seconds racing a real process (the
 * chain node paused or killed under a running validator): they run last, one at a time, with no
 * other file beside them.
 */
const ALONE = ['test/chain-faults.test.ts']

/** Vitest's order (failed, then slow, from its cache; else large files first), SLOWEST ahead. */
class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification): number => {
      const i = SLOWEST.findIndex((name) => f.moduleId.endsWith(`/test/${name}.test.ts`))
      return i === -1 ? SLOWEST.length : i
    }
    const group = (f: TestSpecification): number => f.project.config.sequence.groupOrder
    return (await super.sort(files))
      .map((f, i) => ({ f, i }))
      .sort((a, b) => group(a.f) - group(b.f) || rank(a.f) - rank(b.f) || a.i - b.i)
      .map(({ f }) => f)
  }
}

export default defineConfig({
  test: {
    testTimeout: 120_000,
    pool: 'forks',
    sequence: { sequencer: SlowestFirst },
    // The run's shared directory (the packed tarball of test/_pack.ts lives there).
    globalSetup: ['test/_globalSetup.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'tests',
          include: ['test/**/*.test.ts'],
          exclude: ALONE,
          // Two files at a time. Vitest's default on 2 cores is one (cores − 1), which leaves a
          // core idle whenever a file waits on a child process (npm, tsc, chopsticks, the CLI) or
          // on a timer.
          maxWorkers: 2,
        },
      },
      {
        extends: true,
        test: { name: 'alone', include: ALONE, maxWorkers: 1, sequence: { groupOrder: 1 } },
      },
    ],
  },
})
