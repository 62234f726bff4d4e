import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { invalidArgument } from '../errors/base.js'

/**
 * The directory of the tiny model bundled with the package (`assets/qwen3-tiny-s0`: a random
 * 2-layer Qwen3 with a 459-token vocabulary, from the reference's conformance set), found upwards
 * from this module so it works from `src/` and from `dist/`.
 *
 * @returns An absolute directory path (config.json, tokenizer.json, model.safetensors).
 * @throws {ReliquaryError} `INVALID_ARGUMENT` when the package was installed without its assets.
 * @example
 * ```ts
 * import { bundledModelDir } from 'reliquary/demo'
 * import { loadModel } from 'reliquary/model'
 * const model = await loadModel(bundledModelDir())
 * ```
 */
export function bundledModelDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6; i++) {
    for (const rel of ['assets/qwen3-tiny-s0', 'test/fixtures/reference/qwen3-tiny-s0']) {
      const candidate = join(dir, rel)
      if (existsSync(join(candidate, 'config.json'))) return candidate
    }
    const up = dirname(dir)
    if (up === dir) break
    dir = up
  }
  throw invalidArgument(
    'modelDir',
    'a model directory (the bundled assets/qwen3-tiny-s0 was not found)',
    undefined,
    ['Pass modelDir explicitly.'],
  )
}
