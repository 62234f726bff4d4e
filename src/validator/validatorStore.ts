import { readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import * as z from 'zod'
import { ReliquaryError } from '../errors/base.js'
import { custodyManifestSchema } from '../manifest/custodyManifest.js'
import { checkpointSchema } from '../protocol/schemas.js'
import { windowArchiveKey } from '../window/archive/encodeWindowArchive.js'
import { writeFileAtomic } from '../_utils/atomicWrite.js'
import type { CheckpointState } from './validatorState.js'

/** Name of the committed state file in a validator state directory. */
export const VALIDATOR_STATE_FILE = 'validator-state.json'
const FORMAT = 'reliquary.validator.state'
const VERSION = 1
/** Most bytes of a state file read back (it holds two manifests and a window list). */
const MAX_STATE_BYTES = 4 * 1024 * 1024

const windowN = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
const relDir = z.string().regex(/^trainer\/w(0|[1-9][0-9]*)$/)

/** The committed state file (docs/protocol.md §5.1, "Restarts"). */
const storedStateSchema = z.strictObject({
  format: z.literal(FORMAT),
  version: z.literal(VERSION),
  validatorHotkey: z.string().min(1).max(128),
  profileId: z.string().min(1).max(128),
  /** The last committed window. */
  windowN,
  /** The trainer state after the last trained window (relative), or null: the base model. */
  trainerDir: relDir.nullable(),
  checkpoint: z.strictObject({
    n: windowN,
    manifest: checkpointSchema.nullable(),
    custody: custodyManifestSchema.nullable(),
    trainedSinceParent: z
      .array(z.strictObject({ windowN, batchDigest: z.string().regex(/^[0-9a-f]{64}$/) }))
      .max(1_000_000),
  }),
  /** A committed window whose archive (and checkpoint) are not all in place yet. */
  pending: z.strictObject({ windowN, checkpointN: windowN.nullable() }).nullable(),
})

/** The validator's committed state, as stored in {@link VALIDATOR_STATE_FILE}. */
export type StoredValidatorState = z.output<typeof storedStateSchema>

/** The pending part of a {@link StoredValidatorState}. */
export type PendingWindow = NonNullable<StoredValidatorState['pending']>

/** Where a validator keeps its state (see {@link createValidatorStore}). */
export type ValidatorStore = {
  readonly stateDir: string
  readonly archiveDir: string
  readonly checkpointDir: string
  /** The last state committed or read, or null before the first commit. */
  readonly current: StoredValidatorState | null
  /** Reads {@link VALIDATOR_STATE_FILE}; null when there is none. */
  read(): Promise<StoredValidatorState | null>
  /** Writes the state file atomically (the commit point of a window). */
  commit(s: StoredValidatorState): Promise<void>
  /** The archive of window `n`. */
  archivePath(n: number): string
  /** The checkpoint directory of checkpoint `n`. */
  checkpointPath(n: number): string
  /** The runner-up hash record of window `n` (kept only for profiles that need it). */
  runnerUpHashesPath(n: number): string
  /** The staging directory of window `n` (archive and checkpoint before they are moved in place). */
  pendingDir(n: number): string
  /** The trainer directory `rel` (from the state file) as a path. */
  trainerPath(rel: string): string
  /** The trainer directory name of window `n`, relative to the state directory. */
  trainerRel(n: number): string
  /** Removes staged windows and trainer directories the committed state does not name. */
  cleanUncommitted(): Promise<void>
}

function invalidState(path: string, what: string, cause?: unknown): ReliquaryError {
  return new ReliquaryError('STATE_INVALID', `Validator state ${path}: ${what}`, {
    hints: [
      'The file is written atomically by the validator; restore it from a backup, or start with a fresh --state-dir.',
    ],
    cause,
    meta: { path },
  })
}

/**
 * Opens (without creating) a validator state directory: the committed state file, the archives
 * (`archiveDir`, under their R2 keys), the checkpoints (`checkpointDir/ckpt_<n>`), the trainer
 * state of the last trained window (`trainer/w<n>`) and the staging area (`pending/w<n>`).
 * @internal
 */
export function createValidatorStore(p: {
  stateDir: string
  archiveDir: string
  checkpointDir: string
}): ValidatorStore {
  const file = join(p.stateDir, VALIDATOR_STATE_FILE)
  let current: StoredValidatorState | null = null
  const listNames = async (dir: string): Promise<string[]> =>
    readdir(dir).catch((e: { code?: string }) => {
      if (e.code === 'ENOENT') return [] as string[]
      throw e
    })
  return {
    ...p,
    get current() {
      return current
    },
    async read() {
      let bytes: Buffer
      try {
        bytes = await readFile(file)
      } catch (e) {
        if ((e as { code?: string }).code === 'ENOENT') return null
        throw e
      }
      if (bytes.length > MAX_STATE_BYTES) throw invalidState(file, 'the file is too large.')
      let raw: unknown
      try {
        raw = JSON.parse(bytes.toString('utf8'))
      } catch (e) {
        throw invalidState(file, 'the file is not JSON.', e)
      }
      const r = storedStateSchema.safeParse(raw)
      if (!r.success)
        throw invalidState(file, `the file fails its schema (${r.error.issues[0]?.message}).`)
      current = r.data
      return r.data
    },
    async commit(s) {
      const checked = storedStateSchema.parse(s)
      await writeFileAtomic(file, `${JSON.stringify(checked, null, 1)}\n`)
      current = checked
    },
    archivePath: (n) => join(p.archiveDir, ...windowArchiveKey(n).split('/')),
    checkpointPath: (n) => join(p.checkpointDir, `ckpt_${n}`),
    runnerUpHashesPath: (n) => join(p.stateDir, 'runner-up-hashes', `window-${n}.json`),
    pendingDir: (n) => join(p.stateDir, 'pending', `w${n}`),
    trainerPath: (rel) => join(p.stateDir, ...rel.split('/')),
    trainerRel: (n) => `trainer/w${n}`,
    async cleanUncommitted() {
      const keepPending = current?.pending ? `w${current.pending.windowN}` : null
      for (const name of await listNames(join(p.stateDir, 'pending')))
        if (name !== keepPending) await rm(join(p.stateDir, 'pending', name), { recursive: true })
      const keepTrainer = current?.trainerDir?.split('/')[1] ?? null
      for (const name of await listNames(join(p.stateDir, 'trainer')))
        if (name !== keepTrainer) await rm(join(p.stateDir, 'trainer', name), { recursive: true })
    },
  }
}

/** The stored form of a {@link CheckpointState}. */
export function storedCheckpoint(cp: CheckpointState): StoredValidatorState['checkpoint'] {
  return {
    n: cp.n,
    manifest: cp.manifest,
    custody: cp.custody,
    trainedSinceParent: cp.trainedSinceParent.map((w) => ({ ...w })),
  }
}
