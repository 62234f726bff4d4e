import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    pool: 'forks',
    // The run's shared directory (the packed tarball of test/_pack.ts lives there).
    globalSetup: ['test/_globalSetup.ts'],
  },
})
