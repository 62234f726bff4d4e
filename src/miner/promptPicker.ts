// What a miner asks of a prompt picker, and what it tells it about each group.
import type { CooldownView } from '../window/seal/cooldown.js'

/** Per-call context of {@link PromptPicker.pickPrompts}. */
export type PickContext = {
  /** The window being filled; needed for the cooldown check (skipped when absent). */
  window?: number | undefined
  /** Overrides the picker's `cooldown` for this call. */
  cooldown?: CooldownView | undefined
  /** Further prompt indices not to pick (for example taken by another worker). */
  exclude?: Iterable<number> | undefined
}

/** What a finished group showed besides its rewards (see {@link PromptPicker.observe}). */
export type GroupOutcome = {
  /**
   * A rollout kept repeating an earlier one of its group, so the group could not be submitted
   * (the validator rejects it as `hash_duplicate`); its rewards are those of the rollouts before
   * the repeat. @default false
   */
  readonly duplicate?: boolean | undefined
  /**
   * The group was given up before it was finished ({@link PromptPicker.keepGenerating} said no):
   * like `duplicate`, it was not submitted. @default false
   */
  readonly givenUp?: boolean | undefined
}

/** What a group being generated has shown so far (see {@link PromptPicker.keepGenerating}). */
export type GroupProgress = {
  /** Rewards of the distinct rollouts kept so far, in order. */
  readonly rewards: readonly number[]
  /** Rollouts a finished group has (M). */
  readonly rolloutsPerGroup: number
  /**
   * Estimated chance that one more draw repeats a completion already kept: the sum over the
   * distinct completions of `exp(Σ logprob / T)` (the temperature-T probability of each token is at
   * least its temperature-1 probability raised to 1/T, so this is a lower bound while ≤ 1).
   */
  readonly seenMass: number
  /** Draws so far that repeated an earlier completion of the group and were resampled. */
  readonly repeats: number
}

/**
 * Chooses which prompts a miner generates groups for. Picked prompts are held "in flight" until
 * {@link PromptPicker.observe} reports their group or {@link PromptPicker.release} drops them, and
 * are not picked again meanwhile. Implementations are deterministic for a given seed and call
 * sequence, and do no I/O.
 */
export interface PromptPicker {
  /** Picks up to `n` distinct eligible prompts (not in cooldown, not in flight) and marks them in flight. */
  pickPrompts(n: number, context?: PickContext): number[]
  /**
   * Records the rewards of one finished group on `promptIdx` (and, optionally, whether it could
   * be submitted) and ends its in-flight state.
   */
  observe(promptIdx: number, rewards: readonly number[], outcome?: GroupOutcome): void
  /**
   * Called while a group of `promptIdx` is generated, after each rollout kept and each repeat
   * resampled: `false` gives the group up (it is not finished, not submitted, and reported to
   * {@link PromptPicker.observe} with `given_up`). Without this method every group is finished.
   */
  keepGenerating?(promptIdx: number, progress: GroupProgress): boolean
  /**
   * The picker's probability that a finished group of `promptIdx` lands in the zone, from what it
   * has observed so far (logged with each group, so its calibration can be measured). Pickers
   * without a model of the prompts leave it out.
   */
  predict?(promptIdx: number): number
  /** Ends the in-flight state of `promptIdx` without an outcome (generation failed or was abandoned). */
  release(promptIdx: number): void
  /** The prompts currently in flight, ascending. */
  inFlight(): number[]
}

/** Options shared by {@link createFrontierPicker} and {@link uniformPicker}. */
export type PickerOptions = {
  /** Number of prompts of the environment; indices are `0 … size − 1`. */
  size: number
  /** Seed of the tie-breaking / sampling PRNG. @default 0 */
  seed?: number | undefined
  /** Cooldown consulted when a call gives a `window`. */
  cooldown?: CooldownView | undefined
}
