import { readFile } from 'node:fs/promises'
import { z } from 'zod'
import { ReliquaryError } from '../../errors/base.js'
import type { ProtocolProfile } from '../../protocol/profiles.js'
import type { WindowBatcher } from '../../window/seal/windowBatcher.js'

/** Largest runner-up hash record read back (bytes). */
const MAX_RECORD_BYTES = 64 * 1024 * 1024

const recordSchema = z.strictObject({
  format: z.literal('reliquary.validator.runner-up-hashes'),
  version: z.literal(1),
  window: z.number().int().nonnegative(),
  hashes: z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(1_000_000),
})

/**
 * Whether a restarted validator needs the rollout hashes of a window's runners-up on its winning
 * prompts, which the archive does not carry (it holds the batch's rollouts only). At the seal the
 * hash dedup takes every submission on a winning prompt; a rebuild from archives alone misses the
 * runners-up. That changes nothing while a winning prompt stays in cooldown for as long as its
 * hashes are kept (`cooldownWindows ≥ hashDedupRetentionWindows`, as in e1 and e3: no submission
 * on the prompt can reach the dedup check). With a shorter cooldown the prompt comes back while
 * the hashes still count, so they are kept in the state directory, one record per window.
 *
 * - Spec: docs/protocol.md §5.1 ("Restarts"), §5.3, §5.5.
 * @internal
 */
export function runnerUpHashesNeeded(profile: ProtocolProfile): boolean {
  const { cooldownWindows, hashDedupRetentionWindows } = profile.window
  return hashDedupRetentionWindows > 0 && cooldownWindows < hashDedupRetentionWindows
}

/**
 * The record of a sealed window's runner-up hashes: the rollout hashes of every valid submission
 * on a winning prompt that is not the batch's entry for that prompt, sorted and deduplicated.
 * @internal
 * @throws {ReliquaryError} `WINDOW_STATE_INVALID` when the window is not sealed.
 */
export function encodeRunnerUpHashes(batcher: WindowBatcher): string {
  const sealed = batcher.sealResult
  if (!sealed)
    throw new ReliquaryError('WINDOW_STATE_INVALID', 'Only a sealed window has runners-up.')
  const winning = new Set(sealed.winningPrompts)
  const batched = new Set(sealed.batch.map((s) => `${s.promptIdx}\u0000${s.hotkey}`))
  const hashes = new Set<string>()
  for (const s of batcher.validSubmissions()) {
    if (!winning.has(s.promptIdx) || batched.has(`${s.promptIdx}\u0000${s.hotkey}`)) continue
    for (const h of s.rolloutHashes) hashes.add(h.toLowerCase())
  }
  const record: z.input<typeof recordSchema> = {
    format: 'reliquary.validator.runner-up-hashes',
    version: 1,
    window: batcher.windowStart,
    hashes: [...hashes].sort(),
  }
  return `${JSON.stringify(record)}\n`
}

/**
 * Reads the runner-up hash record of window `windowN`; null when there is none.
 * @internal
 * @throws {ReliquaryError} `STATE_INVALID` for a record that is too large, not JSON, fails its
 *   schema or names another window.
 */
export async function readRunnerUpHashes(path: string, windowN: number): Promise<string[] | null> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return null
    throw e
  }
  const invalid = (what: string) =>
    new ReliquaryError('STATE_INVALID', `Runner-up hash record ${path}: ${what}`, {
      hints: ['Restore the state directory from a backup, or start with a fresh --state-dir.'],
      meta: { path },
    })
  if (bytes.length > MAX_RECORD_BYTES) throw invalid('the file is too large.')
  let raw: unknown
  try {
    raw = JSON.parse(bytes.toString('utf8'))
  } catch {
    throw invalid('the file is not JSON.')
  }
  const r = recordSchema.safeParse(raw)
  if (!r.success) throw invalid(`the file fails its schema (${r.error.issues[0]?.message}).`)
  if (r.data.window !== windowN) throw invalid(`it names window ${r.data.window}.`)
  return r.data.hashes
}
