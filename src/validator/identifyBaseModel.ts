import { sha256 } from '@noble/hashes/sha2'
import { basename, resolve } from 'node:path'
import { toHex, utf8 } from '../_utils/bytes.js'
import { invalidArgument } from '../errors/base.js'
import { hashSnapshotFiles } from '../manifest/snapshotFiles.js'

/**
 * A stable `{ id, revision }` for a local base-model directory, for custody manifests when the
 * model does not come from the Hub: `id` is `local/<directory name>`, `revision` is the SHA-256
 * (hex) of the sorted `path size sha256` lines of every file in it (`hashSnapshotFiles`). The
 * validator records it as `base_model` in each custody manifest, and miners pass the same value
 * as `expected.baseModel` to `downloadCheckpoint`, so both sides must compute it from identical
 * files.
 *
 * @param modelDir - The base model directory.
 * @returns `{ id, revision }`.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for an empty path or a directory without files; the
 *   file-system error when it cannot be read.
 * @example
 * ```ts
 * import { identifyBaseModel } from './src/validator/identifyBaseModel.js'
 * const baseModel = await identifyBaseModel('test/fixtures/reference/qwen3-tiny-s0')
 * // { id: 'local/qwen3-tiny-s0', revision: '…64 hex…' }
 * ```
 */
export async function identifyBaseModel(
  modelDir: string,
): Promise<{ id: string; revision: string }> {
  if (typeof modelDir !== 'string' || modelDir.length === 0)
    throw invalidArgument('modelDir', 'a directory path', modelDir)
  const files = await hashSnapshotFiles(modelDir)
  if (files.length === 0)
    throw invalidArgument('modelDir', 'a directory holding model files', modelDir)
  const lines = files
    .map((f) => `${f.path} ${f.size} ${f.sha256}`)
    .sort()
    .join('\n')
  return { id: `local/${basename(resolve(modelDir))}`, revision: toHex(sha256(utf8(lines))) }
}
