// The default number of /submit parsing threads follows the machine's cores (half, 2 to 8, never
// more than the cores).
import { afterEach, expect, test, vi } from 'vitest'

let cores = 2
vi.mock('node:os', async (original) => ({
  ...(await original<typeof import('node:os')>()),
  availableParallelism: () => cores,
}))
const { defaultSubmitPoolSize } = await import('../src/validator/http/submitPool.js')

afterEach(() => {
  cores = 2
})

test.each([
  [1, 1],
  [2, 2],
  [3, 2],
  [5, 2],
  [8, 4],
  [12, 6],
  [16, 8],
  [128, 8],
])('%i cores: %i threads', (n, threads) => {
  cores = n
  expect(defaultSubmitPoolSize()).toBe(threads)
})
