// What both prompt pickers share: argument checks, the in-flight set, eligibility (cooldown,
// exclusions) and uniform draws from the eligible prompts.
import { invalidArgument } from '../errors/base.js'
import { createRng, type Rng } from '../_utils/rng.js'
import type { CooldownView } from '../window/seal/cooldown.js'
import type { GroupOutcome, PickContext, PickerOptions } from './promptPicker.js'

/** @internal */
export function checkIdx(promptIdx: number, size: number): void {
  if (!Number.isSafeInteger(promptIdx) || promptIdx < 0 || promptIdx >= size)
    throw invalidArgument('promptIdx', `an integer in [0, ${size})`, promptIdx)
}

/** @internal Sum of the rewards clamped to [0, 1]. */
export function checkRewards(rewards: readonly number[]): number {
  if (!Array.isArray(rewards) || rewards.length === 0)
    throw invalidArgument('rewards', 'a non-empty array of finite numbers', rewards)
  let s = 0
  rewards.forEach((r, i) => {
    if (typeof r !== 'number' || !Number.isFinite(r))
      throw invalidArgument(`rewards[${i}]`, 'a finite number', r)
    s += Math.min(1, Math.max(0, r))
  })
  return s
}

/** Checks a {@link GroupOutcome}; returns whether the group was a duplicate or given up. */
export function checkOutcome(outcome: GroupOutcome): boolean {
  if (
    typeof outcome !== 'object' ||
    outcome === null ||
    (outcome.duplicate !== undefined && typeof outcome.duplicate !== 'boolean') ||
    (outcome.givenUp !== undefined && typeof outcome.givenUp !== 'boolean')
  )
    throw invalidArgument('outcome', '{ duplicate?: boolean, givenUp?: boolean }', outcome)
  return outcome.duplicate === true || outcome.givenUp === true
}

/** State and eligibility logic both pickers share. @internal */
export class PickerCore {
  readonly size: number
  readonly rng: Rng
  readonly cooldown: CooldownView | undefined
  readonly flying = new Set<number>()

  constructor(options: PickerOptions) {
    if (typeof options !== 'object' || options === null)
      throw invalidArgument('options', 'an object with size', options)
    const { size, seed = 0, cooldown } = options
    if (!Number.isSafeInteger(size) || size < 1)
      throw invalidArgument('size', 'a positive integer', size)
    if (!Number.isSafeInteger(seed)) throw invalidArgument('seed', 'a safe integer', seed)
    this.size = size
    this.rng = createRng(seed)
    this.cooldown = cooldown
  }

  /** Returns the eligibility predicate for one pick call. */
  eligibility(n: number, context: PickContext): (p: number) => boolean {
    if (!Number.isSafeInteger(n) || n < 0) throw invalidArgument('n', 'an integer ≥ 0', n)
    const { window, cooldown = this.cooldown, exclude } = context
    if (window !== undefined && !Number.isSafeInteger(window))
      throw invalidArgument('window', 'a safe integer', window)
    const excluded = new Set(exclude ?? [])
    return (p) =>
      !this.flying.has(p) &&
      !excluded.has(p) &&
      !(window !== undefined && cooldown?.isInCooldown(p, window))
  }

  /**
   * Up to `n` distinct eligible prompts drawn uniformly (without replacement) from those that
   * `skip` does not reject; rejection sampling first, then a scan from a random offset.
   */
  uniform(
    n: number,
    ok: (p: number) => boolean,
    skip: (p: number) => boolean = () => false,
  ): number[] {
    const out: number[] = []
    const taken = new Set<number>()
    const good = (p: number): boolean => !taken.has(p) && !skip(p) && ok(p)
    for (let tries = 0; out.length < n && tries < 32 * n; tries++) {
      const p = Math.floor(this.rng() * this.size)
      if (good(p)) {
        taken.add(p)
        out.push(p)
      }
    }
    if (out.length < n) {
      // Few eligible prompts left: collect all of them and shuffle.
      const rest: number[] = []
      for (let p = 0; p < this.size; p++) if (good(p)) rest.push(p)
      for (let i = rest.length - 1; i > 0; i--) {
        const j = Math.floor(this.rng() * (i + 1))
        ;[rest[i], rest[j]] = [rest[j]!, rest[i]!]
      }
      out.push(...rest.slice(0, n - out.length))
    }
    return out
  }

  flyAll(ps: readonly number[]): number[] {
    for (const p of ps) this.flying.add(p)
    return [...ps]
  }

  inFlight(): number[] {
    return [...this.flying].sort((a, b) => a - b)
  }
}
