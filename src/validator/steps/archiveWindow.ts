import { join } from 'node:path'
import { buildWindowArchive } from '../../window/archive/buildWindowArchive.js'
import { encodeWindowArchive, windowArchiveKey } from '../../window/archive/encodeWindowArchive.js'
import type { WindowBatcher } from '../../window/seal/windowBatcher.js'
import { writeFileOnce } from '../../_utils/atomicWrite.js'
import type { ValidatorContext } from '../validatorContext.js'

type ArchiveContext = Pick<
  ValidatorContext,
  'pipeline' | 'environment' | 'eosTokenId' | 'validatorAddress' | 'archiveDir' | 'emit'
>

/**
 * The sealed window's archive bytes (batch, runners-up, rejects, late drops taken now), as the
 * reference's gzip JSON object.
 *
 * - Spec: docs/protocol.md §3.7.
 *
 * @param batcher - The sealed window.
 * @param ctx - The pipeline (late drops), environment, EOS id and validator address are used.
 * @returns The gzip bytes.
 */
export async function encodeArchiveOf(
  batcher: WindowBatcher,
  ctx: Omit<ArchiveContext, 'archiveDir' | 'emit'>,
): Promise<Uint8Array> {
  const record = buildWindowArchive({
    batcher,
    validatorHotkey: ctx.validatorAddress,
    environment: ctx.environment,
    eosTokenId: ctx.eosTokenId,
    lateDrops: ctx.pipeline.takeLateDrops(),
  })
  return encodeWindowArchive(record)
}

/**
 * Step 6, archive: the sealed window's record (batch, runners-up, rejects, late drops) as the
 * reference's gzip JSON object, written to `archiveDir` under `windowArchiveKey(n)`: atomically,
 * and never over an existing archive (the same bytes are a no-op).
 *
 * - Spec: docs/protocol.md §3.7.
 *
 * @param batcher - The sealed window.
 * @param ctx - The pipeline (late drops), environment, EOS id, validator address, archive
 *   directory and events are used.
 * @returns The archive's path.
 * @throws {ReliquaryError} `STATE_CONFLICT` when another archive of this window exists; the
 *   file-system error when the archive cannot be written.
 */
export async function archiveWindow(batcher: WindowBatcher, ctx: ArchiveContext): Promise<string> {
  const bytes = await encodeArchiveOf(batcher, ctx)
  const path = join(ctx.archiveDir, ...windowArchiveKey(batcher.windowStart).split('/'))
  await writeFileOnce(path, bytes, 'Archive')
  ctx.emit({ type: 'archived', windowN: batcher.windowStart, path, bytes: bytes.length })
  return path
}
