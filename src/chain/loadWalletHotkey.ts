import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { createHotkey, type Hotkey } from '../crypto/sr25519.js'
import { ReliquaryError, invalidArgument, isReliquaryError } from '../errors/base.js'

/** Parameters of {@link loadWalletHotkey}. */
export type LoadWalletHotkeyParameters = {
  /** Wallet name (`--wallet.name`). */
  name: string
  /** Hotkey name (`--wallet.hotkey`). @default 'default' */
  hotkey?: string | undefined
  /** Wallets directory. @default ~/.bittensor/wallets */
  path?: string | undefined
}

const SAFE_NAME = /^[A-Za-z0-9_.-]{1,64}$/
const MAX_FILE_BYTES = 64 * 1024

function walletError(file: string, why: string, hints: string[], cause?: unknown): ReliquaryError {
  return new ReliquaryError('WALLET_INVALID', `The hotkey file ${file} ${why}.`, { hints, cause })
}

/**
 * Loads a Bittensor hotkey the way `btcli` stores it: the unencrypted JSON keyfile at
 * `<path>/<name>/hotkeys/<hotkey>` (`secretSeed` or `secretPhrase`, and `ss58Address`). The derived
 * address must equal the file's `ss58Address`. The coldkey is never read: setting weights and
 * serving an axon need only the hotkey.
 *
 * @param parameters - {@link LoadWalletHotkeyParameters}
 * @returns A signing {@link Hotkey}.
 * @throws {ReliquaryError} `WALLET_INVALID` when the file is missing, too large, encrypted, not
 *   JSON, lacks a secret, or its secret does not give its `ss58Address`; `INVALID_ARGUMENT` for a
 *   name with path characters.
 * @example
 * ```ts
 * import { loadWalletHotkey } from 'reliquary/chain'
 * const hotkey = await loadWalletHotkey({ name: 'validator', hotkey: 'default' })
 * ```
 */
export async function loadWalletHotkey(parameters: LoadWalletHotkeyParameters): Promise<Hotkey> {
  const {
    name,
    hotkey = 'default',
    path = join(homedir(), '.bittensor', 'wallets'),
  } = parameters ?? ({} as LoadWalletHotkeyParameters)
  if (typeof name !== 'string' || !SAFE_NAME.test(name))
    throw invalidArgument('wallet.name', 'a wallet name ([A-Za-z0-9_.-], no slashes)', name)
  if (typeof hotkey !== 'string' || !SAFE_NAME.test(hotkey))
    throw invalidArgument('wallet.hotkey', 'a hotkey name ([A-Za-z0-9_.-], no slashes)', hotkey)
  const file = join(path, name, 'hotkeys', hotkey)
  let text: string
  try {
    const bytes = await readFile(file)
    if (bytes.length > MAX_FILE_BYTES) throw new Error(`${bytes.length} bytes`)
    text = bytes.toString('utf8')
  } catch (e) {
    throw walletError(
      file,
      'cannot be read',
      [
        'Create the hotkey with `btcli wallet new_hotkey`, or check --wallet.name, --wallet.hotkey and --wallet.path.',
      ],
      e,
    )
  }
  if (/^\s*\$(NACL|BT)/.test(text) || text.startsWith('gAAAAA'))
    throw walletError(file, 'is encrypted', [
      'Hotkeys are normally stored unencrypted; regenerate it with btcli without --use-password, or pass --hotkey / RELIQUARY_HOTKEY.',
    ])
  let doc: Record<string, unknown>
  try {
    doc = JSON.parse(text) as Record<string, unknown>
    if (typeof doc !== 'object' || doc === null) throw new Error('not an object')
  } catch (e) {
    throw walletError(file, 'is not JSON', ['Is this a btcli keyfile?'], e)
  }
  const seed = typeof doc.secretSeed === 'string' ? doc.secretSeed : undefined
  const phrase = typeof doc.secretPhrase === 'string' ? doc.secretPhrase : undefined
  const secret = seed ?? phrase
  if (!secret)
    throw walletError(file, 'has no secretSeed or secretPhrase', [
      'Regenerate the hotkey with btcli (it writes both), or pass --hotkey / RELIQUARY_HOTKEY.',
    ])
  let key: Hotkey
  try {
    key = await createHotkey(secret)
  } catch (e) {
    throw isReliquaryError(e)
      ? walletError(file, 'holds an undecodable secret', [...e.hints], e)
      : e
  }
  if (typeof doc.ss58Address === 'string' && doc.ss58Address !== key.address)
    throw walletError(file, `gives address ${key.address}, not its ss58Address`, [
      'The keyfile is inconsistent; regenerate it with btcli.',
    ])
  return key
}
