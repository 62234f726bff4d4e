import { sha256 } from '@noble/hashes/sha2'
import { ReliquaryError, invalidArgument } from '../../errors/base.js'
import type { ProtocolProfile } from '../../protocol/profiles.js'
import { DEFAULT_PROFILE } from '../../protocol/profiles.js'
import { be64, concatBytes, fromHex, utf8 } from '../../_utils/bytes.js'
import type { CooldownView } from './cooldown.js'

/** A valid submission as batch selection reads it. Extra fields are carried through untouched. */
export type WindowSubmission = {
  /** The miner hotkey (SS58), hashed as UTF-8. */
  readonly hotkey: string
  readonly promptIdx: number
  /** The submission's `merkle_root`, hex or raw bytes. */
  readonly merkleRoot: string | Uint8Array
  /** E3: the drand round the miner attached (checked against arrival at admission). */
  readonly drandRound?: number | undefined
  /** E1: the miner-claimed `signed_round`. */
  readonly signedRound?: number | undefined
}

/** Options of {@link selectBatchAndDistribute}. */
export type SelectBatchOptions = {
  /** The window being sealed (cooldown is evaluated against it). */
  currentWindow: number
  /** Prompts in cooldown are ignored entirely. @default no cooldown */
  cooldown?: CooldownView | undefined
  /**
   * B (`group.batchSize`), the pool (`scoring.pool`) and the ordering rule (`window.ordering`:
   * `'drand_round'` = E3 bucketed fair split, `'signed_round'` = E1 FIFO) come from here.
   * @default DEFAULT_PROFILE
   */
  profile?: ProtocolProfile | undefined
}

/** Result of {@link selectBatchAndDistribute}. */
export type SelectBatchReturnType<S extends WindowSubmission> = {
  /** The training batch: at most B submissions, one per distinct prompt, in selection order. */
  batch: S[]
  /** Emission per hotkey, in units of the pool, in the order hotkeys were first paid. */
  rewardsByHotkey: Map<string, number>
  /** The unfilled share of the pool: `(B − batch.length) · pool / B`. */
  burn: number
  /** The prompts of `batch`, in order: record these in the cooldown and hash dedup. */
  winningPrompts: number[]
}

type Prepared<S> = { sub: S; slotKey: Uint8Array; round: number }

const MERKLE_HEX = /^(?:[0-9a-fA-F]{2})*$/

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}

/** `SHA256(BE64(prompt_idx))`: the canonical prompt order inside one drand round (E3). */
function promptKey(promptIdx: number): Uint8Array {
  return sha256(be64(promptIdx))
}

/** `SHA256(hotkey_utf8 ‖ BE64(prompt_idx) ‖ merkle_root)`: E3 representative key and E1 tiebreak. */
function slotKey(s: WindowSubmission, merkle: Uint8Array): Uint8Array {
  return sha256(concatBytes(utf8(s.hotkey), be64(s.promptIdx), merkle))
}

function prepare<S extends WindowSubmission>(
  submissions: readonly S[],
  roundField: 'drandRound' | 'signedRound',
): Prepared<S>[] {
  if (!Array.isArray(submissions))
    throw invalidArgument('submissions', 'an array of submissions', submissions)
  return submissions.map((s, i) => {
    const at = `submissions[${i}]`
    if (typeof s !== 'object' || s === null) throw invalidArgument(at, 'a submission object', s)
    if (typeof s.hotkey !== 'string') throw invalidArgument(`${at}.hotkey`, 'a string', s.hotkey)
    if (!Number.isSafeInteger(s.promptIdx) || s.promptIdx < 0)
      throw invalidArgument(`${at}.promptIdx`, 'a non-negative safe integer', s.promptIdx)
    const round = s[roundField]
    if (!Number.isSafeInteger(round) || (round as number) < 0) {
      throw invalidArgument(`${at}.${roundField}`, 'a non-negative safe integer', round, [
        roundField === 'drandRound'
          ? 'The E3 profile orders by drandRound.'
          : 'The E1 profile orders by signedRound.',
      ])
    }
    let merkle: Uint8Array
    if (s.merkleRoot instanceof Uint8Array) merkle = s.merkleRoot
    else if (typeof s.merkleRoot === 'string' && MERKLE_HEX.test(s.merkleRoot))
      merkle = fromHex(s.merkleRoot)
    else
      throw invalidArgument(`${at}.merkleRoot`, 'an even-length hex string or bytes', s.merkleRoot)
    return { sub: s, slotKey: slotKey(s, merkle), round: round as number }
  })
}

