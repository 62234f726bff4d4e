import { readFile } from 'node:fs/promises'
import { bls12_381 } from '@noble/curves/bls12-381'
import * as z from 'zod'
import { ReliquaryError } from '../errors/base.js'
import { writeFileAtomic } from '../_utils/atomicWrite.js'
import { toHex } from '../_utils/bytes.js'
import { createLocalBeaconChain, type LocalBeaconChain } from './localBeaconChain.js'

/** Parameters of {@link openLocalBeaconChain}. */
export type OpenLocalBeaconChainParameters = {
  /** The file that keeps the chain (secret key, genesis, period); created on first use (mode 0600). */
  path: string
  /** Seconds between rounds of a new chain; an existing chain must have the same. */
  periodSeconds: number
  /** Clock in unix milliseconds. @default Date.now */
  now?: (() => number) | undefined
}

const fileSchema = z.strictObject({
  secretKey: z.string().regex(/^[0-9a-f]{64}$/),
  genesisTime: z.number().int().min(0),
  periodSeconds: z.number().int().min(1),
})

/**
 * A local drand-like chain (`createLocalBeaconChain`) that survives restarts: its key, genesis and
 * period are kept in `path`, so a restarted validator (`reliquary validator --drand local`, as
 * under `--profile e3-demo`) serves the same chain hash and rounds, and miners started with its
 * `--drand-genesis`/`--drand-period` keep working. A new chain starts two rounds in the past.
 *
 * @param p - {@link OpenLocalBeaconChainParameters}
 * @returns The chain.
 * @throws {ReliquaryError} `STATE_INVALID` when `path` is malformed or holds a chain of another
 *   period.
 * @example
 * ```ts
 * const chain = await openLocalBeaconChain({ path: 'state/drand-local.json', periodSeconds: 2 })
 * ```
 */
export async function openLocalBeaconChain(
  p: OpenLocalBeaconChainParameters,
): Promise<LocalBeaconChain> {
  let saved: z.output<typeof fileSchema> | null = null
  try {
    saved = fileSchema.parse(JSON.parse(await readFile(p.path, 'utf8')))
  } catch (e) {
    if ((e as { code?: string }).code !== 'ENOENT')
      throw new ReliquaryError(
        'STATE_INVALID',
        `The local drand chain file ${p.path} is malformed.`,
        {
          hints: ['Remove it to start a new chain (miners then need the new --drand-genesis).'],
          meta: { path: p.path },
        },
      )
  }
  if (saved && saved.periodSeconds !== p.periodSeconds)
    throw new ReliquaryError(
      'STATE_INVALID',
      `The local drand chain in ${p.path} has a ${saved.periodSeconds} s period, not ${p.periodSeconds} s.`,
      {
        hints: [`Start with --period ${saved.periodSeconds}, or remove the file for a new chain.`],
        meta: { path: p.path },
      },
    )
  const now = p.now ?? Date.now
  const chain = createLocalBeaconChain({
    secretKey: saved?.secretKey ?? toHex(bls12_381.utils.randomSecretKey()),
    genesisTime: saved?.genesisTime ?? Math.floor(now() / 1000) - 2 * p.periodSeconds,
    periodSeconds: p.periodSeconds,
    now,
  })
  if (!saved) {
    const file = {
      secretKey: toHex(chain.secretKey()),
      genesisTime: chain.info.genesis_time,
      periodSeconds: chain.info.period,
    }
    await writeFileAtomic(p.path, `${JSON.stringify(file)}\n`, 0o600)
  }
  return chain
}
