import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { ERROR_CODES } from '../src/index.js'

const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8')

test('the README opens with the main job and the test command', () => {
  const firstBlock = readme.slice(
    readme.indexOf('```sh'),
    readme.indexOf('```', readme.indexOf('```sh') + 5),
  )
  expect(firstBlock).toMatch(/npx reliquary /)
  expect(firstBlock).toMatch(/npm test/)
})

test('every error code has a row in the README error table', () => {
  for (const code of Object.keys(ERROR_CODES)) expect(readme, code).toContain(`| \`${code}\` |`)
})