function batchSizeAndSlot(profile: ProtocolProfile): { b: number; pool: number; slot: number } {
  const b = profile.group.batchSize
  const pool = profile.scoring.pool
  if (!Number.isSafeInteger(b) || b <= 0)
    throw invalidArgument('profile.group.batchSize', 'a positive integer', b)
  if (typeof pool !== 'number' || !Number.isFinite(pool) || pool < 0)
    throw invalidArgument('profile.scoring.pool', 'a finite number ≥ 0', pool)
  return { b, pool, slot: pool / b }
}

function credit(rewards: Map<string, number>, hotkey: string, amount: number): void {
  rewards.set(hotkey, (rewards.get(hotkey) ?? 0) + amount)
}

function minBySlotKey<S>(subs: readonly Prepared<S>[]): Prepared<S> {
  let best = subs[0]!
  for (let i = 1; i < subs.length; i++)
    if (compareBytes(subs[i]!.slotKey, best.slotKey) < 0) best = subs[i]!
  return best
}

/**
 * E3 (drand-round ordering): cooldown prompts dropped, then rounds ascending; a round whose
 * unclaimed prompts fit the remaining slots gives each a slot (canonical prompt-hash order),
 * split K ways among its submitters; the first round that does not fit is the boundary round,
 * whose `remaining` slots' worth is spread over all its prompts and which trains on the first
 * `remaining` by prompt hash. Accumulation order follows the reference, so sums are bit-identical.
 */
function selectE3<S extends WindowSubmission>(
  prepared: Prepared<S>[],
  isCooling: (p: number) => boolean,
  profile: ProtocolProfile,
): SelectBatchReturnType<S> {
  const { b, pool, slot } = batchSizeAndSlot(profile)
  const byRound = new Map<number, Map<number, Prepared<S>[]>>()
  for (const p of prepared) {
    if (isCooling(p.sub.promptIdx)) continue
    let prompts = byRound.get(p.round)
    if (!prompts) {
      prompts = new Map()
      byRound.set(p.round, prompts)
    }
    const list = prompts.get(p.sub.promptIdx)
    if (list) list.push(p)
    else prompts.set(p.sub.promptIdx, [p])
  }
  const batch: S[] = []
  const rewards = new Map<string, number>()
  const claimed = new Set<number>()
  const keyCache = new Map<number, Uint8Array>()
  const canonical = (prompts: Iterable<number>): number[] =>
    [...prompts].sort((x, y) => {
      let kx = keyCache.get(x)
      if (!kx) {
        kx = promptKey(x)
        keyCache.set(x, kx)
      }
      let ky = keyCache.get(y)
      if (!ky) {
        ky = promptKey(y)
        keyCache.set(y, ky)
      }
      return compareBytes(kx, ky)
    })

  for (const round of [...byRound.keys()].sort((x, y) => x - y)) {
    const remaining = b - batch.length
    if (remaining <= 0) break
    const available = new Map([...byRound.get(round)!].filter(([p]) => !claimed.has(p)))
    if (available.size === 0) continue
    if (available.size <= remaining) {
      for (const promptIdx of canonical(available.keys())) {
        const subs = available.get(promptIdx)!
        const perMiner = slot / subs.length
        for (const s of subs) credit(rewards, s.sub.hotkey, perMiner)
        batch.push(minBySlotKey(subs).sub)
        claimed.add(promptIdx)
      }
    } else {
      // Boundary round: everyone in this 3-second bucket shares the remaining value fairly.
      const perPrompt = (remaining * slot) / available.size
      for (const subs of available.values()) {
        const perMiner = perPrompt / subs.length
        for (const s of subs) credit(rewards, s.sub.hotkey, perMiner)
      }
      for (const promptIdx of canonical(available.keys()).slice(0, remaining)) {
        batch.push(minBySlotKey(available.get(promptIdx)!).sub)
        claimed.add(promptIdx)
      }
      break
    }
  }
  return {
    batch,
    rewardsByHotkey: rewards,
    burn: ((b - batch.length) * pool) / b,
    winningPrompts: batch.map((s) => s.promptIdx),
  }
}

/**
 * E1 (signed-round ordering): sort by `(signed_round, tiebreak)` with the tiebreak compared
 * bytewise, take each not-yet-taken, non-cooldown prompt until B; each member earns pool/B.
 */
