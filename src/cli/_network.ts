// Options and helpers shared by `reliquary validator` and `reliquary miner`.
import { readFile } from 'node:fs/promises'
import { createHotkey, type Hotkey } from '../crypto/sr25519.js'
import { ReliquaryError } from '../errors/base.js'
import { bundledModelDir } from '../demo/bundledModel.js'
import { createTargetTokenEnvironment } from '../demo/environment.js'
import { DEMO_PROFILE_ID } from '../demo/profile.js'
import { sleep } from '../_utils/sleep.js'
import { usage as usageError } from './_args.js'
import { loadModelConfig } from '../model/parseModelConfig.js'
import type { ModelTokenizer } from '../model/loadTokenizer.js'
import { resolveCheckpoint } from '../model/resolveCheckpoint.js'
import { defineProfile, e3, type ProtocolProfile } from '../protocol/profiles.js'
import { createMathEnvironment } from '../reward/environment.js'
import type { RewardEnvironment } from '../reward/environment.js'

/** The sum of a reason → count record. @internal */
export const sumValues = (r: Readonly<Record<string, number>>): number =>
  Object.values(r).reduce((a, b) => a + b, 0)
/** ` (reason n, …)`, or nothing for an empty record. @internal */
export const formatReasons = (r: Readonly<Record<string, number>>): string => {
  const parts = Object.entries(r).map(([k, n]) => `${k} ${n}`)
  return parts.length ? ` (${parts.join(', ')})` : ''
}

const NETWORK_HINT = "Run 'reliquary validator --help' or 'reliquary miner --help'."
/** The `CLI_USAGE` error of the network commands. @internal */
export function usage(msg: string): never {
  return usageError(msg, NETWORK_HINT)
}

/** `--profile`: e3 unless told. @internal */
export function profileName(s: string | undefined): 'e3' | typeof DEMO_PROFILE_ID {
  const name = s ?? 'e3'
  if (name !== 'e3' && name !== DEMO_PROFILE_ID)
    usage(`--profile must be e3 or ${DEMO_PROFILE_ID}.`)
  return name
}

/**
 * Every option check that needs no file or network, run before any model code loads or a
 * checkpoint downloads: what the demo profile defaults and other profiles need, and the environment.
 * @returns The environment name.
 */
export function checkCommonOptions(
  demo: boolean,
  v: {
    model?: string | undefined
    hotkey?: string | undefined
    environment?: string | undefined
    problems?: string | undefined
  },
): 'math' | 'target-token' {
  if (!demo) {
    if (v.model === undefined)
      usage('--model is required outside the demo profile (a directory or owner/name@revision).')
    if (v.hotkey === undefined && !process.env.RELIQUARY_HOTKEY)
      usage(
        '--hotkey (or the RELIQUARY_HOTKEY environment variable) is required outside the demo profile.',
      )
  }
  const env = v.environment ?? (demo ? 'target-token' : 'math')
  if (env !== 'math' && env !== 'target-token') usage('--environment must be math or target-token.')
  if (env === 'target-token' && v.problems !== undefined)
    usage('--problems applies to the math environment only.')
  return env
}

/** The profile of e3 rules on another drand chain (validator and miner derive the same id, which custody manifests carry). */
export function e3OnChain(drand: {
  genesisTime: number
  periodSeconds: number
  chainHash?: string | undefined
}): ProtocolProfile {
  if (
    drand.genesisTime === e3.drand.genesisTime &&
    drand.periodSeconds === e3.drand.periodSeconds &&
    (drand.chainHash === undefined || drand.chainHash === e3.drand.chainHash)
  )
    return e3
  const { genesisTime, periodSeconds, chainHash } = drand
  return defineProfile(e3, {
    id: 'e3-custom-drand',
    drand: { genesisTime, periodSeconds, ...(chainHash !== undefined ? { chainHash } : {}) },
  })
}

/** Sleeps `ms`, ending early (without throwing) when `signal` aborts. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  return sleep(ms, signal).catch(() => undefined)
}

/** A hotkey from --hotkey, else RELIQUARY_HOTKEY, else (demo only) a development key. */
export async function hotkeyFrom(
  uri: string | undefined,
  demo: boolean,
  devUri: string,
  log: (s: string) => void,
): Promise<Hotkey> {
  const suri = uri ?? process.env.RELIQUARY_HOTKEY
  if (suri) return createHotkey(suri)
  if (!demo)
    usage(
      '--hotkey (or the RELIQUARY_HOTKEY environment variable) is required outside the demo profile.',
    )
  log(`hotkey: development key ${devUri} (public; pass --hotkey for anything but a local network)`)
  return createHotkey(devUri)
}

export async function environmentFrom(
  env: 'math' | 'target-token',
  problems: string | undefined,
  modelDir: string,
  tokenizer: ModelTokenizer,
): Promise<RewardEnvironment> {
  if (env === 'target-token') {
    const { vocabSize } = await loadModelConfig(modelDir)
    return createTargetTokenEnvironment({ tokenizer, vocabSize })
  }
  if (problems === undefined) return createMathEnvironment()
  let rows: unknown
  try {
    rows = JSON.parse(await readFile(problems, 'utf8'))
  } catch (e) {
    throw new ReliquaryError(
      'INVALID_ARGUMENT',
      `--problems ${problems}: not a readable JSON file (${e instanceof Error ? e.message : String(e)}).`,
      {
        hints: ['Pass a JSON array of { "problem": string, "solution": string } rows.'],
      },
    )
  }
  return createMathEnvironment({ problems: rows as { problem: string; solution: string }[] })
}

export async function modelFrom(
  ref: string | undefined,
  demo: boolean,
  hubUrl?: string,
): Promise<string> {
  if (ref === undefined) {
    if (!demo)
      usage('--model is required outside the demo profile (a directory or owner/name@revision).')
    return bundledModelDir()
  }
  return resolveCheckpoint(ref, hubUrl ? { hubUrl } : {})
}

/** Aborts on the first SIGINT/SIGTERM (logging `message`); a second one exits at once. */
export function interruptSignal(
  log: (s: string) => void,
  message: string,
): { signal: AbortSignal; dispose(): void } {
  const ac = new AbortController()
  const onSignal = (): void => {
    if (ac.signal.aborted) process.exit(130)
    log(`${message} (Ctrl-C again to exit now)`)
    ac.abort(new Error('interrupted'))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return {
    signal: ac.signal,
    dispose: () => {
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    },
  }
}
