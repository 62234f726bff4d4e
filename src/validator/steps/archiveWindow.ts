import { mkdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { buildWindowArchive } from '../../window/archive/buildWindowArchive.js'
import { encodeWindowArchive, windowArchiveKey } from '../../window/archive/encodeWindowArchive.js'
import type { WindowBatcher } from '../../window/seal/windowBatcher.js'
import type { ValidatorContext } from '../validatorContext.js'

/**
 * Step 6, archive: the sealed window's record (batch, runners-up, rejects, late drops) as the
 * reference's gzip JSON object, written to `archiveDir` under `windowArchiveKey(n)`.
 *
 * - Spec: docs/protocol.md §3.7.
 *
 * @param batcher - The sealed window.
 * @param ctx - The pipeline (late drops), environment, EOS id, validator address, archive
 *   directory and events are used.
 * @returns The archive's path.
 * @throws the file-system error when the archive cannot be written.
 */
export async function archiveWindow(
  batcher: WindowBatcher,
  ctx: Pick<
    ValidatorContext,
    'pipeline' | 'environment' | 'eosTokenId' | 'validatorAddress' | 'archiveDir' | 'emit'
  >,
): Promise<string> {
  const record = buildWindowArchive({
    batcher,
    validatorHotkey: ctx.validatorAddress,
    environment: ctx.environment,
    eosTokenId: ctx.eosTokenId,
    lateDrops: ctx.pipeline.takeLateDrops(),
  })
  const bytes = await encodeWindowArchive(record)
  const path = join(ctx.archiveDir, ...windowArchiveKey(batcher.windowStart).split('/'))
  await mkdir(dirname(path), { recursive: true })
  await writeFile(path, bytes)
  ctx.emit({ type: 'archived', windowN: batcher.windowStart, path, bytes: bytes.length })
  return path
}