function selectE1<S extends WindowSubmission>(
  prepared: Prepared<S>[],
  isCooling: (p: number) => boolean,
  profile: ProtocolProfile,
): SelectBatchReturnType<S> {
  const { b, pool, slot } = batchSizeAndSlot(profile)
  const ordered = [...prepared].sort(
    (x, y) => x.round - y.round || compareBytes(x.slotKey, y.slotKey),
  )
  const batch: S[] = []
  const seen = new Set<number>()
  for (const p of ordered) {
    if (batch.length >= b) break
    const promptIdx = p.sub.promptIdx
    if (seen.has(promptIdx) || isCooling(promptIdx)) continue
    batch.push(p.sub)
    seen.add(promptIdx)
  }
  const rewards = new Map<string, number>()
  for (const s of batch) credit(rewards, s.hotkey, slot)
  return {
    batch,
    rewardsByHotkey: rewards,
    burn: ((b - batch.length) * pool) / b,
    winningPrompts: batch.map((s) => s.promptIdx),
  }
}

/**
 * Seals a window: picks the training batch (at most B distinct prompts) and the emission of every
 * hotkey, in units of the pool. Pure: the cooldown is read, never written; record
 * `winningPrompts` afterwards.
 *
 * With the E3 profile (`window.ordering = 'drand_round'`):
 * 1. drop cooldown prompts; group by `drandRound` → `promptIdx` → submissions;
 * 2. `slot = pool / B`; walk rounds ascending, ignoring prompts claimed in an earlier round;
 * 3. if a round's prompts fit the remaining slots, each gets one slot in `SHA256(BE64(prompt))`
 *    order and its K submitters get `slot / K` each; the representative trained on is the
 *    submission with the smallest `SHA256(hotkey ‖ BE64(prompt) ‖ merkle)`;
 * 4. otherwise this is the boundary round: every prompt in it gets `remaining · slot / N`, split
 *    K ways, and only the first `remaining` prompts (by prompt hash) go to training; stop;
 * 5. unfilled slots burn. So N hotkeys on one prompt in one round earn together what one would.
 *
 * With the legacy E1 profile (`'signed_round'`): sort by `(signedRound, tiebreak)` and take
 * distinct non-cooldown prompts in order until B; each batch member earns `pool / B`.
 *
 * - Spec: docs/protocol.md §5.3 (mirrors `select_batch_and_distribute` in
 *   `reliquary/validator/batch_selection.py` at 0b2d53f, and `select_batch` at 59b4718).
 *
 * @param submissions - Every valid submission of the window, in any order.
 * @param options - {@link SelectBatchOptions}
 * @returns {@link SelectBatchReturnType}: `batch`, `rewardsByHotkey`, `burn`, `winningPrompts`.
 * @throws {ReliquaryError} `INVALID_ARGUMENT` for a malformed submission (bad hotkey, prompt index,
 *   round or merkle root), a non-integer window, or a profile with B ≤ 0.
 * @example
 * ```ts
 * import { selectBatchAndDistribute, Cooldown } from 'reliquary'
 * const cooldown = new Cooldown()
 * const { batch, rewardsByHotkey, winningPrompts } = selectBatchAndDistribute(
 *   [{ hotkey: '5F…a', promptIdx: 11, merkleRoot: 'ab'.repeat(32), drandRound: 4_073_487 }],
 *   { currentWindow: 122, cooldown },
 * )
 * cooldown.recordAll(winningPrompts, 122)
 * ```
 */
export function selectBatchAndDistribute<S extends WindowSubmission>(
  submissions: readonly S[],
  options: SelectBatchOptions,
): SelectBatchReturnType<S> {
  if (typeof options !== 'object' || options === null)
    throw invalidArgument('options', 'an object { currentWindow, cooldown?, profile? }', options)
  const { currentWindow, cooldown, profile = DEFAULT_PROFILE } = options
  if (!Number.isSafeInteger(currentWindow))
    throw invalidArgument('currentWindow', 'a safe integer', currentWindow)
  if (
    cooldown !== undefined &&
    (typeof cooldown !== 'object' ||
      cooldown === null ||
      typeof cooldown.isInCooldown !== 'function')
  ) {
    throw invalidArgument(
      'cooldown',
      'an object with isInCooldown(promptIdx, currentWindow)',
      cooldown,
    )
  }
  const isCooling = (p: number): boolean => cooldown?.isInCooldown(p, currentWindow) === true
  switch (profile.window.ordering) {
    case 'drand_round':
      return selectE3(prepare(submissions, 'drandRound'), isCooling, profile)
    case 'signed_round':
      return selectE1(prepare(submissions, 'signedRound'), isCooling, profile)
    default:
      throw new ReliquaryError(
        'INVALID_ARGUMENT',
        `Unknown ordering "${String(profile.window.ordering)}" in profile "${profile.id}".`,
        {
          meta: { param: 'profile.window.ordering' },
        },
      )
  }
}
